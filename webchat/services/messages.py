"""Messages: send (validation, idempotency, sequencing, group commit), history."""
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import ratelimit, realtime
from ..database import transaction
from ..errors import ChatError, validation_error
from ..extensions import db
from ..models import Membership, Message, User, utcnow
from ..payloads import message_payload
from . import reads
from .access import lock_room, next_seq, parse_id, require_member, require_member_or_hide

CLIENT_ID_MAX = 64
PAGE_DEFAULT, PAGE_MAX = 50, 100


def clean_body(body):
    """The body as stored: trimmed, 1 to MESSAGE_MAX_LENGTH characters."""
    if not isinstance(body, str):
        raise validation_error(body="Expected text.")
    body = body.strip()
    if not body:
        raise ChatError("MESSAGE_EMPTY")
    limit = current_app.config["MESSAGE_MAX_LENGTH"]
    if len(body) > limit:
        raise ChatError("MESSAGE_TOO_LONG", f"Messages are limited to {limit} characters.")
    return body


def clean_client_id(client_id):
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not 0 < len(client_id) <= CLIENT_ID_MAX or not client_id.isprintable():
        raise validation_error(client_id=f"Expected a string of 1 to {CLIENT_ID_MAX} characters.")
    return client_id


def _existing(sender_id, client_id, room_id):
    """The message already stored under this client_id, for an idempotent retry."""
    if client_id is None:
        return None
    # The id alone first: almost every send is new, and a row of Message with its joined
    # sender and file costs a packet per column to describe, even when nothing matches.
    message_id = db.session.scalar(
        sa.select(Message.id).where(Message.sender_id == sender_id, Message.client_id == client_id)
    )
    if message_id is None:
        return None
    message = db.session.get(Message, message_id)
    if message.room_id != room_id:
        raise validation_error(client_id="This client_id was already used in another room.")
    return message


def send_message(user, room_id, body, client_id=None):
    """Store a text message and announce it after commit.

    Idempotent on (sender, client_id): a retry returns the stored message and announces
    nothing. Returns (message, created).
    """
    room_id = parse_id(room_id)
    body = clean_body(body)
    client_id = clean_client_id(client_id)
    if (existing := _existing(user.id, client_id, room_id)) is not None:
        return existing, False
    ratelimit.check("RATELIMIT_MESSAGES_PER_USER", user.id)  # retries above never count
    try:
        return post_message(user, room_id, client_id, lambda: _existing(user.id, client_id, room_id),
                            kind="text", body=body)
    except IntegrityError:
        # The same client_id raced in from another room's transaction.
        existing = _existing(user.id, client_id, room_id)
        if existing is None:
            raise
        return existing, False


def post_message(user, room_id, client_id, find_existing, **fields):
    """Store a message of `user` in the room and announce it after commit; the one way
    text and file messages are posted. `find_existing()` finds an earlier post of the
    same client_id (an idempotent retry). Returns (message, created).

    Group commit: posts to a room that arrive while its transaction runs wait, and the
    first of them then writes them all in one transaction, in arrival order. A busy room
    pays for one row lock and one COMMIT per batch instead of queueing every post on the
    lock; a post to a quiet room is a batch of one."""
    post = _Post(user, client_id, find_existing, fields)
    key = (current_app._get_current_object(), room_id)
    with _queues_lock:
        queue = _queues.setdefault(key, _RoomQueue())
        queue.pending.append(post)
        if queue.leader is None:
            queue.leader, post.leads = post, True
    if not post.leads:
        # Hold no pooled connection while waiting (expire_on_commit is off: nothing is
        # reloaded), then wait until written by another, or handed the lead.
        db.session.commit()
        post.done.wait()
    if post.leads:
        _lead(key, queue, post)
    if post.error is not None:
        raise post.error
    # The leader's message is in this session; another's is loaded here by its id.
    return (post.message if post.leads else db.session.get(Message, post.message.id)), post.created


@dataclass(eq=False)
class _Post:
    """A message waiting for its room's next group commit, and what became of it."""

    user: object
    client_id: str | None
    find_existing: object
    fields: dict
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    message: Message | None = None
    created: bool = False
    error: BaseException | None = None


@dataclass(eq=False)
class _RoomQueue:
    pending: list = field(default_factory=list)
    leader: _Post | None = None


_queues = {}  # (app, room_id) -> _RoomQueue, while the room has posts in flight
_queues_lock = threading.Lock()


def _lead(key, queue, leader):
    """Write every post pending in the room, then hand the lead to the first post that
    arrived meanwhile (or retire the queue)."""
    with _queues_lock:
        batch, queue.pending = queue.pending, []
    try:
        try:
            _write(key[1], batch)
        except Exception:  # noqa: BLE001 - find whose post failed: write each alone
            if len(batch) == 1:
                raise
            for post in batch:
                try:
                    _write(key[1], [post])
                except Exception as error:  # noqa: BLE001 - that post's own failure
                    post.error = error
    except BaseException as error:
        for post in batch:
            if post.message is None and post.error is None:
                post.error = error
        raise
    finally:
        with _queues_lock:
            if queue.pending:
                queue.leader = queue.pending[0]
                queue.leader.leads = True
                queue.leader.done.set()
            else:
                queue.leader = None
                del _queues[key]
        for post in batch:
            if post is not leader:
                post.done.set()


def _write(room_id, posts):
    """One transaction under the room's lock for `posts`, in order: each gets its
    message (or the earlier one of its client_id), or the error that stops it alone.
    One query finds which client_ids are already stored and one flush inserts the batch,
    so a batch costs a few round trips however many posts it holds."""
    with transaction():
        room = lock_room(room_id)
        senders = {post.user.id for post in posts}
        memberships = {
            m.user_id: m
            for m in db.session.scalars(
                sa.select(Membership).where(Membership.room_id == room_id, Membership.user_id.in_(senders))
                .options(sa.orm.joinedload(Membership.user).load_only(User.id, User.username))
            )
        }
        stored = _stored_client_ids(posts)
        written, in_batch = [], {}
        for post in posts:
            post.message, post.created, post.error = None, False, None
            membership = memberships.get(post.user.id)
            key = (post.user.id, post.client_id)
            try:
                if membership is None or not membership.active:
                    require_member(post.user, room_id)  # raises the right code
                # A retry that committed meanwhile, or that came in this very batch.
                post.message = post.find_existing() if key in stored else in_batch.get(key)
            except ChatError as error:
                post.error = error
                continue
            if post.message is not None:
                continue
            # Every column set here, so that nothing is reloaded after the INSERT.
            message = Message(room_id=room_id, seq=next_seq(room), sender_id=post.user.id, client_id=post.client_id,
                              **{"event": None, "deleted_at": None, "file": None, **post.fields})
            message.sender = membership.user
            db.session.add(message)
            reads.count_new_message(room, message)
            if post.client_id is not None:
                in_batch[key] = message
            written.append((post, membership, message, room.counted_messages))
        if not written:
            return
        db.session.flush()
        for post, membership, message, counted in written:
            reads.read_through(membership, message, counted)
            realtime.queue("new_message", {"message": message_payload(message)}, to=realtime.room_channel(room_id))
            post.message, post.created = message, True
        reads.queue_unread(room_id)


def _stored_client_ids(posts):
    """The (sender_id, client_id) pairs of `posts` that some stored message already has."""
    pairs = {(post.user.id, post.client_id) for post in posts if post.client_id is not None}
    if not pairs:
        return set()
    return set(db.session.execute(
        sa.select(Message.sender_id, Message.client_id).where(sa.tuple_(Message.sender_id, Message.client_id).in_(pairs))
    ).all())


def history(user, room_id, before_seq=None, after_seq=None, limit=None):
    """A page of the room's messages, ascending by seq, and whether more lie beyond it.

    Keyset paging on (room_id, seq): no cursor gives the latest page, `before_seq` pages
    back, `after_seq` catches up after a reconnect.
    """
    room, _membership = require_member(user, room_id)
    limit = _page_size(limit)
    query = sa.select(Message).where(Message.room_id == room.id)
    if before_seq is not None and after_seq is not None:
        raise validation_error(before_seq="Use before_seq or after_seq, not both.")
    if after_seq is not None:
        after_seq = _seq(after_seq, "after_seq")
        rows = db.session.scalars(query.where(Message.seq > after_seq).order_by(Message.seq).limit(limit + 1)).all()
        return rows[:limit], len(rows) > limit
    if before_seq is not None:
        query = query.where(Message.seq < _seq(before_seq, "before_seq"))
    rows = db.session.scalars(query.order_by(Message.seq.desc()).limit(limit + 1)).all()
    return list(reversed(rows[:limit])), len(rows) > limit


def _page_size(limit):
    if limit is None or limit == "":
        return PAGE_DEFAULT
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise validation_error(limit="Expected an integer.") from None
    if not 1 <= limit <= PAGE_MAX:
        raise validation_error(limit=f"Use 1 to {PAGE_MAX}.")
    return limit


def _seq(value, field):
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise validation_error(**{field: "Expected an integer."}) from None
    if not 0 <= value < 2**31:
        raise validation_error(**{field: "Out of range."})
    return value


def delete_message(user, message_id):
    """The sender deletes their message within the window: a tombstone keeps its place
    in history (no body, no file: its stored objects go after commit), and everyone in
    the room is told."""
    message_id = parse_id(message_id, "message_id")
    window = current_app.config["MESSAGE_DELETE_WINDOW_SECONDS"]
    with transaction():
        message = db.session.get(Message, message_id)
        if message is None:
            raise ChatError("MESSAGE_NOT_FOUND")
        require_member_or_hide(user, message.room_id, "MESSAGE_NOT_FOUND")
        # Under the room's lock, re-read: a concurrent delete must not count twice.
        room = lock_room(message.room_id)
        db.session.refresh(message)
        if message.sender_id != user.id or message.kind == "system":
            raise ChatError("FORBIDDEN", "You can only delete your own messages.")
        if message.deleted_at is not None:
            return message
        if (utcnow() - message.created_at).total_seconds() > window:
            span = f"{window // 60} minutes" if window >= 120 else f"{window} seconds"
            raise ChatError("MESSAGE_DELETE_TIME_EXPIRED", f"Messages can only be deleted within {span} of sending.")
        reads.uncount_deleted(room, message)
        message.deleted_at, message.body = utcnow(), ""
        from .files import discard_message_file  # here: files builds on this module

        discard_message_file(message)
        realtime.queue("message_deleted", {"room_id": message.room_id, "message_id": message.id},
                       to=realtime.room_channel(message.room_id))
        reads.queue_unread(room.id)
    return message



def announce(room_id, text):
    """Post an announcement from outside any user (an operator's CLI, a worker): a
    system message with the text as its body, broadcast like any other."""
    room_id = parse_id(room_id)
    body = clean_body(text)
    with transaction():
        room = lock_room(room_id)
        message = Message(room_id=room.id, seq=next_seq(room), sender_id=None, kind="system", body=body,
                          event={"type": "announcement", "user": None, "by": None})
        db.session.add(message)
        db.session.flush()
        realtime.queue("new_message", {"message": message_payload(message)}, to=realtime.room_channel(room.id))
    return message
