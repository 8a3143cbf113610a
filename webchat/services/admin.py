"""Site administration: who is an admin (the command line only), deactivating and
reactivating accounts, the users and rooms an admin oversees, and a room's delete. Every
action goes in the audit log in its own transaction."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import realtime
from ..database import transaction
from ..errors import ChatError, validation_error
from ..extensions import db
from ..models import Membership, Message, Room, User, utcnow
from ..payloads import admin_user_payload, iso
from . import accounts, audit, files
from .access import lock_room, parse_id, parse_limit
from .rooms import active_room_ids

PAGE_DEFAULT, PAGE_MAX = 50, 100


def require_admin(user):
    """FORBIDDEN unless `user` is a site admin (and active)."""
    if user is None or not user.is_admin or user.deactivated_at is not None:
        raise ChatError("FORBIDDEN", _l("Only site admins can do that."))
    return user


def _lock_user(user_id):
    """The user re-read under their row lock, or VALIDATION_ERROR for an id nobody has."""
    user_id = parse_id(user_id, "user_id")
    user = db.session.scalar(
        sa.select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    )
    if user is None:
        raise validation_error(user_id=_l("No such user."))
    return user


def _admin_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.is_admin.is_(True)))


def grant(username):
    """Make `username` a site admin (the command line's `admin grant`). Returns the user."""
    with transaction():
        user = _named(username)
        if not user.is_admin:
            user.is_admin = True
            audit.record("grant_admin", target=user)
    return user


def revoke(username):
    """Take admin away from `username`; never from the last admin (FORBIDDEN)."""
    with transaction():
        user = _named(username)
        if user.is_admin:
            # Every admin row locked, so two revokes cannot both see another admin left.
            db.session.execute(sa.select(User.id).where(User.is_admin.is_(True)).with_for_update()).all()
            if _admin_count() <= 1:
                raise ChatError("FORBIDDEN", _l("The last admin cannot be revoked."))
            user.is_admin = False
            audit.record("revoke_admin", target=user)
    return user


def _named(username):
    user = accounts.find_user(username)
    if user is None:
        raise validation_error(username=_l("No user by that name."))
    return _lock_user(user.id)


def deactivate(admin, user_id):
    """Switch an account off: it cannot sign in, and every session, token and socket of
    theirs ends now, on every node. Their messages stay. Not oneself (FORBIDDEN)."""
    require_admin(admin)
    with transaction():
        user = _lock_user(user_id)
        if user.id == admin.id:
            raise ChatError("FORBIDDEN", _l("You cannot deactivate your own account."))
        if user.deactivated_at is None:
            user.deactivated_at = utcnow()
            accounts.revoke_all(user)  # sessions, tokens, and sockets after commit
            audit.record("deactivate", actor=admin, target=user)
            _members_changed(user.id)
    return user


def reactivate(admin, user_id):
    """Switch an account back on: its owner signs in again (old tokens stay dead)."""
    require_admin(admin)
    with transaction():
        user = _lock_user(user_id)
        if user.deactivated_at is not None:
            user.deactivated_at = None
            audit.record("reactivate", actor=admin, target=user)
            _members_changed(user.id)
    return user


def _members_changed(user_id):
    """The user's rooms get a fresh member list after commit (it marks the deactivated)."""
    for room_id in active_room_ids(user_id):
        realtime.touch_after_commit("members", room_id)


def users(admin, query=None, before_id=None, limit=None):
    """Users newest first, a page at a time (`before_id`), optionally those whose name
    contains `query`: ([admin_user], has_more)."""
    require_admin(admin)
    limit = parse_limit(limit, PAGE_DEFAULT, PAGE_MAX)
    statement = sa.select(User).order_by(User.id.desc()).limit(limit + 1)
    if before_id not in (None, ""):
        statement = statement.where(User.id < parse_id(before_id, "before_id"))
    if query is not None and not isinstance(query, str):
        raise validation_error(q=_l("Expected text."))
    if query and query.strip():
        part = accounts.username_key(query)
        escaped = part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(User.username_key.like("%" + escaped + "%", escape="\\"))
    rows = db.session.scalars(statement).all()
    return [admin_user_payload(u) for u in rows[:limit]], len(rows) > limit


def rooms(admin, before_id=None, limit=None):
    """Rooms newest first, with their member and message counts and last activity (the
    time of their latest message): ([...], has_more). Direct rooms too, by their stored
    name (their messages are not shown here)."""
    require_admin(admin)
    limit = parse_limit(limit, PAGE_DEFAULT, PAGE_MAX)
    members = (
        sa.select(sa.func.count())
        .where(Membership.room_id == Room.id, Membership.active.is_(True))
        .correlate(Room)
        .scalar_subquery()
    )
    last = (
        sa.select(Message.created_at)
        .where(Message.room_id == Room.id, Message.seq == Room.last_seq)
        .correlate(Room)
        .scalar_subquery()
    )
    statement = sa.select(Room, members, last).order_by(Room.id.desc()).limit(limit + 1)
    if before_id not in (None, ""):
        statement = statement.where(Room.id < parse_id(before_id, "before_id"))
    rows = db.session.execute(statement).all()
    return [
        {
            "id": room.id,
            "name": room.name,
            "type": room.type,
            "owner_id": room.owner_id,
            "member_count": member_count,
            # Messages people wrote and still show: not notices, not deleted ones.
            "message_count": room.counted_messages,
            "last_activity_at": iso(last_at),
            "created_at": iso(room.created_at),
        }
        for room, member_count, last_at in rows[:limit]
    ], len(rows) > limit


def delete_room(admin, room_id):
    """Delete a room with its messages and files; everyone in it is told (`room_removed`
    with reason "deleted")."""
    require_admin(admin)
    room_id = parse_id(room_id)
    with transaction() as session:
        room = lock_room(room_id)
        member_ids = db.session.scalars(
            sa.select(Membership.user_id).where(Membership.room_id == room.id, Membership.active.is_(True))
        ).all()
        audit.record("delete_room", actor=admin, room=room)
        files.discard_room_files(room.id)
        session.delete(room)  # memberships and messages go with it (ON DELETE CASCADE)
        event = {"room_id": room_id, "reason": "deleted"}
        realtime.emit_after_commit("room_removed", event, to=realtime.room_channel(room_id))
        for user_id in member_ids:
            realtime.leave_room_after_commit(user_id, room_id)
            realtime.emit_after_commit("room_removed", event, to=realtime.user_channel(user_id))


def user_for_admin(admin, user_id):
    """One user as an admin sees them (`admin_user`), or VALIDATION_ERROR."""
    require_admin(admin)
    user = db.session.get(User, parse_id(user_id, "user_id"))
    if user is None:
        raise validation_error(user_id=_l("No such user."))
    return admin_user_payload(user)


def room_for_admin(admin, room_id):
    """One room of `rooms`' list, or ROOM_NOT_FOUND."""
    require_admin(admin)
    room_id = parse_id(room_id)
    found, _more = rooms(admin, before_id=room_id + 1, limit=1)
    if not found or found[0]["id"] != room_id:
        raise ChatError("ROOM_NOT_FOUND")
    return found[0]
