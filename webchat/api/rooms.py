"""API: rooms and their messages."""
from flask import g, jsonify, request

from ..payloads import message_payload
from ..services import messages, rooms
from . import bp
from .auth import authenticated, json_body


@bp.get("/rooms")
@authenticated
def my_rooms():
    return jsonify(rooms=rooms.my_rooms(g.user))


@bp.get("/rooms/public")
@authenticated
def public_rooms():
    return jsonify(rooms=rooms.public_rooms(g.user))


@bp.post("/rooms")
@authenticated
def create_room():
    data = json_body()
    room = rooms.create_room(g.user, data.get("name"), data.get("type", "public"))
    return jsonify(room=room), 201


@bp.post("/rooms/<int:room_id>/join")
@authenticated
def join_room(room_id):
    return jsonify(room=rooms.join_room(g.user, room_id))


@bp.get("/rooms/<int:room_id>/messages")
@authenticated
def room_messages(room_id):
    page, has_more = messages.history(
        g.user,
        room_id,
        before_seq=request.args.get("before_seq"),
        after_seq=request.args.get("after_seq"),
        limit=request.args.get("limit"),
    )
    return jsonify(messages=[message_payload(m) for m in page], has_more=has_more)
