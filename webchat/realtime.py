"""The one place that emits Socket.IO events from the server.

Services call the `queue*` functions while their transaction is open; the actions run
only after that transaction commits, in the order they were queued, and a rollback drops
them. So nothing is announced that a reload could not find, and nothing twice.
"""
import threading
from dataclasses import dataclass
from functools import partial

import sqlalchemy as sa

from .extensions import db, socketio

NAMESPACE = "/chat"
_PENDING = "webchat.pending_events"


def room_channel(room_id):
    """Sockets that opened the room."""
    return f"room:{room_id}"


def user_channel(user_id):
    """Every socket of one user: all their tabs and devices."""
    return f"user:{user_id}"


def family_channel(family):
    """Every socket connected with an access token of one login's refresh family."""
    return f"family:{family}"


def parse_channel(channel):
    """("room" | "user", id) for a room's or a user's channel, else (None, None)."""
    kind, _, ident = channel.partition(":") if isinstance(channel, str) else ("", "", "")
    if kind in ("room", "user") and ident.isdigit():
        return kind, int(ident)
    return None, None


def after_commit(action):
    """Run `action()` once the current transaction commits; a rollback drops it. For side
    effects outside the database (events, removing stored files). It must not raise:
    the commit has already happened."""
    db.session.info.setdefault(_PENDING, []).append(action)


def queue(event, data, *, to, skip_sid=None):
    """Send `event` to channel `to` once the current transaction commits."""
    after_commit(_Emit(event, data, to, skip_sid))


def queue_disconnect_user(user_id):
    """Disconnect every socket of `user_id` once the current transaction commits."""
    after_commit(partial(disconnect_user, user_id))


def queue_disconnect_family(family):
    """Disconnect every socket connected with a token of `family`, once committed."""
    after_commit(partial(_act_on_channel, "disconnect", family_channel(family)))


def queue_leave_room(user_id, room_id):
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


class Rounds:
    """Coalesced rounds of events per key (a room), sent by one background task of this
    process: `touch(key)` after a change, and `send(key)` runs for it soon after.

    A key touched while the task rests waits for the next round; a quiet key goes at
    once. So a busy key is sent at most once per `interval`, however many changes arrive
    meanwhile. `send` reads the state it announces when it runs, so a round never undoes
    a later one. One failed round is logged and the task goes on.
    """

    def __init__(self, app, interval, send, what):
        self.app, self.interval, self._send, self.what = app, interval, send, what
        self.dirty = set()
        self.lock = threading.Lock()
        self.wake = None
        self.task = None

    def touch(self, key):
        with self.lock:
            self.dirty.add(key)
            if self.task is None:
                self.wake = socketio.server.eio.create_event()
                self.task = socketio.start_background_task(self._run)
        self.wake.set()

    def _run(self):
        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                keys, self.dirty = self.dirty, set()
            for key in sorted(keys):
                self.send(key)
            socketio.sleep(self.interval)

    def send(self, key):
        """One round for `key`, now, in an app context of its own."""
        with self.app.app_context():
            try:
                self._send(key)
            except Exception:  # noqa: BLE001 - one bad round must not end the task
                self.app.logger.exception("%s of %s were not sent", self.what, key)
            finally:
                db.session.remove()


def rounds_for(app, setting, send, what):
    """`Rounds` of `send` every `setting` milliseconds, or None when it is 0 (the events
    then go with each change: the Socket.IO test client wants them in commit order)."""
    interval_ms = app.config.get(setting) or 0
    return Rounds(app, interval_ms / 1000, send, what) if interval_ms > 0 else None


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


def init_app(app):
    """Hook the session so queued actions follow the transaction's outcome."""
    if not sa.event.contains(db.session, "after_commit", _flush):
        sa.event.listen(db.session, "after_commit", _flush)
        sa.event.listen(db.session, "after_soft_rollback", _discard)
