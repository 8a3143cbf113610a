"""Rooms and membership: create, join, list, see members; the access rule for a room."""
from collections import Counter

import sqlalchemy as sa

from .. import realtime
from ..database import transaction
from ..errors import ChatError, validation_error
from ..extensions import db
from ..models import Membership, Message, Room, utcnow
from ..payloads import member_payload, message_payload, room_payload, user_payload
from ..presence import current_presence
from . import accounts

ROOM_TYPES = ("public", "private")
NAME_MAX = 80


def parse_id(value, field="room_id"):
    """An integer id from user input, or VALIDATION_ERROR naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise validation_error(**{field: "Expected an integer id."})
    try:
        number = int(value)
    except ValueError:
        raise validation_error(**{field: "Expected an integer id."}) from None
    if not 0 < number < 2**31:
        raise validation_error(**{field: "Expected a positive integer id."})
    return number


def membership_of(user_id, room_id):
    return db.session.scalar(
        sa.select(Membership).where(Membership.room_id == room_id, Membership.user_id == user_id)
    )


def require_member(user, room_id):
    """The room and the user's active membership, or the error the contract names:
    ROOM_NOT_FOUND for a room the user may not see, USER_NOT_IN_CHAT_ROOM for one they see
    but are not (or no longer) in."""
    room_id = parse_id(room_id)
    room = db.session.get(Room, room_id)
    if room is None:
        raise ChatError("ROOM_NOT_FOUND")
    membership = membership_of(user.id, room_id)
    if membership is None:
        if room.type != "public":
            raise ChatError("ROOM_NOT_FOUND")
        raise ChatError("USER_NOT_IN_CHAT_ROOM")
    if not membership.active:
        raise ChatError("USER_NOT_IN_CHAT_ROOM")
    return room, membership


def lock_room(room_id):
    """The room, re-read under its row lock (held until commit), or ROOM_NOT_FOUND.

    Every write that depends on a room's state (a message's `seq`, membership changes)
    takes this lock first, so writers to one room queue here and `seq` follows commit
    order with no gap. SQLite ignores FOR UPDATE; there the write lock of
    `transaction()` serialises writers instead.
    """
    room = db.session.scalar(
        sa.select(Room).where(Room.id == room_id).with_for_update().execution_options(populate_existing=True)
    )
    if room is None:
        raise ChatError("ROOM_NOT_FOUND")
    return room


def next_seq(room):
    """Allocate the next `seq` of a room locked with `lock_room`."""
    room.last_seq += 1
    return room.last_seq


def post_system_message(room, event_type, user, by=None):
    """A join/leave/... notice: an ordinary message of kind `system`, so history has it.
    The caller holds the room's lock."""
    message = Message(
        room_id=room.id,
        seq=next_seq(room),
        sender_id=None,
        kind="system",
        body="",
        event={"type": event_type, "user": user_payload(user), "by": user_payload(by)},
    )
    db.session.add(message)
    db.session.flush()
    realtime.queue("new_message", {"message": message_payload(message)}, to=realtime.room_channel(room.id))
    return message


def validate_room_name(name):
    if not isinstance(name, str) or not name.strip():
        raise validation_error(name="Give the room a name.")
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        raise validation_error(name=f"Use at most {NAME_MAX} characters.")
    return name


def create_room(user, name, room_type="public"):
    """A new public or private room; the creator is its owner and first member."""
    name = validate_room_name(name)
    if room_type not in ROOM_TYPES:
        raise validation_error(type="Choose public or private.")
    with transaction() as session:
        room = Room(name=name, type=room_type, owner_id=user.id, last_seq=0)
        session.add(room)
        session.flush()
        membership = Membership(room_id=room.id, user_id=user.id, role="owner")
        session.add(membership)
        message = post_system_message(room, "created", user)
        membership.last_read_seq, membership.last_read_message_id = message.seq, message.id
        queue_room_changed(room, added_user_ids=[user.id])
    return room_view(user, room.id)


def join_room(user, room_id):
    """Join a public room (again, after leaving). Private and direct rooms are by invitation."""
    room_id = parse_id(room_id)
    with transaction() as session:
        room = lock_room(room_id)
        membership = membership_of(user.id, room_id)
        if room.type != "public":
            if membership is None or not membership.active:
                raise ChatError("ROOM_NOT_FOUND")
            return room_view(user, room_id)
        if membership is not None and membership.active:
            return room_view(user, room_id)
        if membership is None:
            membership = Membership(room_id=room_id, user_id=user.id, role="member")
            session.add(membership)
        else:
            membership.active, membership.role = True, "member"
            membership.joined_at, membership.left_at = utcnow(), None
        message = post_system_message(room, "joined", user)
        # A (re)joining member starts with nothing unread.
        membership.last_read_seq, membership.last_read_message_id = message.seq, message.id
        queue_room_changed(room, added_user_ids=[user.id])
    return room_view(user, room_id)


def active_memberships(room_id):
    return db.session.scalars(
        sa.select(Membership)
        .where(Membership.room_id == room_id, Membership.active.is_(True))
        .order_by(Membership.joined_at, Membership.id)
    ).all()


def members(room_id):
    """The contract's `member` list of a room, owner first, then by join time."""
    memberships = active_memberships(room_id)
    online = current_presence().online_among({m.user_id for m in memberships})
    memberships.sort(key=lambda m: m.role != "owner")
    return [member_payload(m, m.user_id in online) for m in memberships]


def members_event(room_id):
    """The `members` broadcast: who is in the room and who is online."""
    listed = members(room_id)
    return {
        "room_id": room_id,
        "member_count": len(listed),
        "online_count": sum(1 for m in listed if m["online"]),
        "members": listed,
    }


def queue_room_changed(room, added_user_ids=()):
    """After a membership change: `members` to the room, `room_added` to newcomers."""
    db.session.flush()
    realtime.queue("members", members_event(room.id), to=realtime.room_channel(room.id))
    for user_id in added_user_ids:
        realtime.queue("room_added", {"room": room_view_for_id(user_id, room.id)}, to=realtime.user_channel(user_id))


def room_view_for_id(user_id, room_id):
    return room_view(accounts.get_user(user_id), room_id)


def room_view(user, room_id):
    """One room as `user` sees it (the contract's `room`)."""
    views = room_views(user, [room_id])
    if views:
        return views[0]
    room = db.session.get(Room, room_id)
    if room is None:
        raise ChatError("ROOM_NOT_FOUND")
    return room_payload(room, member_count=_member_counts([room_id]).get(room_id, 0))


def my_rooms(user):
    """Every room the user is an active member of, newest activity first, with unread
    counts and last messages, in a fixed number of queries whatever the room count."""
    views = room_views(user, active_room_ids(user.id))
    views.sort(key=lambda v: (v["last_message"] or {}).get("created_at") or "", reverse=True)
    return views


def public_rooms(user):
    """Public rooms anyone may join, largest first."""
    rooms = db.session.scalars(sa.select(Room).where(Room.type == "public").order_by(Room.id.desc()).limit(500)).all()
    ids = [r.id for r in rooms]
    counts = _member_counts(ids)
    mine = set(
        db.session.scalars(
            sa.select(Membership.room_id).where(
                Membership.user_id == user.id, Membership.active.is_(True), Membership.room_id.in_(ids)
            )
        ).all()
    ) if ids else set()
    result = []
    for room in rooms:
        payload = room_payload(room, member_count=counts.get(room.id, 0))
        payload["joined"] = room.id in mine
        result.append(payload)
    result.sort(key=lambda r: r["member_count"], reverse=True)
    return result


def _member_counts(room_ids):
    if not room_ids:
        return {}
    rows = db.session.execute(
        sa.select(Membership.room_id, sa.func.count())
        .where(Membership.room_id.in_(room_ids), Membership.active.is_(True))
        .group_by(Membership.room_id)
    ).all()
    return dict(rows)


def room_views(user, room_ids):
    """The contract's `room` for each of `room_ids` the user is an active member of."""
    from .reads import unread_counts

    if not room_ids:
        return []
    rows = db.session.execute(
        sa.select(Room, Membership)
        .join(Membership, sa.and_(Membership.room_id == Room.id, Membership.user_id == user.id))
        .where(Room.id.in_(room_ids), Membership.active.is_(True))
    ).all()
    ids = [room.id for room, _ in rows]
    member_rows = db.session.execute(
        sa.select(Membership.room_id, Membership.user_id).where(
            Membership.room_id.in_(ids), Membership.active.is_(True)
        )
    ).all()
    member_counts = Counter(room_id for room_id, _ in member_rows)
    online = current_presence().online_among({uid for _, uid in member_rows})
    online_counts = Counter(room_id for room_id, uid in member_rows if uid in online)
    last_messages = {
        m.room_id: m
        for m in db.session.scalars(
            sa.select(Message).join(Room, sa.and_(Message.room_id == Room.id, Message.seq == Room.last_seq))
            .where(Room.id.in_(ids))
        )
    }
    unread = unread_counts(user.id, ids)
    return [
        room_payload(
            room,
            membership=membership,
            member_count=member_counts[room.id],
            online_count=online_counts[room.id],
            unread_count=unread.get(room.id, 0),
            last_message=last_messages.get(room.id),
        )
        for room, membership in rows
    ]


def active_room_ids(user_id):
    return db.session.scalars(
        sa.select(Membership.room_id).where(Membership.user_id == user_id, Membership.active.is_(True))
    ).all()
