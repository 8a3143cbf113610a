"""API: search across the caller's rooms."""

from flask import g, jsonify, request

from ..payloads import display_name, message_payload
from ..services import search
from . import bp
from .auth import authenticated


@bp.get("/search")
@authenticated
def search_messages():
    results, has_more = search.search(
        g.user,
        request.args.get("q"),
        room_id=request.args.get("room_id"),
        before_id=request.args.get("before_id"),
        limit=request.args.get("limit"),
    )
    return jsonify(
        results=[
            {
                "message": message_payload(message),
                "room": {"id": room.id, "name": display_name(room, g.user), "type": room.type},
                "highlights": ranges,
            }
            for message, room, ranges in results
        ],
        has_more=has_more,
    )
