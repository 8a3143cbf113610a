"""Read pointers and unread counts."""
import sqlalchemy as sa

from .. import realtime
from ..extensions import db
from ..models import Membership, Message
from ..payloads import message_payload


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


def queue_unread(room_id, last_message):
    """`unread` to every member's personal channel, so every tab's badges stay right."""
    payload = message_payload(last_message) if last_message is not None else None
    for user_id, count in room_unread_counts(room_id).items():
        realtime.queue(
            "unread",
            {"room_id": room_id, "unread_count": count, "last_message": payload},
            to=realtime.user_channel(user_id),
        )
