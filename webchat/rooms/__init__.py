"""Pages: the room list and the chat page of a room."""

from flask import Blueprint

bp = Blueprint("rooms", __name__)

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
