"""`ChatNamespace`: the /chat socket, a thin adapter over the services.

Every client event is answered with an ack, `{"ok": true, ...}` or the catalogue's
error, whatever the payload; no input can crash the connection.
"""
import functools
import time

from flask import current_app, request
from sqlalchemy.exc import InterfaceError, OperationalError
from flask_socketio import ConnectionRefusedError, Namespace, join_room, leave_room

from .. import realtime
from ..errors import ChatError, ack_error, validation_error
from ..extensions import db
from ..payloads import message_payload
from ..presence import Connection, current_presence
from ..services import accounts, messages, reads, rooms

# How often each process disconnects sockets whose token expired without renewal and
# refreshes its presence heartbeat.
HOUSEKEEPING_SECONDS = 5


def event(handler):
    """Wrap a handler: find the caller, answer with an ack, map errors to codes."""

    @functools.wraps(handler)
    def wrapper(self, data=None, *extra):
        try:
            connection = current_presence().get(request.sid)
            if connection is None:
                raise ChatError("UNAUTHENTICATED")
            if connection.expires_at <= time.time():
                self.disconnect(request.sid)
                raise ChatError("TOKEN_EXPIRED")
            user = accounts.known_user(connection.user_id, connection.username)
            if not isinstance(data, dict) or extra:
                raise validation_error(payload="Expected one JSON object.")
            result = handler(self, connection, user, data)
            return {"ok": True, **(result or {})}
        except ChatError as error:
            return ack_error(error)
        except (OperationalError, InterfaceError):
            # The database is unreachable: nothing was stored, a retry is safe.
            current_app.logger.warning("socket event %s: database unavailable", handler.__name__)
            return ack_error(ChatError("SERVICE_UNAVAILABLE"))
        except Exception:  # a bug must not take the connection down; it is logged
            current_app.logger.exception("socket event %s failed", handler.__name__)
            db.session.rollback()
            return ack_error(ChatError("SERVICE_UNAVAILABLE", "The server could not handle this; retry is safe."))
        finally:
            db.session.remove()

    return wrapper


class ChatNamespace(Namespace):
    def trigger_event(self, event, *args):
        """Unknown events are answered too, rather than left without an ack."""
        if event not in ("connect", "disconnect") and not hasattr(self, f"on_{event}"):
            return ack_error(validation_error(event=f"Unknown event {event!r}."[:100]))
        return super().trigger_event(event, *args)

    def on_connect(self, auth=None):
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            user, claims = accounts.user_for_access_token(token)
        except ChatError as error:
            raise ConnectionRefusedError(error.message, {"code": error.code}) from None
        except (OperationalError, InterfaceError):
            error = ChatError("SERVICE_UNAVAILABLE")
            raise ConnectionRefusedError(error.message, {"code": error.code}) from None
        finally:
            db.session.remove()
        connection = Connection(request.sid, user.id, user.username, float(claims["exp"]))
        join_room(realtime.user_channel(user.id))
        came_online = current_presence().add(connection)
        self._ensure_housekeeping()
        if came_online:
            self._announce_presence(user.id)

    def on_disconnect(self, reason=None):
        connection, went_offline = current_presence().remove(request.sid)
        if connection is not None and went_offline:
            # A server-side disconnect (logout, kick) runs this inside the caller's
            # after-commit hook; a fresh app context gives it a session of its own.
            with current_app.app_context():
                self._announce_presence(connection.user_id)

    @event
    def on_auth(self, connection, user, data):
        _user, claims = accounts.user_for_access_token(data.get("token"))
        if _user.id != user.id:
            raise ChatError("TOKEN_INVALID", "The token belongs to another user.")
        connection.expires_at = float(claims["exp"])
        return {"expires_in": max(0, int(connection.expires_at - time.time()))}

    @event
    def on_open_room(self, connection, user, data):
        room_id = rooms.parse_id(data.get("room_id"))
        rooms.require_member(user, room_id)
        # Join before reading the latest page: a message committed in between is then
        # delivered live rather than missed by both.
        join_room(realtime.room_channel(room_id))
        try:
            return rooms.open_room(user, room_id)
        except Exception:
            leave_room(realtime.room_channel(room_id))
            raise

    @event
    def on_close_room(self, connection, user, data):
        leave_room(realtime.room_channel(rooms.parse_id(data.get("room_id"))))

    @event
    def on_send_message(self, connection, user, data):
        message, _created = messages.send_message(user, data.get("room_id"), data.get("body"), data.get("client_id"))
        return {"message": message_payload(message)}

    @event
    def on_delete_message(self, connection, user, data):
        messages.delete_message(user, data.get("message_id"))

    @event
    def on_mark_read(self, connection, user, data):
        last_read = reads.mark_read(user, data.get("room_id"), data.get("message_id"))
        return {"last_read_message_id": last_read}

    @event
    def on_typing(self, connection, user, data):
        rooms.typing(user, data.get("room_id"), skip_sid=request.sid)

    def _announce_presence(self, user_id):
        """Online counts changed: the user's rooms get fresh member lists."""
        try:
            rooms.announce_presence(user_id)
        finally:
            db.session.remove()

    def _ensure_housekeeping(self):
        app = current_app._get_current_object()
        if app.extensions.get("webchat.housekeeping"):
            return
        app.extensions["webchat.housekeeping"] = True
        self.socketio.start_background_task(self._housekeeping, app)

    def _housekeeping(self, app):
        """Disconnect sockets whose token expired without an `auth` renewal; keep this
        node's presence alive. Runs for the life of the process."""
        while True:
            self.socketio.sleep(HOUSEKEEPING_SECONDS)
            with app.app_context():
                presence = app.extensions["webchat.presence"]
                try:
                    for sid in presence.expired():
                        self.socketio.server.disconnect(sid, namespace=self.namespace)
                    presence.heartbeat()
                except Exception:  # a Redis hiccup must not end the loop
                    app.logger.exception("housekeeping failed; retrying")
