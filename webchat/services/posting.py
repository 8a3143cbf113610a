"""Posting messages: the one way text and file messages are written, with their `seq`,
idempotency by (sender, client_id) and group commit. `messages` and `files` build on it."""

import threading
from dataclasses import dataclass, field
from functools import partial

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from .. import metrics, realtime
from ..database import transaction
from ..errors import ChatError, validation_error
from ..extensions import db
from ..models import Attachment, Message, Room, utcnow
from ..payloads import message_payload
from . import formatting, mentions, reads, search_index
from .access import lock_room_for_posts, parse_id, require_member

CLIENT_ID_MAX = 64


def clean_client_id(client_id):
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not 0 < len(client_id) <= CLIENT_ID_MAX or not client_id.isprintable():
        raise validation_error(client_id=_l("Expected a string of 1 to %(max)s characters.", max=CLIENT_ID_MAX))
    return client_id


def clean_reply_to(reply_to):
    """The id a new message replies to, or None; whether it may is checked when posting."""
    return None if reply_to is None else parse_id(reply_to, "reply_to")


def existing_message(sender_id, client_id, room_id):
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
        raise validation_error(client_id=_l("This client_id was already used in another room."))
    return message


def post_message(user, room_id, client_id, find_existing, *, kind, body, file=None, reply_to=None, confirm=False):
    """Store a message of `user` in the room and announce it after commit; the one way
    text and file messages are posted. `file` holds the columns of a new Attachment;
    `reply_to` the id of the message it replies to (in the room, not deleted); `confirm`
    lets a text's @room or @here through in a large room (see `mentions`).
    `find_existing()` finds an earlier post of the same client_id (an idempotent retry).
    Returns (message, created).

    Group commit: posts to a room that arrive while its transaction runs wait, and the
    first of them then writes them all in one transaction, in arrival order. A busy room
    pays for one row lock and one COMMIT per batch instead of queueing every post on the
    lock; a post to a quiet room is a batch of one. A text's HTML is rendered here, by its
    own caller, before it waits: never by the batch's leader under the room's lock."""
    html = formatting.render(body) if kind == "text" else ""
    post = _Post(user, client_id, kind, body, html, file, reply_to, confirm)
    key = (current_app._get_current_object(), room_id)
    with _in_flight_lock:
        posts = _in_flight.setdefault(key, _RoomPosts())
        posts.pending.append(post)
        if posts.leader is None:
            posts.leader, post.leads = post, True
    if not post.leads:
        # Hold no pooled connection while waiting (expire_on_commit is off: nothing is
        # reloaded), then wait until written by another, or handed the lead.
        db.session.commit()
        post.done.wait()
    if post.leads:
        _lead(key, posts, post)
    if post.error is not None:
        raise post.error
    if post.message is None:  # its client_id was stored already, or earlier in the batch
        return find_existing(), False
    # Into this caller's session as if loaded here, without a query.
    post.message = db.session.merge(post.message, load=False)
    return post.message, True


@dataclass(eq=False)
class _Post:
    """A message waiting for its room's next group commit, and what became of it: its new
    message, or its error, or neither when its client_id was already stored."""

    user: object
    client_id: str | None
    kind: str
    body: str
    html: str
    file: dict | None
    reply_to: int | None
    confirm: bool = False
    # Whom a text mentions, resolved under the room's lock: (member ids, "room"|"here"|None).
    mentions: tuple = ((), None)
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    answered: bool = False
    message: Message | None = None
    error: BaseException | None = None

    def answer(self, message=None, error=None):
        self.message, self.error, self.answered = message, error, True


@dataclass(eq=False)
class _RoomPosts:
    pending: list = field(default_factory=list)
    leader: _Post | None = None


_in_flight = {}  # (app, room_id) -> _RoomPosts, while the room has posts in flight
_in_flight_lock = threading.Lock()


def _lead(key, posts, leader):
    """Write every post pending in the room, then hand the lead to the first post that
    arrived meanwhile (or retire the room's entry)."""
    with _in_flight_lock:
        batch, posts.pending = posts.pending, []
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
                    post.answer(error=error)
    except BaseException as error:
        for post in batch:
            if not post.answered:
                post.answer(error=error)
        raise
    finally:
        with _in_flight_lock:
            if posts.pending:
                posts.leader = posts.pending[0]
                posts.leader.leads = True
                posts.leader.done.set()
            else:
                posts.leader = None
                del _in_flight[key]
        for post in batch:
            if post is not leader:
                post.done.set()


def _write(room_id, posts):
    """One transaction under the room's lock for `posts`, in order, each answered once it
    commits. The hot path of every send, so it is written in SQL expressions rather than
    through the ORM's unit of work, and run on the session's connection (the session's
    own execute cost more CPU than the statement's: bench/send_cost.py): one locking read
    of the room and the senders' memberships, one INSERT of the batch's messages, one of
    their search grams, one UPDATE of the room, one of the senders' read pointers, and
    COMMIT, however many posts the batch holds (and one read of the messages replied to,
    if any are)."""
    answers = {}
    with transaction():
        room, members = lock_room_for_posts(room_id, {post.user.id for post in posts})
        counted = room.counted_messages
        parents = _parents({post.reply_to for post in posts if post.reply_to is not None})
        writable, seen = [], set()
        for post in posts:
            answers[post] = {}
            if post.user.id not in members:
                try:
                    require_member(post.user, room_id)  # raises the right code
                except ChatError as error:
                    answers[post] = {"error": error}
                    continue
            if post.reply_to is not None and not _quotable(parents.get(post.reply_to), room_id):
                answers[post] = {
                    "error": validation_error(reply_to=_l("Reply to a message of this room that is not deleted."))
                }
                continue
            key = (post.user.id, post.client_id)
            if post.client_id is None or key not in seen:  # else a repeat within the batch
                seen.add(key)
                writable.append(post)
        writable = _resolve_mentions(room_id, writable, answers)
        written = _insert_messages(room_id, room.last_seq, room.last_rev, writable, parents)
        pointers = {}
        for post, message in written:
            if reads.is_counted(message.kind):
                counted += 1
            pointers[post.user.id] = (message, counted)  # the sender has read their own
            answers[post] = {"message": message}
            realtime.emit_after_commit(
                "new_message", {"message": message_payload(message)}, to=realtime.room_channel(room_id)
            )
        if written:
            db.session.connection().execute(
                _UPDATE_ROOM,
                {
                    "room": room_id,
                    "new_last_seq": written[-1][1].seq,
                    "new_last_rev": written[-1][1].rev,
                    "new_counted": counted,
                },
            )
            reads.point_senders(room_id, pointers)
            reads.unread_changed(room_id)
            mentions.record(
                [
                    (message, _parent_sender(parents, post.reply_to))
                    for post, message in written
                    if message.mentions or message.mention_all or post.reply_to is not None
                ]
            )
            mentions.notify_after_commit(room_id, written[0][1].seq)
    metrics.MESSAGES_STORED.inc(len(written))
    for post, answer in answers.items():
        post.answer(**answer)


def _resolve_mentions(room_id, posts, answers):
    """Whom each text post mentions, resolved among the room's members in one lookup for
    the batch; a post whose @room or @here needs a confirmation it lacks is answered
    CONFIRMATION_REQUIRED and left out. Returns the posts to write."""
    parsed = {post: mentions.mentions_of(post.body) for post in posts if post.kind == "text"}
    names = [name for found, _everyone in parsed.values() for name in found]
    resolved = mentions.resolve(room_id, list(dict.fromkeys(names)))
    writable = []
    for post in posts:
        found, everyone = parsed.get(post, ((), None))
        try:
            mentions.require_confirmation(room_id, everyone, post.confirm)
        except ChatError as error:
            answers[post] = {"error": error}
            continue
        ids = [resolved[name] for name in found if name in resolved]
        post.mentions = (list(dict.fromkeys(ids)), everyone)
        writable.append(post)
    return writable


def _parent_sender(parents, reply_to):
    parent = parents.get(reply_to)
    return parent.sender_id if parent is not None else None


def _parents(message_ids):
    """The messages replied to, by id, read under the room's lock (so that a delete
    cannot slip between the check and the reply)."""
    if not message_ids:
        return {}
    return {m.id: m for m in db.session.scalars(sa.select(Message).where(Message.id.in_(message_ids)))}


def _quotable(parent, room_id):
    return parent is not None and parent.room_id == room_id and parent.deleted_at is None


def _insert_messages(room_id, last_seq, last_rev, posts, parents):
    """Insert the posts' messages, numbered on from `last_seq` and `last_rev`, in one
    statement; posts whose client_id some stored message already has are left out.
    Returns [(post, message)]: detached Messages, complete, that a caller's session can
    adopt as loaded."""
    insert = partial(_insert_rows, room_id, last_seq, last_rev, parents=parents)
    if any(post.file is not None for post in posts):
        # An upload's Attachment row goes in first and must not outlive a refused
        # message: look before inserting (uploads are rare).
        return insert(_not_stored(posts))
    try:
        return insert(posts)
    except IntegrityError:
        # Optimistic: a stored client_id is rare (a retry that raced its own first try),
        # so it is looked for only when the unique key refused the batch. The failed
        # statement alone was undone; the transaction and its locks go on.
        if len(rest := _not_stored(posts)) == len(posts):
            raise
        return insert(rest)


def _insert_rows(room_id, last_seq, last_rev, posts, parents):
    if not posts:
        return []
    now = utcnow()
    files = [_insert_file(post.file, now) if post.file is not None else None for post in posts]
    indexing = search_index.enabled()
    texts = [
        search_index.search_text(
            search_index.indexed_source(post.kind, post.body, (post.file or {}).get("name")), post.body
        )
        if indexing
        else (None, "")
        for post in posts
    ]
    rows = [
        {
            "room_id": room_id,
            "seq": last_seq + n,
            "sender_id": post.user.id,
            "kind": post.kind,
            "body": post.body,
            "html": post.html,
            "client_id": post.client_id,
            "event": None,
            "created_at": now,
            "deleted_at": None,
            "deleted_by": None,
            "file_id": attachment.id if attachment is not None else None,
            "rev": last_rev + n,
            "edited_at": None,
            "reply_to_id": post.reply_to,
            "reactions": None,
            "mentions": post.mentions[0] or None,
            "mention_all": post.mentions[1],
            "search_text": text[0],
        }
        for n, (post, attachment, text) in enumerate(zip(posts, files, texts, strict=True), 1)
    ]
    ids = dict(db.session.connection().execute(_INSERT_MESSAGES, rows).all())
    # The batch's grams in one more INSERT, in the same transaction as its messages.
    search_index.insert_rows(
        [
            gram
            for row, (_column, normalised) in zip(rows, texts, strict=True)
            for gram in search_index.rows_for(ids[row["seq"]], room_id, normalised)
        ]
    )
    written = []
    for post, attachment, row in zip(posts, files, rows, strict=True):
        message = Message(id=ids[row["seq"]], **row)
        message.sender, message.file = post.user, attachment
        sa.orm.attributes.set_committed_value(message, "reply_to", parents.get(post.reply_to))
        sa.orm.make_transient_to_detached(message)
        written.append((post, message))
    return written


# The send path's statements, built once (see access.lock_room_for_posts).
_INSERT_MESSAGES = Message.__table__.insert().returning(Message.__table__.c.seq, Message.__table__.c.id)
_UPDATE_ROOM = (
    sa.update(Room.__table__)
    .where(Room.__table__.c.id == sa.bindparam("room"))
    .values(
        last_seq=sa.bindparam("new_last_seq"),
        last_rev=sa.bindparam("new_last_rev"),
        counted_messages=sa.bindparam("new_counted"),
    )
)


def _insert_file(columns, now):
    """Insert a file post's Attachment; returns it detached, complete."""
    table = Attachment.__table__
    columns = {**columns, "created_at": now}
    attachment = Attachment(
        id=db.session.execute(table.insert().returning(table.c.id), columns).scalar_one(), **columns
    )
    sa.orm.make_transient_to_detached(attachment)
    return attachment


def _not_stored(posts):
    """The posts whose (sender_id, client_id) no stored message has yet."""
    pairs = {(post.user.id, post.client_id) for post in posts if post.client_id is not None}
    if not pairs:
        return posts
    stored = set(
        db.session.execute(
            sa.select(Message.sender_id, Message.client_id).where(
                sa.tuple_(Message.sender_id, Message.client_id).in_(pairs)
            )
        ).all()
    )
    return [post for post in posts if (post.user.id, post.client_id) not in stored]
