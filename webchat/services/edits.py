"""Edits: a sender changes the text of their message, every version is kept, and the
room (and each reply quoting it) learns the new text through the change feed."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import ratelimit
from ..database import transaction
from ..errors import ChatError, validation_error
from ..extensions import db
from ..models import Message, MessageRevision, utcnow
from ..payloads import editable_until
from . import feed, formatting, mentions, reads, search_index
from .access import lock_message, parse_id, require_member_or_hide
from .messages import clean_body


def edit_message(user, message_id, body, confirm=None):
    """Replace the body of the user's own text message; the same body changes nothing.
    The message keeps its seq, place and unread standing; it takes a new rev, as does
    each reply quoting it. Its mentions are resolved anew: only members it newly
    mentions are notified (an @room added in a large room needs `confirm`, as in a
    send). Its HTML is rendered anew; the versions keep their source text only.
    Returns the message."""
    message_id = parse_id(message_id, "message_id")
    body = clean_body(body)
    confirm = mentions.clean_confirm(confirm)
    ratelimit.check("RATELIMIT_CHANGES_PER_USER", user.id)
    html = formatting.render(body)  # before the room's lock is taken
    with transaction():
        room, message = lock_message(user, message_id)
        if message.deleted_at is not None:
            raise ChatError("MESSAGE_NOT_FOUND")
        if message.kind != "text":
            raise validation_error(message_id=_l("Only text messages can be edited."))
        if message.sender_id != user.id:
            raise ChatError("FORBIDDEN", _l("You can only edit your own messages."))
        until = editable_until(message.created_at)
        if until is not None and utcnow() > until:
            raise ChatError("MESSAGE_EDIT_TIME_EXPIRED")
        if body == message.body:
            return message
        now = utcnow()
        if message.edited_at is None:  # the original is kept at the first edit
            db.session.add(MessageRevision(message_id=message.id, body=message.body, created_at=message.created_at))
        db.session.add(MessageRevision(message_id=message.id, body=body, created_at=now))
        search_index.replace(message, message.body, body)
        message.body, message.html, message.edited_at = body, html, now
        newly_mentioned, counts_moved = mentions.reresolve(room, message, confirm)
        feed.changed(room, message)
        feed.announce_updated(message, *feed.requote(room, message))
        mentions.notify_edit_after_commit(room, message, newly_mentioned)
        # Room lists show the last message; mention counts follow the mentions.
        if message.seq == room.last_seq or counts_moved:
            reads.unread_changed(room.id)
    return message


def versions(user, message_id):
    """Every version of the message's body, oldest first, the original included: for
    members of its room. A deleted message has none to show."""
    message = db.session.get(Message, parse_id(message_id, "message_id"))
    if message is None:
        raise ChatError("MESSAGE_NOT_FOUND")
    require_member_or_hide(user, message.room_id, "MESSAGE_NOT_FOUND")
    if message.deleted_at is not None:
        raise ChatError("MESSAGE_NOT_FOUND")
    rows = db.session.execute(
        sa.select(MessageRevision.body, MessageRevision.created_at)
        .where(MessageRevision.message_id == message.id)
        .order_by(MessageRevision.created_at, MessageRevision.id)
    ).all()
    return [(row.body, row.created_at) for row in rows] or [(message.body, message.created_at)]
