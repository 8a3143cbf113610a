"""Blueprint: the language switch and the JavaScript's catalogs."""

from flask import Blueprint

bp = Blueprint("i18n", __name__)

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
