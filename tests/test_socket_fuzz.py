"""Property-based: every /chat event, fed arbitrary JSON, is answered with an ack that
carries a contract code; the connection stays up and the server logs no traceback."""

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webchat.chat.namespace import RESERVED_EVENTS
from webchat.errors import ERRORS
from webchat.extensions import socketio
from webchat.realtime import current_presence
from webchat.services import rooms

NS = "/chat"
# The client events, an unknown one, and every name Socket.IO reserves (issue 16: an
# event named "disconnect" used to run the disconnect handler).
EVENTS = [
    "auth",
    "open_room",
    "close_room",
    "send_message",
    "delete_message",
    "mark_read",
    "typing",
    "no_such_event",
    *sorted(RESERVED_EVENTS),
]
KEYS = ["room_id", "body", "client_id", "message_id", "token", "username", "x"]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=4000, max_size=4100),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
# Payloads shaped like the real ones but with arbitrary values, and arbitrary JSON.
payloads = st.one_of(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4), json_values)


@pytest.fixture
def room_and_socket(app, alice, connect):
    room = rooms.create_room(alice, "General")
    return room, connect(alice)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=st.sampled_from(EVENTS), payload=payloads)
def test_every_event_answers_any_json(app, room_and_socket, caplog, event, payload):
    room, sock = room_and_socket
    caplog.set_level(logging.ERROR)
    caplog.clear()
    ack = sock.emit(event, payload, namespace=NS, callback=True)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        assert ack["error"]["code"] in ERRORS and ack["error"]["code"] != "SERVICE_UNAVAILABLE", ack
    assert sock.is_connected(NS)
    if event in RESERVED_EVENTS:
        assert ack["error"]["code"] == "VALIDATION_ERROR", ack
    # Whatever it sent, the socket is still registered as its user's, in its user's channel.
    sid = socketio.server.manager.sid_from_eio_sid(sock.eio_sid, NS)
    assert current_presence().get(sid).user_id == room["owner_id"]
    assert f"user:{room['owner_id']}" in socketio.server.manager.get_rooms(sid, NS)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
