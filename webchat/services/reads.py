"""Read pointers and unread counts."""
import sqlalchemy as sa

from .. import realtime
from ..database import transaction
from ..errors import ChatError
from ..extensions import db
from ..models import Membership, Message
from ..payloads import message_payload
from .access import parse_id, require_member


def _unread_query():
    """Others' non-deleted, non-system messages after each member's pointer: a range
    scan on (room_id, seq) per membership, never a count over the whole room."""
    return (
        sa.select(Membership.room_id, Membership.user_id, sa.func.count(Message.id))
        .select_from(Membership)
        .outerjoin(
            Message,
            sa.and_(
                Message.room_id == Membership.room_id,
                Message.seq > Membership.last_read_seq,
                Message.kind != "system",
                Message.deleted_at.is_(None),
                sa.or_(Message.sender_id.is_(None), Message.sender_id != Membership.user_id),
            ),
        )
        .where(Membership.active.is_(True))
        .group_by(Membership.room_id, Membership.user_id)
    )


def unread_counts(user_id, room_ids):
    """{room_id: unread count} for one user's rooms, in one query."""
    if not room_ids:
        return {}
    rows = db.session.execute(
        _unread_query().where(Membership.user_id == user_id, Membership.room_id.in_(room_ids))
    ).all()
    return {room_id: count for room_id, _uid, count in rows}


def room_unread_counts(room_id):
    """{user_id: unread count} for every active member of one room, in one query."""
    rows = db.session.execute(_unread_query().where(Membership.room_id == room_id)).all()
    return {user_id: count for _rid, user_id, count in rows}


def advance_pointer(membership, message):
    """Move a read pointer forward to `message` (never back). True if it moved."""
    if message.seq <= membership.last_read_seq:
        return False
    membership.last_read_seq = message.seq
    membership.last_read_message_id = message.id
    return True


def last_message(room):
    return db.session.scalar(sa.select(Message).where(Message.room_id == room.id, Message.seq == room.last_seq))


def queue_unread(room_id, last):
    """`unread` to every member's personal channel, so every tab's badges stay right."""
    payload = message_payload(last) if last is not None else None
    for user_id, count in room_unread_counts(room_id).items():
        realtime.queue(
            "unread",
            {"room_id": room_id, "unread_count": count, "last_message": payload},
            to=realtime.user_channel(user_id),
        )


def mark_read(user, room_id, message_id):
    """Move the user's read pointer forward to `message_id` (a lower id changes nothing);
    announce the receipt to the room and the new count to the user's tabs."""
    message_id = parse_id(message_id, "message_id")
    with transaction():
        room, membership = require_member(user, room_id)
        message = db.session.get(Message, message_id)
        if message is None or message.room_id != room.id:
            raise ChatError("MESSAGE_NOT_FOUND")
        if advance_pointer(membership, message):
            realtime.queue(
                "read_receipt",
                {"room_id": room.id, "user_id": user.id, "last_read_message_id": membership.last_read_message_id},
                to=realtime.room_channel(room.id),
            )
            count = unread_counts(user.id, [room.id]).get(room.id, 0)
            last = last_message(room)
            realtime.queue(
                "unread",
                {"room_id": room.id, "unread_count": count, "last_message": last and message_payload(last)},
                to=realtime.user_channel(user.id),
            )
    return membership.last_read_message_id
