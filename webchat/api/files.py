"""API: uploading a file into a room."""

from flask import g, jsonify, request

from ..payloads import message_payload
from ..services import files
from . import bp
from .auth import authenticated


@bp.post("/rooms/<int:room_id>/files")
@authenticated
def upload_file(room_id):
    """Multipart `file`, optional `client_id` and `reply_to`; a body over MAX_CONTENT_LENGTH is refused
    (413 FILE_TOO_LARGE) by Werkzeug while it is read, before it is read whole."""
    upload = request.files.get("file")
    message, _created = files.upload(
        g.user,
        room_id,
        upload.stream if upload is not None else None,
        upload.filename if upload is not None else None,
        client_id=request.form.get("client_id"),
        reply_to=request.form.get("reply_to") or None,
    )
    # A retry answers what the first attempt did.
    return jsonify(message=message_payload(message)), 201
