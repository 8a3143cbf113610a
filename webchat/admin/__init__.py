"""The admin area, `/admin`: users, rooms and the audit log for site admins. Everyone
else (anonymous too) is told the pages do not exist."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
