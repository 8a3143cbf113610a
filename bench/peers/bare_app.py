"""The ceiling of the stack: Flask-SocketIO broadcasting, with no auth and no database.

Same namespace and event names as webchat's `/chat` socket, so the same load generator
drives both: `open_room {room_id}` joins a room, `send_message {room_id, body, client_id}`
acks `{ok, message}` and broadcasts `new_message {message}` to the room. A per-room
counter gives each message its `seq`, as webchat does, so deliveries are checked alike.

Served by gunicorn (`bench/run.py` starts it): ASYNC_MODE=eventlet under the eventlet
worker, ASYNC_MODE=gevent under geventwebsocket's worker (Flask-SocketIO would otherwise
pick eventlet whenever it is installed).
"""

import itertools
import json
import os
import time
from collections import defaultdict

from flask import Flask, jsonify
from flask_socketio import Namespace, SocketIO, join_room, leave_room

ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")

app = Flask(__name__)
socketio = SocketIO(
    app, async_mode=ASYNC_MODE, cors_allowed_origins="*", json=json, logger=False, engineio_logger=False
)

if os.environ.get("WEBSOCKET_COMPRESSION", "false").lower() != "true":
    # As webchat is configured (WEBSOCKET_COMPRESSION): decline permessage-deflate, which
    # eventlet would otherwise apply to every recipient's copy of a broadcast.
    inner = app.wsgi_app

    def without_websocket_compression(environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return inner(environ, start_response)

    app.wsgi_app = without_websocket_compression

_seqs = defaultdict(itertools.count)
_ids = itertools.count(1)


@app.get("/healthz")
def healthz():
    return jsonify(status="ok", async_mode=socketio.async_mode)


class Chat(Namespace):
    def on_connect(self, auth=None):
        pass

    def on_open_room(self, data):
        join_room(f"room:{data['room_id']}")
        return {"ok": True, "room": {"id": data["room_id"]}, "messages": [], "has_more": False}

    def on_close_room(self, data):
        leave_room(f"room:{data['room_id']}")
        return {"ok": True}

    def on_send_message(self, data):
        room_id = data["room_id"]
        message = {
            "id": next(_ids),
            "room_id": room_id,
            "seq": next(_seqs[room_id]) + 1,
            "sender": None,
            "kind": "text",
            "body": data["body"],
            "client_id": data.get("client_id"),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "deleted": False,
            "file": None,
            "event": None,
        }
        socketio.emit("new_message", {"message": message}, to=f"room:{room_id}", namespace="/chat")
        return {"ok": True, "message": message}


socketio.on_namespace(Chat("/chat"))
