"""API: rooms and their messages."""

from flask import g, jsonify, request
from flask_babel import lazy_gettext as _l

from ..errors import validation_error
from ..payloads import iso, message_payload
from ..services import edits, feed, messages, reactions, reads, rooms
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


@bp.put("/rooms/<int:room_id>/notify")
@authenticated
def set_notify(room_id):
    return jsonify(room=rooms.set_notify(g.user, room_id, json_body().get("notify")))


@bp.get("/rooms/<int:room_id>/messages")
@authenticated
def room_messages(room_id):
    if request.args.get("around_seq") is not None:
        if request.args.get("before_seq") is not None or request.args.get("after_seq") is not None:
            raise validation_error(around_seq=_l("Use around_seq alone, without before_seq or after_seq."))
        page, more_before, more_after = messages.around(
            g.user, room_id, request.args["around_seq"], limit=request.args.get("limit")
        )
        return jsonify(
            messages=[message_payload(m) for m in page],
            has_more=more_before,
            has_more_before=more_before,
            has_more_after=more_after,
        )
    page, has_more = messages.history(
        g.user,
        room_id,
        before_seq=request.args.get("before_seq"),
        after_seq=request.args.get("after_seq"),
        limit=request.args.get("limit"),
    )
    return jsonify(messages=[message_payload(m) for m in page], has_more=has_more)


@bp.get("/rooms/<int:room_id>/changes")
@authenticated
def room_changes(room_id):
    page, last_rev, has_more = feed.changes(
        g.user, room_id, request.args.get("after_rev"), limit=request.args.get("limit")
    )
    return jsonify(messages=[message_payload(m) for m in page], last_rev=last_rev, has_more=has_more)


@bp.post("/rooms/direct")
@authenticated
def create_direct_room():
    room = rooms.create_direct(g.user, json_body().get("usernames"))
    return jsonify(room=room), 201


@bp.post("/rooms/<int:room_id>/members")
@authenticated
def invite_member(room_id):
    return jsonify(room=rooms.invite(g.user, room_id, json_body().get("username")))


@bp.delete("/rooms/<int:room_id>/members/<username>")
@authenticated
def kick_member(room_id, username):
    ban = request.args.get("ban", "false")
    if ban not in ("true", "false"):
        raise validation_error(ban=_l("Use true or false."))
    return jsonify(room=rooms.kick(g.user, room_id, username, ban=ban == "true"))


@bp.get("/rooms/<int:room_id>/bans")
@authenticated
def room_bans(room_id):
    return jsonify(bans=rooms.bans(g.user, room_id))


@bp.delete("/rooms/<int:room_id>/bans/<username>")
@authenticated
def unban_member(room_id, username):
    rooms.unban(g.user, room_id, username)
    return jsonify({})


@bp.get("/rooms/<int:room_id>/members")
@authenticated
def room_members(room_id):
    return jsonify(members=rooms.member_list(g.user, room_id))


@bp.post("/rooms/<int:room_id>/leave")
@authenticated
def leave_room(room_id):
    rooms.leave(g.user, room_id)
    return jsonify({})


@bp.post("/rooms/<int:room_id>/read")
@authenticated
def mark_read(room_id):
    last_read = reads.mark_read(g.user, room_id, json_body().get("message_id"))
    return jsonify(last_read_message_id=last_read)


@bp.delete("/messages/<int:message_id>")
@authenticated
def delete_message(message_id):
    messages.delete_message(g.user, message_id)
    return jsonify({})


@bp.patch("/messages/<int:message_id>")
@authenticated
def edit_message(message_id):
    data = json_body()
    message = edits.edit_message(g.user, message_id, data.get("body"), confirm=data.get("confirm"))
    return jsonify(message=message_payload(message))


@bp.get("/messages/<int:message_id>/history")
@authenticated
def message_history(message_id):
    return jsonify(versions=[{"body": body, "at": iso(at)} for body, at in edits.versions(g.user, message_id)])


@bp.put("/messages/<int:message_id>/reactions/<path:emoji>")
@authenticated
def add_reaction(message_id, emoji):
    return jsonify(message=message_payload(reactions.react(g.user, message_id, emoji, add=True)))


@bp.delete("/messages/<int:message_id>/reactions/<path:emoji>")
@authenticated
def remove_reaction(message_id, emoji):
    return jsonify(message=message_payload(reactions.react(g.user, message_id, emoji, add=False)))


@bp.get("/users")
@authenticated
def search_users():
    return jsonify(users=rooms.search_users(g.user, request.args.get("q", "")))
