"""`ChatNamespace`: the /chat socket, a thin adapter over the services.

Every client event is answered with an ack, `{"ok": true, ...}` or the catalogue's
error, whatever the payload; no input can crash the connection.
"""

import functools
import time

from flask import current_app, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_socketio import ConnectionRefusedError, Namespace, join_room, leave_room
from sqlalchemy.exc import InterfaceError, OperationalError

from .. import i18n, intake, logs, metrics, realtime
from ..errors import ChatError, ack_error, validation_error
from ..extensions import db
from ..payloads import message_payload
from ..realtime import Connection, current_presence
from ..services import access, accounts, edits, messages, reactions, reads, rooms
from .reconcile import reconcile

# Event names with a meaning of their own in Socket.IO: python-socketio's server runs the
# namespace's connection handlers for a client *event* named "connect" or "disconnect"
# (with the event's argument as `auth`), and its clients and the JavaScript client reserve
# the rest. None of them is ever a client event here.
RESERVED_EVENTS = frozenset(
    {
        "connect",
        "connection",
        "connect_error",
        "disconnect",
        "disconnecting",
        "__disconnect_final",
        "message",
        "json",
        "error",
        "newListener",
        "removeListener",
    }
)


def event(handler):
    """Wrap a handler: find the caller, answer with an ack, map errors to codes."""

    name = handler.__name__.removeprefix("on_")

    def answer(self, data, extra):
        started = time.perf_counter()
        connection = current_presence().get(request.sid)
        ack = None
        try:
            if connection is None:
                raise ChatError("UNAUTHENTICATED")
            if connection.expires_at <= time.time():
                self.disconnect(request.sid)
                raise ChatError("TOKEN_EXPIRED")
            user = accounts.known_user(connection.user_id, connection.username)
            if not isinstance(data, dict) or extra:
                raise validation_error(payload=_l("Expected one JSON object."))
            problem = intake.problem(data)
            if problem is not None:
                raise validation_error(payload=problem)
            result = handler(self, connection, user, data)
            ack = {"ok": True, **(result or {})}
        except ChatError as error:
            ack = _ack_error(connection, error)
        except (OperationalError, InterfaceError):
            # The database is unreachable: nothing was stored, a retry is safe.
            current_app.logger.warning("socket event %s: database unavailable", handler.__name__)
            ack = _ack_error(connection, ChatError("SERVICE_UNAVAILABLE"))
        except Exception:  # a bug must not take the connection down; it is logged
            current_app.logger.exception("socket event %s failed", handler.__name__)
            db.session.rollback()
            ack = _ack_error(
                connection, ChatError("SERVICE_UNAVAILABLE", _l("The server could not handle this; retry is safe."))
            )
        finally:
            db.session.remove()
        # Receive to ack, for the send latency histogram and the event's log line.
        seconds, code = time.perf_counter() - started, None if ack["ok"] else ack["error"]["code"]
        metrics.socket_event_done(name, code, seconds)
        logs.socket_event(name, connection.user_id if connection is not None else None, code, seconds)
        return ack

    @functools.wraps(handler)
    def wrapper(self, data=None, *extra):
        with realtime.event_running():  # a draining node waits for it (realtime.lifecycle)
            return answer(self, data, extra)

    wrapper.client_event = True
    return wrapper


def _ack_error(connection, error):
    """The failed ack, its message in the socket's language (settled at connect)."""
    with force_locale(connection.locale if connection is not None else i18n.locale_for()):
        return ack_error(error)


class ChatNamespace(Namespace):
    def trigger_event(self, event, *args):
        """The one door from a client to a handler: only `@event` handlers are reachable by
        name. The connection handlers run only for the server's own lifecycle calls, told
        apart from a client's event of the same name by the manager's state; any other
        name (reserved, unknown, not a string) is answered VALIDATION_ERROR."""
        sid = args[0] if args else None
        manager = self.socketio.server.manager
        if event == "connect" and manager.is_pre_connected(sid, self.namespace):
            return super().trigger_event(event, *args)
        if event == "disconnect" and sid in manager.pending_disconnect.get(self.namespace, ()):
            return super().trigger_event(event, *args)
        if isinstance(event, str) and getattr(getattr(self, f"on_{event}", None), "client_event", False):
            return super().trigger_event(event, *args)
        # Outside any request context (python-socketio calls this before Flask-SocketIO
        # builds one), so these reasons are not translated: only a faulty client sees them.
        if event == intake.TOO_DEEP_EVENT:
            return ack_error(validation_error(payload=f"Nested deeper than {intake.MAX_DEPTH} levels."))
        kind = "reserved" if event in RESERVED_EVENTS else "unknown"
        return ack_error(validation_error(event=f"The event name {event!r} is {kind}."[:100]))

    def on_connect(self, auth=None):
        if realtime.draining():
            error = ChatError("SERVICE_UNAVAILABLE")
            raise ConnectionRefusedError(str(error.message), {"code": error.code})
        token = auth.get("token") if isinstance(auth, dict) else None
        user, claims = self._admit(token)
        connection = Connection(
            request.sid,
            user.id,
            user.username,
            float(claims["exp"]),
            claims["gen"],
            claims.get("fam"),
            i18n.locale_for(user),
        )
        join_room(realtime.user_channel(user.id))
        if connection.family is not None:
            join_room(realtime.family_channel(connection.family))
        sockets = current_presence().add(connection)
        try:
            # A logout committed after the first check cut this user's channel before the
            # socket was in it: check again now that every cut reaches it.
            self._admit(token)
            self._refuse_if_too_many(sockets)
        except ConnectionRefusedError:
            current_presence().remove(request.sid)
            raise
        self._ensure_housekeeping()
        if sockets == 1:
            self._presence_changed(user.id)

    @staticmethod
    def _refuse_if_too_many(sockets):
        """Refuse a socket past MAX_SOCKETS_PER_USER (counted on every node, this one
        included): RATE_LIMITED, so the page tries again later, when a tab has closed.
        Counted after registering, so two at once cannot both slip under the cap. Off,
        like every limit, with RATELIMIT_ENABLED=false (load tests hold many a user)."""
        config = current_app.config
        cap = config["MAX_SOCKETS_PER_USER"] if config["RATELIMIT_ENABLED"] else 0
        if 0 < cap < sockets:
            error = ChatError("RATE_LIMITED", _l("Too many open connections; close a tab or window you do not use."))
            metrics.RATE_LIMITED.labels("MAX_SOCKETS_PER_USER").inc()
            raise ConnectionRefusedError(str(error.message), {"code": error.code})

    @staticmethod
    def _admit(token):
        """The token's user and claims, read in a session of its own, or a refusal."""
        try:
            return accounts.user_for_access_token(token)
        except ChatError as error:
            raise ConnectionRefusedError(str(error.message), {"code": error.code}) from None
        except (OperationalError, InterfaceError):
            error = ChatError("SERVICE_UNAVAILABLE")
            raise ConnectionRefusedError(str(error.message), {"code": error.code}) from None
        finally:
            db.session.remove()

    def on_disconnect(self, reason=None):
        connection, went_offline = current_presence().remove(request.sid)
        if connection is not None and went_offline:
            # A server-side disconnect (logout, kick) runs this inside the caller's
            # after-commit hook; a fresh app context gives it a session of its own.
            with current_app.app_context():
                self._presence_changed(connection.user_id)

    @event
    def on_auth(self, connection, user, data):
        _user, claims = accounts.user_for_access_token(data.get("token"))
        if _user.id != user.id:
            raise ChatError("TOKEN_INVALID", _l("The token belongs to another user."))
        if claims.get("fam") != connection.family:
            # The cuts find this socket by the family of the token it holds now.
            if connection.family is not None:
                leave_room(realtime.family_channel(connection.family))
            if claims.get("fam") is not None:
                join_room(realtime.family_channel(claims["fam"]))
        connection.expires_at = float(claims["exp"])
        connection.generation, connection.family = claims["gen"], claims.get("fam")
        return {"expires_in": max(0, int(connection.expires_at - time.time()))}

    @event
    def on_open_room(self, connection, user, data):
        room_id = access.check_member(user, data.get("room_id"))
        # Join before reading the latest page: a message committed in between is then
        # delivered live rather than missed by both. `open_room` checks the membership
        # again, read afresh: a kick committed before the join (whose cut could not see
        # this socket yet) is refused there.
        join_room(realtime.room_channel(room_id))
        try:
            return rooms.open_room(user, room_id)
        except Exception:
            leave_room(realtime.room_channel(room_id))
            raise

    @event
    def on_close_room(self, connection, user, data):
        leave_room(realtime.room_channel(access.parse_id(data.get("room_id"))))

    @event
    def on_send_message(self, connection, user, data):
        message, _created = messages.send_message(
            user,
            data.get("room_id"),
            data.get("body"),
            data.get("client_id"),
            reply_to=data.get("reply_to"),
            confirm=data.get("confirm"),
        )
        return {"message": message_payload(message)}

    @event
    def on_edit_message(self, connection, user, data):
        message = edits.edit_message(user, data.get("message_id"), data.get("body"), confirm=data.get("confirm"))
        return {"message": message_payload(message)}

    @event
    def on_react(self, connection, user, data):
        add = data.get("add", True)
        return {"message": message_payload(reactions.react(user, data.get("message_id"), data.get("emoji"), add=add))}

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

    def _presence_changed(self, user_id):
        """Online counts changed: the user's rooms get fresh member lists."""
        try:
            rooms.presence_changed(user_id)
        finally:
            db.session.remove()

    def _ensure_housekeeping(self):
        realtime.start_housekeeping(reconcile)
