"""The one place that emits Socket.IO events from the server.

Services call `queue(...)` while their transaction is open; the events leave only after
that transaction commits, in the order they were queued, and a rollback drops them. So
nothing is announced that a reload could not find, and nothing is announced twice.
"""
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


def queue(event, data, *, to, skip_sid=None):
    """Send `event` to channel `to` once the current transaction commits."""
    db.session.info.setdefault(_PENDING, []).append(("emit", event, data, to, skip_sid))


def queue_disconnect_user(user_id):
    """Disconnect every socket of `user_id` once the current transaction commits."""
    db.session.info.setdefault(_PENDING, []).append(("disconnect", None, None, user_id, None))


def emit_now(event, data, *, to, skip_sid=None):
    """Emit outside any transaction (typing indicators, presence), never for stored data."""
    socketio.emit(event, data, to=to, skip_sid=skip_sid, namespace=NAMESPACE)


def disconnect_user(user_id):
    """Disconnect this process's sockets of `user_id`."""
    server = socketio.server
    if server is None:
        return
    channel = user_channel(user_id)
    for sid, _eio_sid in list(server.manager.get_participants(NAMESPACE, channel)):
        server.disconnect(sid, namespace=NAMESPACE)


def _flush(session):
    for action, event, data, to, skip_sid in session.info.pop(_PENDING, []):
        if action == "emit":
            emit_now(event, data, to=to, skip_sid=skip_sid)
        else:
            disconnect_user(to)


def _discard(session, *_args):
    session.info.pop(_PENDING, None)


def init_app(app):
    """Hook the session so queued events follow the transaction's outcome."""
    if not sa.event.contains(db.session, "after_commit", _flush):
        sa.event.listen(db.session, "after_commit", _flush)
        sa.event.listen(db.session, "after_soft_rollback", _discard)
