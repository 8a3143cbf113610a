"""Mentions and notifications: who a message alerts, how many mentions each member has
not read, and the `notification` events.

A text message mentions `@name` (a member whose username matches, NFKC and case
folded, so the full-width `＠` works too), `@room` (every member) or `@here` (every
member online when it is sent); a reply alerts the author of the message it replies to.
Each alerted member gets a `mentions` row with the message's seq, written in the
message's transaction, so a member's mention count is one range count past their read
pointer. `notification` events go out in rounds after commit, coalesced per room like
the unread counts, never one emit per member on the send path.
"""

import re
import threading
import unicodedata
from functools import partial

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from .. import realtime
from ..errors import ChatError, validation_error
from ..extensions import db
from ..models import Membership, Mention, Message, Room, User
from ..payloads import message_payload
from .accounts import username_key

NOTIFY_LEVELS = ("all", "mentions", "mute")
BROADCASTS = ("room", "here")
# @room and @here in a room with more members than this need `confirm: true`.
CONFIRM_ABOVE = 5
# A round tells each member of the newest of at most this many new messages.
ROUND_MESSAGES_MAX = 200

# `@` not inside a word or an address ("kim@example.com" mentions nobody), then the
# characters a username may hold. Run on the NFKC form, where `＠` is `@`.
_MENTION = re.compile(r"(?<![\w.\-@])@([\w.\-]+)")
_LOOKUP_CHUNK = 500


def _is_hangul(text):
    return all("\uac00" <= c <= "\ud7a3" for c in text)


def parse(body):
    """What a text mentions: (the names, distinct, in order of appearance; "room",
    "here" or None). "room" wins over "here" when both appear."""
    names, seen, everyone = [], set(), None
    for match in _MENTION.finditer(unicodedata.normalize("NFKC", body)):
        name = match.group(1).rstrip(".-")
        key = name.casefold()
        if key in BROADCASTS:
            everyone = "room" if "room" in (key, everyone) else "here"
        elif name and key not in seen:
            seen.add(key)
            names.append(name)
    return names, everyone


def _candidates(name):
    """The usernames `@name` may mean, longest first: the name itself and, where it ends
    in Hangul, the name without a trailing particle or title (`@민지님`, `@민수에게`)."""
    yield name
    for cut in range(len(name) - 1, 0, -1):
        if not _is_hangul(name[cut:]):
            return
        yield name[:cut]


def resolve(room_id, names):
    """{name: user_id} for the names that mean an active member of the room; each
    username is looked up once however often it is written."""
    if not names:
        return {}
    keys = {username_key(c) for name in names for c in _candidates(name)}
    found = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        found.update(
            db.session.execute(
                sa.select(User.username_key, User.id)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.room_id == room_id,
                    Membership.active.is_(True),
                    User.username_key.in_(ordered[start : start + _LOOKUP_CHUNK]),
                )
            ).all()
        )
    resolved = {}
    for name in names:
        user_id = next((found[k] for k in map(username_key, _candidates(name)) if k in found), None)
        if user_id is not None:
            resolved[name] = user_id
    return resolved


def clean_confirm(confirm):
    if confirm is None:
        return False
    if not isinstance(confirm, bool):
        raise validation_error(confirm=_l("Expected true or false."))
    return confirm


def active_member_count(room_id):
    return db.session.scalar(
        sa.select(sa.func.count()).where(Membership.room_id == room_id, Membership.active.is_(True))
    )


def require_confirmation(room_id, everyone, confirm):
    """@room / @here in a room of more than CONFIRM_ABOVE members needs `confirm`:
    CONFIRMATION_REQUIRED (with the member count) otherwise, before anything is stored."""
    if everyone is None or confirm:
        return
    member_count = active_member_count(room_id)
    if member_count > CONFIRM_ABOVE:
        raise ChatError(
            "CONFIRMATION_REQUIRED",
            _l("This notifies all %(count)s members of the room; send it again to confirm.", count=member_count),
            member_count=member_count,
        )


def _active_members(room_id, among=None):
    query = sa.select(Membership.user_id).where(Membership.room_id == room_id, Membership.active.is_(True))
    if among is not None:
        query = query.where(Membership.user_id.in_(sorted(among)))
    return set(db.session.scalars(query).all())


def targets(message, parent_sender_id=None):
    """The ids a stored text message alerts, besides its sender: whom it names, the
    online members for @here, the replied-to author (if still a member). For @room,
    None: every member, written by one INSERT ... SELECT instead."""
    if message.mention_all == "room":
        return None
    alerted = set(message.mentions or ())
    if message.mention_all == "here":
        alerted |= realtime.current_presence().online_among(_active_members(message.room_id))
    if parent_sender_id is not None:
        alerted |= _active_members(message.room_id, {parent_sender_id})
    alerted.discard(message.sender_id)
    return alerted


def record(messages_with_parents):
    """Write the mention rows of new messages: [(message, the replied-to author's id or
    None)], in the messages' transaction."""
    rows = []
    for message, parent_sender_id in messages_with_parents:
        alerted = targets(message, parent_sender_id)
        if alerted is None:
            _insert_everyone(message)
            continue
        rows += [
            {"room_id": message.room_id, "message_id": message.id, "user_id": u, "seq": message.seq, "active": True}
            for u in sorted(alerted)
        ]
    if rows:
        db.session.execute(sa.insert(Mention), rows)


def _insert_everyone(message, except_ids=()):
    """@room: one row for every active member but the sender (and `except_ids`), in one
    statement, however large the room."""
    skip = {message.sender_id, *except_ids}
    members = sa.select(
        sa.literal(message.room_id), sa.literal(message.id), Membership.user_id, sa.literal(message.seq), sa.true()
    ).where(Membership.room_id == message.room_id, Membership.active.is_(True), Membership.user_id.not_in(sorted(skip)))
    db.session.execute(sa.insert(Mention).from_select(["room_id", "message_id", "user_id", "seq", "active"], members))


def mentions_of(body):
    """(names, everyone) of a body only where it can mention anyone (the send path's
    shortcut: most messages hold no `@` at all)."""
    if "@" not in body and "＠" not in body:
        return [], None
    return parse(body)


def reresolve(room, message, confirm):
    """An edit changed `message`'s text: resolve its mentions anew. Users it newly
    mentions get a row; users it no longer mentions keep theirs inactive, so mentioning
    them again does not alert twice. Returns (the users to notify, whether any member's
    mention count moved)."""
    names, everyone = mentions_of(message.body)
    require_confirmation(room.id, everyone, confirm)
    resolved = resolve(room.id, names)
    message.mentions = list(dict.fromkeys(resolved.values())) or None
    message.mention_all = everyone
    parent = db.session.get(Message, message.reply_to_id) if message.reply_to_id else None
    alerted = targets(message, parent.sender_id if parent is not None else None)
    if alerted is None:
        alerted = _active_members(room.id) - {message.sender_id}
    existing = dict(
        db.session.execute(sa.select(Mention.user_id, Mention.active).where(Mention.message_id == message.id)).all()
    )
    new = alerted - existing.keys()
    if new:
        db.session.execute(
            sa.insert(Mention),
            [
                {"room_id": room.id, "message_id": message.id, "user_id": u, "seq": message.seq, "active": True}
                for u in sorted(new)
            ],
        )
    moved = bool(new)
    for active, users in ((True, alerted & existing.keys()), (False, existing.keys() - alerted)):
        changing = sorted(u for u in users if existing[u] != active)
        if changing:
            moved = True
            db.session.execute(
                sa.update(Mention)
                .where(Mention.message_id == message.id, Mention.user_id.in_(changing))
                .values(active=active)
            )
    return new, moved


def forget(message):
    """A deleted message mentions nobody any more."""
    db.session.execute(sa.delete(Mention).where(Mention.message_id == message.id))
    message.mentions, message.mention_all = None, None


# Counts.


def effective_notify():
    """A member's setting as SQL over Membership and Room: theirs, else the default of
    the room's type (everything in a direct room, mentions elsewhere)."""
    return sa.func.coalesce(Membership.notify, sa.case((Room.type == "direct", "all"), else_="mentions"))


def default_notify(room_type):
    return "all" if room_type == "direct" else "mentions"


def mention_count_of(user_id):
    """The user's unread mentions in the enclosing query's room (`Room`, with their
    `Membership`), as a correlated subquery: a range count on (room_id, user_id, seq)."""
    return (
        sa.select(sa.func.count(Mention.id))
        .where(
            Mention.room_id == Room.id,
            Mention.user_id == user_id,
            Mention.seq > Membership.last_read_seq,
            Mention.active.is_(True),
        )
        .scalar_subquery()
    )


def mention_count(user_id, room_id, last_read_seq):
    """One member's unread mentions in one room."""
    return db.session.scalar(
        sa.select(sa.func.count(Mention.id)).where(
            Mention.room_id == room_id,
            Mention.user_id == user_id,
            Mention.seq > last_read_seq,
            Mention.active.is_(True),
        )
    )


def mention_counts(room_id):
    """{user_id: unread mentions} for the room's active members who have any."""
    return dict(
        db.session.execute(
            sa.select(Mention.user_id, sa.func.count(Mention.id))
            .join(Membership, sa.and_(Membership.room_id == Mention.room_id, Membership.user_id == Mention.user_id))
            .where(
                Mention.room_id == room_id,
                Mention.active.is_(True),
                Membership.active.is_(True),
                Mention.seq > Membership.last_read_seq,
            )
            .group_by(Mention.user_id)
        ).all()
    )


# Notifications.

_pending = {}  # (app, room_id) -> the lowest seq not yet considered by a round
_pending_lock = threading.Lock()


def _note_pending(room_id, first_seq):
    with _pending_lock:
        key = (current_app._get_current_object(), room_id)
        _pending[key] = min(_pending.get(key, first_seq), first_seq)
    realtime.touch("notification", room_id)


def notify_after_commit(room_id, first_seq):
    """New messages from `first_seq` on were stored in this transaction: once it
    commits, the room's next notification round considers them."""
    realtime.after_commit(partial(_note_pending, room_id, first_seq))


def _take_pending(room_id):
    with _pending_lock:
        return _pending.pop((current_app._get_current_object(), room_id), None)


def notification_deliveries(room_id):
    """One round of a room: each member alerted by the messages stored since the last
    round gets one `notification`, of the newest of them, to every tab of theirs. Who is
    alerted: never the sender; with `all`, by every message; with `mentions`, by those
    that mention them (or reply to them); with `mute`, by none; never by a message their
    read pointer has passed already (read on another device meanwhile)."""
    from_seq = _take_pending(room_id)
    if from_seq is None:
        return []
    newest_first = db.session.scalars(
        sa.select(Message)
        .where(
            Message.room_id == room_id, Message.seq >= from_seq, Message.kind != "system", Message.deleted_at.is_(None)
        )
        .order_by(Message.seq.desc())
        .limit(ROUND_MESSAGES_MAX)
    ).all()
    if not newest_first:
        return []
    by_id = {m.id: m for m in newest_first}
    alerts = {}  # user_id -> (message, mentioned)
    mentioned = db.session.execute(
        sa.select(Mention.user_id, Mention.message_id)
        .join(Membership, sa.and_(Membership.room_id == Mention.room_id, Membership.user_id == Mention.user_id))
        .join(Room, Room.id == Membership.room_id)
        .where(
            Mention.message_id.in_(by_id),
            Mention.active.is_(True),
            Membership.active.is_(True),
            Mention.seq > Membership.last_read_seq,
            effective_notify() != "mute",
        )
    ).all()
    mentions = {(row.user_id, row.message_id) for row in mentioned}
    for row in mentioned:
        message = by_id[row.message_id]
        if row.user_id not in alerts or alerts[row.user_id][0].seq < message.seq:
            alerts[row.user_id] = (message, True)
    everything = db.session.execute(
        sa.select(Membership.user_id, Membership.last_read_seq)
        .join(Room, Room.id == Membership.room_id)
        .where(Membership.room_id == room_id, Membership.active.is_(True), effective_notify() == "all")
    ).all()
    for member in everything:
        newest = next((m for m in newest_first if m.sender_id != member.user_id and m.seq > member.last_read_seq), None)
        if newest is not None:
            alerts[member.user_id] = (newest, (member.user_id, newest.id) in mentions)
    channels = {}
    for user_id, (message, is_mention) in alerts.items():
        channels.setdefault((message.id, is_mention), []).append(realtime.user_channel(user_id))
    return [
        (to, notification_payload(by_id[message_id], is_mention)) for (message_id, is_mention), to in channels.items()
    ]


def notification_payload(message, mentioned):
    return {"room_id": message.room_id, "message": message_payload(message), "mentioned": mentioned}


def notify_edit_after_commit(room, message, user_ids):
    """An edit newly mentions `user_ids`: each who has not muted the room is told once,
    after commit (one event for all of them)."""
    if not user_ids:
        return
    listening = db.session.scalars(
        sa.select(Membership.user_id)
        .join(Room, Room.id == Membership.room_id)
        .where(
            Membership.room_id == room.id,
            Membership.active.is_(True),
            Membership.user_id.in_(sorted(user_ids)),
            effective_notify() != "mute",
        )
    ).all()
    if listening:
        realtime.emit_after_commit(
            "notification",
            notification_payload(message, True),
            to=[realtime.user_channel(u) for u in sorted(listening)],
        )


def clean_notify(notify):
    if notify not in NOTIFY_LEVELS:
        raise validation_error(notify=_l("Expected one of: all, mentions, mute."))
    return notify


def init_app(app):
    realtime.define_rounds(
        app, "notification", "UNREAD_FANOUT_MS", "notification", notification_deliveries, "notifications"
    )
