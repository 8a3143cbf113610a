"""Pages for signing up, logging in and out, and changing the password."""

from flask import Blueprint

from ..services.accounts import check_config

bp = Blueprint("auth", __name__, url_prefix="/auth")
bp.record_once(lambda state: check_config(state.app.config))

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
