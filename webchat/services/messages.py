"""Messages: send (validation, idempotency), history, delete, announcements. Writing
posts (sequencing, group commit) is `posting`'s."""

import operator
from functools import partial

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from sqlalchemy.exc import IntegrityError

from .. import ratelimit, realtime
from ..database import transaction
from ..errors import ChatError, validation_error
from ..extensions import db
from ..models import Message, MessageRevision, Reaction, utcnow
from ..payloads import message_payload
from . import audit, feed, mentions, reads, search_index
from .access import (
    check_member,
    is_moderator,
    lock_message,
    lock_room,
    next_rev,
    next_seq,
    parse_cursor,
    parse_id,
    parse_limit,
)
from .files import discard_message_file
from .message_rows import page_rows
from .posting import clean_client_id, clean_reply_to, existing_message, post_message

PAGE_DEFAULT, PAGE_MAX = 50, 100


def clean_body(body):
    """The body as stored: trimmed, 1 to MESSAGE_MAX_LENGTH characters."""
    if not isinstance(body, str):
        raise validation_error(body=_l("Expected text."))
    body = body.strip()
    if not body:
        raise ChatError("MESSAGE_EMPTY")
    limit = current_app.config["MESSAGE_MAX_LENGTH"]
    if len(body) > limit:
        raise ChatError("MESSAGE_TOO_LONG", _l("Messages are limited to %(limit)s characters.", limit=limit))
    return body


def send_message(user, room_id, body, client_id=None, reply_to=None, confirm=None):
    """Store a text message (a reply, with `reply_to`) and announce it after commit;
    `confirm` lets an @room or @here through in a large room (`mentions`).

    Idempotent on (sender, client_id): a retry returns the stored message and announces
    nothing, even over the rate limit. Returns (message, created).
    """
    room_id = parse_id(room_id)
    body = clean_body(body)
    client_id = clean_client_id(client_id)
    reply_to = clean_reply_to(reply_to)
    confirm = mentions.clean_confirm(confirm)
    find_existing = partial(existing_message, user.id, client_id, room_id)
    try:
        ratelimit.check("RATELIMIT_MESSAGES_PER_USER", user.id)
    except ChatError:
        # Only a refused send pays for this lookup: a retry of a stored message is
        # answered with it rather than refused.
        if (existing := find_existing()) is not None:
            return existing, False
        raise
    try:
        return post_message(
            user, room_id, client_id, find_existing, kind="text", body=body, reply_to=reply_to, confirm=confirm
        )
    except IntegrityError:
        # The same client_id raced in from another room's transaction.
        existing = find_existing()
        if existing is None:
            raise
        return existing, False


def history(user, room_id, before_seq=None, after_seq=None, limit=None):
    """A page of the room's messages, ascending by seq, and whether more lie beyond it.

    Keyset paging on (room_id, seq): no cursor gives the latest page, `before_seq` pages
    back, `after_seq` catches up after a reconnect. The messages are rows for their
    payloads (`message_rows`), not objects to change.
    """
    room_id = check_member(user, room_id)
    limit = parse_limit(limit, PAGE_DEFAULT, PAGE_MAX)
    if before_seq is not None and after_seq is not None:
        raise validation_error(before_seq=_l("Use before_seq or after_seq, not both."))
    if after_seq is not None:
        after_seq = parse_cursor(after_seq, "after_seq")
        rows = page_rows(room_id, operator.gt, after_seq, descending=False, limit=limit + 1)
        return rows[:limit], len(rows) > limit
    before_seq = parse_cursor(before_seq, "before_seq") if before_seq is not None else None
    return latest_page(room_id, before_seq, limit)


def latest_page(room_id, before_seq=None, limit=PAGE_DEFAULT):
    """The room's `limit` latest messages (those before seq `before_seq`), ascending,
    and whether more lie before them; the caller has checked that the user may read."""
    bound = operator.lt if before_seq is not None else None
    rows = page_rows(room_id, bound, before_seq, descending=True, limit=limit + 1)
    return list(reversed(rows[:limit])), len(rows) > limit


def around(user, room_id, around_seq, limit=None):
    """The page of `limit` messages centred on seq `around_seq` (to jump to a quoted
    message or a search hit), and whether more lie before and after it: (messages,
    has_more_before, has_more_after). Two keyset scans of (room_id, seq)."""
    room_id = check_member(user, room_id)
    limit = parse_limit(limit, PAGE_DEFAULT, PAGE_MAX)
    seq = parse_cursor(around_seq, "around_seq")
    wanted_before = (limit - 1) // 2
    before = page_rows(room_id, operator.lt, seq, descending=True, limit=wanted_before + 1)
    before, more_before = before[:wanted_before], len(before) > wanted_before
    # What the start of history leaves unused goes to the messages after.
    wanted_after = limit - len(before)
    after = page_rows(room_id, operator.ge, seq, descending=False, limit=wanted_after + 1)
    return [*reversed(before), *after[:wanted_after]], more_before, len(after) > wanted_after


def delete_message(user, message_id):
    """Delete a message: the sender within the window, or a moderator (the room's owner,
    a site admin) someone else's at any time. A tombstone keeps its place in history (no body, no file:
    its stored objects go after commit), says who deleted it, and everyone in the room
    is told. A moderator's delete of someone else's message goes in the audit log."""
    window = current_app.config["MESSAGE_DELETE_WINDOW_SECONDS"]
    with transaction():
        # Under the room's lock, re-read: a concurrent delete must not count twice.
        room, message = lock_message(user, message_id, admin=getattr(user, "is_admin", False))
        if message.kind == "system":
            raise ChatError("FORBIDDEN", _l("You can only delete your own messages."))
        if message.deleted_at is not None:
            return message
        own = message.sender_id == user.id
        if not own and not is_moderator(user, room):
            raise ChatError("FORBIDDEN", _l("You can only delete your own messages."))
        # One's own message keeps the sender's window, whoever one is.
        if own and (utcnow() - message.created_at).total_seconds() > window:
            span = (
                _ln("%(num)s minute", "%(num)s minutes", window // 60)
                if window >= 120
                else _ln("%(num)s second", "%(num)s seconds", window)
            )
            raise ChatError(
                "MESSAGE_DELETE_TIME_EXPIRED", _l("Messages can only be deleted within %(span)s of sending.", span=span)
            )
        if not own:
            audit.record("delete_message", actor=user, target=message.sender, room=room, message_id=message.id)
        reads.uncount_deleted(room, message)
        search_index.replace(
            message, search_index.indexed_source(message.kind, message.body, message.file and message.file.name), ""
        )
        message.deleted_at, message.body, message.html, message.reactions = utcnow(), "", "", None
        message.deleted_by = "sender" if own else "moderator"
        # Nothing of what it said stays: not its earlier versions, not its reactions.
        db.session.execute(sa.delete(MessageRevision).where(MessageRevision.message_id == message.id))
        db.session.execute(sa.delete(Reaction).where(Reaction.message_id == message.id))
        mentions.forget(message)
        discard_message_file(message)
        feed.changed(room, message)
        replies = feed.requote(room, message)
        realtime.emit_after_commit(
            "message_deleted",
            {"room_id": message.room_id, "message_id": message.id},
            to=realtime.room_channel(message.room_id),
        )
        feed.announce_updated(message, *replies)
        reads.unread_changed(room.id)
    return message


def announce(room_id, text):
    """Post an announcement from outside any user (an operator's CLI, a worker): a
    system message with the text as its body, broadcast like any other."""
    room_id = parse_id(room_id)
    body = clean_body(text)
    with transaction():
        room = lock_room(room_id)
        message = Message(
            room_id=room.id,
            seq=next_seq(room),
            rev=next_rev(room),
            sender_id=None,
            kind="system",
            body=body,
            event={"type": "announcement", "user": None, "by": None},
        )
        db.session.add(message)
        db.session.flush()
        realtime.emit_after_commit(
            "new_message", {"message": message_payload(message)}, to=realtime.room_channel(room.id)
        )
    return message
