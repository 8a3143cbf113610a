"""Downloads of attachments: `GET /files/<id>/<name>`, for active members of the room.

Not behind `login_required`: the caller may use the session or a Bearer token. A signed-out
browser is sent to the login page (and back to the file); whoever else may not see a file
gets 404, signed in or not.
"""

from flask import Blueprint

from ..services.files import check_image_config
from ..storage import check_config

bp = Blueprint("files", __name__)
# A bad storage or image setting fails at start, not at the first upload.
bp.record_once(lambda state: check_config(state.app.config))
bp.record_once(lambda state: check_image_config(state.app.config))

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
