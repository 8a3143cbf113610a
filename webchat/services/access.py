"""Access to rooms: parse ids from user input, find memberships, enforce who may touch a
room, and take the room's row lock. Every other service builds on these."""

import functools

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import lazyload

from ..database import hold_room_stripe
from ..errors import ChatError, validation_error
from ..extensions import db
from ..models import Membership, Message, Room


def _integer(value):
    """An int from user input: a JSON integer, or a string of ASCII digits with an optional
    minus sign; None for anything else. (`int()` alone would also read " 7", "1_0" and
    other scripts' digits, such as a full-width "７", as numbers.)"""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.removeprefix("-").isdigit():
        try:
            return int(value)
        except ValueError:  # more digits than Python converts
            return None
    return None


def parse_id(value, field="room_id"):
    """An integer id from user input, or VALIDATION_ERROR naming the field."""
    number = _integer(value)
    if number is None:
        raise validation_error(**{field: _l("Expected an integer id.")})
    if not 0 < number < 2**31:
        raise validation_error(**{field: _l("Expected a positive integer id.")})
    return number


def parse_limit(limit, default, maximum):
    """A page size from user input: `default` when absent, else 1 to `maximum`."""
    if limit is None or limit == "":
        return default
    limit = _integer(limit)
    if limit is None:
        raise validation_error(limit=_l("Expected an integer."))
    if not 1 <= limit <= maximum:
        raise validation_error(limit=_l("Use 1 to %(max)s.", max=maximum))
    return limit


def parse_cursor(value, field):
    """A position in a room's history (a `seq` or a `rev`) from user input."""
    value = _integer(value)
    if value is None:
        raise validation_error(**{field: _l("Expected an integer.")})
    if not 0 <= value < 2**31:
        raise validation_error(**{field: _l("Out of range.")})
    return value


# Built once: constructing and keying a statement cost more than running this one.
_MEMBERSHIP = (
    sa.select(Membership)
    .where(Membership.room_id == sa.bindparam("room_id"), Membership.user_id == sa.bindparam("user_id"))
    .options(lazyload(Membership.user))  # the caller's own user, mostly: loaded only if read
)
_MEMBERSHIP_LOCKED = _MEMBERSHIP.execution_options(populate_existing=True).with_for_update()


def membership_of(user_id, room_id, lock=False):
    """The user's membership of the room (active or not), or None; with `lock`, re-read
    under its row lock, for a write that depends on its current state."""
    statement = _MEMBERSHIP_LOCKED if lock else _MEMBERSHIP
    return db.session.scalar(statement, {"room_id": room_id, "user_id": user_id})


def _refuse_unless_active(room_type, active):
    """The contract's code for someone who may not read a room: ROOM_NOT_FOUND for a room
    the user may not see (none, or a private or direct one they were never in),
    USER_NOT_IN_CHAT_ROOM for one they see but are not (or no longer) in. `room_type`
    None: no such room; `active` None: no membership."""
    if room_type is None:
        raise ChatError("ROOM_NOT_FOUND")
    if active is None and room_type != "public":
        raise ChatError("ROOM_NOT_FOUND")
    if not active:
        raise ChatError("USER_NOT_IN_CHAT_ROOM")


def require_member(user, room_id):
    """The room and the user's active membership, or the code `_refuse_unless_active`
    gives; `check_member` is the cheaper door when the objects are not needed."""
    room_id = parse_id(room_id)
    room = db.session.get(Room, room_id)
    membership = membership_of(user.id, room_id) if room is not None else None
    _refuse_unless_active(room.type if room is not None else None, membership.active if membership else None)
    return room, membership


# The room's type and the user's membership state in one statement of two columns:
# reading both as objects (two statements, a descriptor parsed for every column of each)
# made `typing` cost nearly twice what it does with this (bench/action_cost.py).
_MEMBER_STATE = (
    sa.select(Room.type, Membership.active)
    .outerjoin(Membership, (Membership.room_id == Room.id) & (Membership.user_id == sa.bindparam("user_id")))
    .where(Room.id == sa.bindparam("room_id"))
)


def check_member(user, room_id):
    """The room's id, if the user is an active member of it now, else the code
    `require_member` gives: for reads that need no object of either, one narrow
    statement, read fresh (READ COMMITTED; no identity map in between)."""
    room_id = parse_id(room_id)
    row = db.session.execute(_MEMBER_STATE, {"room_id": room_id, "user_id": user.id}).first()
    _refuse_unless_active(row.type if row else None, row.active if row else None)
    return room_id


def active_memberships(pairs):
    """Of (room_id, user_id) `pairs`, the ones that are active memberships now: one query
    per 500 pairs."""
    pairs, active = list(set(pairs)), set()
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        active.update(
            db.session.execute(
                sa.select(Membership.room_id, Membership.user_id).where(
                    sa.tuple_(Membership.room_id, Membership.user_id).in_(chunk), Membership.active.is_(True)
                )
            ).tuples()
        )
    return active


def require_member_or_hide(user, room_id, code):
    """`check_member` for something inside a room (a message, a file): anyone outside
    the room is told only `code`, a not-found: whether it exists is not theirs to know."""
    try:
        check_member(user, room_id)
    except ChatError:
        raise ChatError(code) from None


def lock_room(room_id):
    """The room, re-read under its row lock (held until commit), or ROOM_NOT_FOUND.

    Every write that depends on a room's state (a message's `seq`, membership changes)
    takes this lock first, so writers to one room queue here and `seq` follows commit
    order with no gap. SQLite ignores FOR UPDATE; there the write lock of
    `transaction()` serialises writers instead. The process-local stripe keeps this
    node's broadcasts of the room in seq order too.
    """
    hold_room_stripe(room_id)
    room = db.session.scalar(
        sa.select(Room).where(Room.id == room_id).with_for_update().execution_options(populate_existing=True)
    )
    if room is None:
        raise ChatError("ROOM_NOT_FOUND")
    return room


_rooms, _members = Room.__table__, Membership.__table__


@functools.cache
def _lock_for_posts(senders):
    """The locking read of `lock_room_for_posts` for up to `senders` senders, a power of
    two, built once per size: building a statement and its cache key costs more CPU than
    running it, and an expanding IN would be rendered anew on every send (a fifth of the
    statement's CPU)."""
    return (
        sa.select(
            _rooms.c.last_seq, _rooms.c.last_rev, _rooms.c.counted_messages, _members.c.user_id, _members.c.active
        )
        .select_from(
            _rooms.outerjoin(
                _members,
                (_members.c.room_id == _rooms.c.id)
                & _members.c.user_id.in_([sa.bindparam(f"user_{n}") for n in range(senders)]),
            )
        )
        .where(_rooms.c.id == sa.bindparam("room_id"))
        .with_for_update()
    )


def lock_room_for_posts(room_id, user_ids):
    """`lock_room` for a batch of new messages, in one query and no ORM objects: the
    room's (last_seq, counted_messages) and which of `user_ids` are its active members,
    read under the room's row lock and the lock of each sender's membership row (their
    read pointers move with their messages). Returns (room counters: a row with last_seq,
    last_rev and counted_messages, the set of active member ids). ROOM_NOT_FOUND if the
    room is gone."""
    hold_room_stripe(room_id)
    user_ids = list(user_ids)
    slots = 1 << (len(user_ids) - 1).bit_length()
    params = {"room_id": room_id} | {f"user_{n}": None for n in range(len(user_ids), slots)}  # NULL matches none
    params.update((f"user_{n}", user_id) for n, user_id in enumerate(user_ids))
    rows = db.session.connection().execute(_lock_for_posts(slots), params).all()
    if not rows:
        raise ChatError("ROOM_NOT_FOUND")
    return rows[0], {row.user_id for row in rows if row.active}


def lock_room_shared(room_id):
    """The room, re-read under a shared row lock (held until commit), or ROOM_NOT_FOUND:
    for a write that reads the room's counters but does not change the room. Writers of
    the room wait for it and it for them; holders of the shared lock do not wait for
    each other."""
    room = db.session.scalar(
        sa.select(Room).where(Room.id == room_id).with_for_update(read=True).execution_options(populate_existing=True)
    )
    if room is None:
        raise ChatError("ROOM_NOT_FOUND")
    return room


def next_seq(room):
    """Allocate the next `seq` of a room locked with `lock_room`."""
    room.last_seq += 1
    return room.last_seq


def next_rev(room):
    """Allocate the next `rev` of a room locked with `lock_room`: every change to one of
    its messages takes one (see Room.last_rev)."""
    room.last_rev += 1
    return room.last_rev


def is_moderator(user, room):
    """Whether `user` moderates `room`: its owner, or any site admin."""
    return bool(getattr(user, "is_admin", False)) or (room.owner_id is not None and room.owner_id == user.id)


def lock_message(user, message_id, admin=False):
    """(room, message) for a change to the message: the room under its row lock and the
    message re-read under it, so that concurrent changes see each other's result. Anyone
    not in its room is told MESSAGE_NOT_FOUND (`admin`: a site admin reaches any room)."""
    message_id = parse_id(message_id, "message_id")
    message = db.session.get(Message, message_id)
    if message is None:
        raise ChatError("MESSAGE_NOT_FOUND")
    if not admin:
        require_member_or_hide(user, message.room_id, "MESSAGE_NOT_FOUND")
    room = lock_room(message.room_id)
    db.session.refresh(message)
    return room, message
