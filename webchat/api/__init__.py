"""The JSON API, `/api/v1`: thin adapters over the services.

Callers authenticate with `Authorization: Bearer <access token>`, or, from our own pages,
with the session cookie plus the CSRF token in `X-CSRFToken` for unsafe methods.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import accounts, admin, files, openapi, rooms, search  # noqa: E402,F401  (routes attach themselves to bp)
