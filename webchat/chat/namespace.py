"""`ChatNamespace`: the socket adapter over the services (see docs/protocol.md)."""
from flask_socketio import ConnectionRefusedError, Namespace, join_room

from .. import realtime
from ..errors import ChatError
from ..services import accounts


class ChatNamespace(Namespace):
    def on_connect(self, auth=None):
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            user, _claims = accounts.user_for_access_token(token)
        except ChatError as error:
            raise ConnectionRefusedError({"code": error.code, "message": error.message}) from None
        join_room(realtime.user_channel(user.id))
