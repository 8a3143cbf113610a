"""Read pointers and unread counts.

A member's unread count is the room's `counted_messages` (messages that count: not
system notices, not deleted) minus the member's `counted_read` (how many of those lie at
or before their read pointer): a subtraction, however far behind they are. Every change
to either side happens under the room's row lock, in the same transaction as the change
it counts.
"""

import functools
import operator
from collections import defaultdict

import sqlalchemy as sa

from .. import realtime
from ..database import transaction
from ..errors import ChatError
from ..extensions import db
from ..models import Membership, Message, Room
from ..payloads import unread_payload
from . import mentions
from .access import lock_room_shared, membership_of, parse_id, require_member
from .message_rows import page_rows

UNREAD = (Room.counted_messages - Membership.counted_read).label("unread")


def _counted_after(room_id, seq):
    """How many of the room's counted messages lie after `seq` (a range scan)."""
    return db.session.scalar(
        sa.select(sa.func.count(Message.id)).where(
            Message.room_id == room_id, Message.seq > seq, Message.kind != "system", Message.deleted_at.is_(None)
        )
    )


def _member_counts(room_id):
    """Rows of (user_id, unread, last_seq: the room's) for its active members: none if
    the room is gone."""
    return db.session.execute(_MEMBER_COUNTS, {"room_id": room_id}).all()


_MEMBER_COUNTS = (  # built once: a busy room runs it four times a second
    sa.select(Membership.user_id, UNREAD, Room.last_seq)
    .join(Room, Room.id == Membership.room_id)
    .where(Membership.room_id == sa.bindparam("room_id"), Membership.active.is_(True))
)


def is_counted(kind):
    """Whether a new message of `kind` counts as unread to members who have not read it:
    every kind but system notices (a deleted message stops counting)."""
    return kind != "system"


def uncount_deleted(room, message):
    """`message` (counted, in `room`, locked) is being deleted: it no longer counts, for
    the room and for every member whose pointer had passed it."""
    room.counted_messages -= 1
    db.session.execute(
        sa.update(Membership)
        .where(Membership.room_id == room.id, Membership.last_read_seq >= message.seq)
        .values(counted_read=Membership.counted_read - 1)
    )


def read_up_to_latest(membership, room, message):
    """Point the member at `message`, the newest in `room` (locked): nothing is unread.
    A sender has read their own message; a (re)joining member starts at their notice."""
    read_through(membership, message, room.counted_messages)


def read_through(membership, message, counted_read):
    """Point the member at `message`, up to which the room held `counted_read` counted
    messages (a batch of posts knows each one's)."""
    membership.last_read_seq, membership.last_read_message_id = message.seq, message.id
    membership.counted_read = counted_read


def point_senders(room_id, pointers):
    """Point each sender of a batch of new messages at their last one, in one UPDATE:
    `pointers` maps user_id -> (message, counted_read)."""
    rows = [(user_id, message.seq, message.id, counted) for user_id, (message, counted) in pointers.items()]
    slots = 1 << (len(rows) - 1).bit_length()
    rows += [(None, None, None, None)] * (slots - len(rows))  # a NULL user matches no row
    params = {"in_room": room_id}
    for n, (user_id, seq, message_id, counted) in enumerate(rows):
        params.update({f"user_{n}": user_id, f"seq_{n}": seq, f"id_{n}": message_id, f"counted_{n}": counted})
    db.session.connection().execute(_pointer_update(slots), params)


@functools.cache
def _pointer_update(senders):
    """The UPDATE of `point_senders` for up to `senders` senders, a power of two: a CASE
    per column picks each sender's value. Built once per size, and only for powers of
    two: one statement per batch size kept 15,000 expression objects alive after a busy
    minute (batches of up to 90 senders), and every full garbage collection walked them,
    pausing the worker for 54 to 100 ms (BENCHMARKS.md, change 15)."""
    table = Membership.__table__
    users = [sa.bindparam(f"user_{n}") for n in range(senders)]

    def each(name):
        return sa.case(*((table.c.user_id == user, sa.bindparam(f"{name}_{n}")) for n, user in enumerate(users)))

    return (
        sa.update(table)
        .where(table.c.room_id == sa.bindparam("in_room"), table.c.user_id.in_(users))
        .values(last_read_seq=each("seq"), last_read_message_id=each("id"), counted_read=each("counted"))
    )


def advance_pointer(membership, room, message):
    """Move a read pointer forward to `message` (never back). True if it moved."""
    if message.seq <= membership.last_read_seq:
        return False
    read_through(membership, message, room.counted_messages - _counted_after(room.id, message.seq))
    return True


def last_message(room_id, last_seq):
    """The room's latest message, given the room's `last_seq` (None in an empty room),
    as a row for its payload: one statement (an object would load its sender, file and
    quoted parent one query each)."""
    rows = page_rows(room_id, operator.eq, last_seq, descending=False, limit=1)
    return rows[0] if rows else None


# What moving a read pointer reads of the message: built once, three columns.
_POINTED_AT = sa.select(Message.id, Message.room_id, Message.seq).where(Message.id == sa.bindparam("message_id"))


def unread_deliveries(room_id):
    """(channels, payload) pairs that tell every active member of the room their unread
    and mention counts and the room's last message: the unread round of a room. Members
    with the same counts share one payload, sent to all their personal channels at once;
    where many members have posted, most counts differ, and a round is up to one event
    per member."""
    rows = _member_counts(room_id)
    if not rows:
        return []
    shared = unread_payload(room_id, 0, last_message(room_id, rows[0].last_seq))  # built once
    mention_counts = mentions.mention_counts(room_id)
    channels_by_counts = defaultdict(list)
    for row in rows:
        counts = (row.unread, mention_counts.get(row.user_id, 0))
        channels_by_counts[counts].append(realtime.user_channel(row.user_id))
    return [
        (channels, {**shared, "unread_count": unread, "mention_count": mentioned})
        for (unread, mentioned), channels in channels_by_counts.items()
    ]


def unread_changed(room_id):
    """The room's counts changed in this transaction: every member's tabs get their new
    count and last message after commit, coalesced per UNREAD_FANOUT_MS, off the
    sender's path (`realtime.rounds`)."""
    realtime.touch_after_commit("unread", room_id)


def init_app(app):
    realtime.define_rounds(app, "unread", "UNREAD_FANOUT_MS", "unread", unread_deliveries, "unread counts")


def mark_read(user, room_id, message_id):
    """Move the user's read pointer forward to `message_id` (a lower id changes nothing);
    announce the receipt to the room and the new count to the user's tabs."""
    message_id = parse_id(message_id, "message_id")
    with transaction():
        room = lock_room_shared(parse_id(room_id))
        membership = membership_of(user.id, room.id, lock=True)
        if membership is None or not membership.active:
            require_member(user, room.id)  # raises the right code
        message = db.session.execute(_POINTED_AT, {"message_id": message_id}).first()
        if message is None or message.room_id != room.id:
            raise ChatError("MESSAGE_NOT_FOUND")
        if advance_pointer(membership, room, message):
            realtime.emit_after_commit(
                "read_receipt",
                {"room_id": room.id, "user_id": user.id, "last_read_message_id": membership.last_read_message_id},
                to=realtime.room_channel(room.id),
            )
            realtime.emit_after_commit(
                "unread",
                unread_payload(
                    room.id,
                    room.counted_messages - membership.counted_read,
                    last_message(room.id, room.last_seq),
                    mentions.mention_count(user.id, room.id, membership.last_read_seq),
                ),
                to=realtime.user_channel(user.id),
            )
    return membership.last_read_message_id
