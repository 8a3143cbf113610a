"""The room change feed: every change to a message (posting it, an edit, a delete, a
reaction, its quoted parent changing) takes the room's next `rev`, under the room's lock
and in the change's own transaction, so `rev` order is commit order. `changes` pages by
it: a client that remembers the highest `rev` it has seen is brought exactly up to date,
however long it was away, because each message carries only its latest `rev` and the
feed is the messages themselves: there is no log to trim and no retention window."""

import sqlalchemy as sa

from .. import realtime
from ..extensions import db
from ..models import Message
from ..payloads import message_payload
from .access import next_rev, parse_cursor, parse_limit, require_member

PAGE_DEFAULT, PAGE_MAX = 100, 500


def changed(room, message):
    """`message`, of `room` (locked by the caller), changed in this transaction: it takes
    the room's next `rev`."""
    message.rev = next_rev(room)


def requote(room, parent):
    """`parent` was edited or deleted: the replies quoting it (not deleted ones, which
    show no quote) each take a new `rev`. Returns them, to be announced."""
    replies = db.session.scalars(
        sa.select(Message)
        .where(Message.room_id == room.id, Message.reply_to_id == parent.id, Message.deleted_at.is_(None))
        .order_by(Message.seq)
    ).all()
    for reply in replies:
        changed(room, reply)
    return replies


def announce_updated(*changed_messages):
    """Tell the sockets that opened the room each message's new state, after commit. Call
    it once the transaction's changes are all made: the payload is taken now."""
    for message in changed_messages:
        realtime.emit_after_commit(
            "message_updated", {"message": message_payload(message)}, to=realtime.room_channel(message.room_id)
        )


def changes(user, room_id, after_rev, limit=None):
    """The room's messages changed after `after_rev`, once each in their current state,
    ascending by rev, with where to continue and whether more follow: (messages,
    last_rev, has_more). A range scan of (room_id, rev)."""
    room, _membership = require_member(user, room_id)
    after_rev = parse_cursor(after_rev, "after_rev")
    limit = parse_limit(limit, PAGE_DEFAULT, PAGE_MAX)
    rows = db.session.scalars(
        sa.select(Message)
        .where(Message.room_id == room.id, Message.rev > after_rev)
        .order_by(Message.rev)
        .limit(limit + 1)
    ).all()
    page, has_more = rows[:limit], len(rows) > limit
    # The room was read first: a change committed since may lie beyond its last_rev.
    last_rev = page[-1].rev if has_more else max(room.last_rev, page[-1].rev if page else 0)
    return page, last_rev, has_more
