"""Pages for signing up, logging in and out, and changing the password."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
