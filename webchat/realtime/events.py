"""Events and cuts that follow a transaction, and the emits themselves.

Services call the `*_after_commit` functions while their transaction is open; the
actions run only after that transaction commits, in the order they were registered, and
a rollback drops them. So nothing is announced that a reload could not find, and
nothing twice.
"""

from dataclasses import dataclass
from functools import partial

import sqlalchemy as sa

from ..extensions import db, socketio
from .channels import NAMESPACE, family_channel, room_channel, user_channel

_PENDING = "webchat.pending_events"


def after_commit(action):
    """Run `action()` once the current transaction commits; a rollback drops it. For side
    effects outside the database (events, removing stored files). It must not raise:
    the commit has already happened."""
    db.session.info.setdefault(_PENDING, []).append(action)


def emit_after_commit(event, data, *, to, skip_sid=None):
    """Send `event` to channel `to` once the current transaction commits."""
    after_commit(_Emit(event, data, to, skip_sid))


def disconnect_user_after_commit(user_id):
    """Disconnect every socket of `user_id` once the current transaction commits."""
    after_commit(partial(disconnect_user, user_id))


def disconnect_family_after_commit(family):
    """Disconnect every socket connected with a token of `family`, once committed."""
    after_commit(partial(_act_on_channel, "disconnect", family_channel(family)))


def leave_room_after_commit(user_id, room_id):
    """Once committed, stop every socket of `user_id` receiving room `room_id`."""
    after_commit(partial(leave_room, user_id, room_id))


def emit_now(event, data, *, to, skip_sid=None):
    """Emit outside any transaction (typing indicators, presence), never for stored data.
    `to` is a channel or a list of channels (each socket gets the event once)."""
    socketio.emit(event, data, to=to, skip_sid=skip_sid, namespace=NAMESPACE)


@dataclass(frozen=True)
class _Emit:
    """One event for `emit_many`; as an after-commit action, it sends itself."""

    event: str
    data: object
    to: object
    skip_sid: object = None

    def __call__(self):
        emit_many([self])


def emit_many(emits):
    """Send several events (`_Emit`s, JSON data) at once, in order: one message through
    the queue for all of them rather than one each. Without a queue each is emitted."""
    manager = socketio.server.manager
    if hasattr(manager, "emit_many"):
        manager.emit_many(NAMESPACE, [(e.event, e.data, e.to, e.skip_sid) for e in emits])
    else:
        for e in emits:
            emit_now(e.event, e.data, to=e.to, skip_sid=e.skip_sid)


def emit_each(event, deliveries):
    """Send `event` to each (channels, data) of `deliveries`, with one queue message."""
    emit_many([_Emit(event, data, channels) for channels, data in deliveries])


def disconnect_user(user_id):
    """Disconnect every socket of `user_id`, on every node."""
    _act_on_channel("disconnect", user_channel(user_id))


def leave_room(user_id, room_id):
    """Take every socket of `user_id`, on every node, out of the room's channel."""
    _act_on_channel("leave", user_channel(user_id), room_channel(room_id))


def _act_on_channel(action, channel, room=None):
    """Cuts find their sockets by the manager's channel membership, which only the server
    sets (at connect), never by a registry a client's events could reach."""
    socketio.server.manager.act_on_channel(NAMESPACE, action, channel, room)


def _flush(session):
    """Run the committed transaction's actions in order; its consecutive emits (a batch
    of posts' messages, say) go out together, as one message through the queue."""
    emits = []
    for action in session.info.pop(_PENDING, []):
        if isinstance(action, _Emit):
            emits.append(action)
            continue
        if emits:
            emit_many(emits)
            emits = []
        action()
    if emits:
        emit_many(emits)


def _discard(session, *_args):
    session.info.pop(_PENDING, None)


def install_hooks():
    """Hook the session so registered actions follow the transaction's outcome."""
    if not sa.event.contains(db.session, "after_commit", _flush):
        sa.event.listen(db.session, "after_commit", _flush)
        sa.event.listen(db.session, "after_soft_rollback", _discard)
