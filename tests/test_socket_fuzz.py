"""Property-based: every /chat event, fed arbitrary JSON, is answered with an ack that
carries a contract code; the connection stays up, the server logs no traceback, and a
refused event writes nothing. The events that change messages (edit_message, react,
send_message's reply_to) are also fed payloads aimed at real messages of every kind, and
a table pins the exact code for each kind of malformed payload."""

import io
import logging

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webchat.chat.namespace import RESERVED_EVENTS
from webchat.errors import ERRORS
from webchat.extensions import db, socketio
from webchat.models import Message
from webchat.realtime import current_presence
from webchat.services import files, messages, rooms

from .support.stored import stored_state
from .support.surface import client_events

NS = "/chat"
UNKNOWN = "no_such_event"
# The client events, an unknown one, and every name Socket.IO reserves (issue 16: an
# event named "disconnect" used to run the disconnect handler).
EVENTS = [
    "auth",
    "open_room",
    "close_room",
    "send_message",
    "delete_message",
    "edit_message",
    "react",
    "mark_read",
    "typing",
    UNKNOWN,
    *sorted(RESERVED_EVENTS),
]
KEYS = ["room_id", "body", "client_id", "message_id", "reply_to", "emoji", "add", "token", "username", "x"]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=4000, max_size=4100),
    # Lone surrogates: valid JSON escapes, no characters (issue 24: a send answered
    # SERVICE_UNAVAILABLE, "retry is safe", for a retry that could never succeed).
    st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
# Payloads shaped like the real ones but with arbitrary values, and arbitrary JSON.
payloads = st.one_of(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4), json_values)


def test_every_event_is_fuzzed():
    """A new event of the namespace fails here until it is added to EVENTS."""
    assert set(EVENTS) - {UNKNOWN} - RESERVED_EVENTS == client_events()


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
    before = stored_state()
    ack = sock.emit(event, payload, namespace=NS, callback=True)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        assert ack["error"]["code"] in ERRORS and ack["error"]["code"] != "SERVICE_UNAVAILABLE", ack
        assert stored_state() == before, (event, payload)
    assert sock.is_connected(NS)
    if event in RESERVED_EVENTS:
        assert ack["error"]["code"] == "VALIDATION_ERROR", ack
    # Whatever it sent, the socket is still registered as its user's, in its user's channel.
    sid = socketio.server.manager.sid_from_eio_sid(sock.eio_sid, NS)
    assert current_presence().get(sid).user_id == room["owner_id"]
    assert f"user:{room['owner_id']}" in socketio.server.manager.get_rooms(sid, NS)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


# The messages of `world`, by what they are to alice, whose socket sends.
MINE, BOBS, FILE = "mine", "bobs", "file"
GONE, NOTICE, ELSEWHERE = "gone", "notice", "elsewhere"
TARGETS = [MINE, BOBS, FILE, GONE, NOTICE, ELSEWHERE]


@pytest.fixture
def world(app, alice, bob, make_user, connect):
    """Alice's room, which bob is in, with one message of each kind; carol's room, which
    alice is not in; and alice's socket. Ids only, so that no test reads a stale session."""
    carol = make_user("carol")
    room = rooms.create_room(alice, "Changes")["id"]
    rooms.join_room(bob, room)
    other = rooms.create_room(carol, "Elsewhere")["id"]
    gone = messages.send_message(alice, room, "soon gone")[0].id
    messages.delete_message(alice, gone)
    ids = {
        "room": room,
        "alice": alice.id,
        MINE: messages.send_message(alice, room, "mine")[0].id,
        BOBS: messages.send_message(bob, room, "bob's")[0].id,
        FILE: files.upload(alice, room, io.BytesIO(b"hello"), "a.txt")[0].id,
        GONE: gone,
        NOTICE: db.session.scalar(sa.select(Message.id).where(Message.room_id == room, Message.kind == "system")),
        ELSEWHERE: messages.send_message(carol, other, "not for alice")[0].id,
    }
    db.session.commit()
    return ids, connect(alice)


def as_id(value):
    """The id a well-formed payload names: an integer, or a string of ASCII digits."""
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        return int(value)
    return None


def change_events(world):
    """(event, payload) for edit_message, react and send_message with reply_to: every key
    may be missing, ids name `world`'s messages or are junk, and the values are drawn
    from both the well-formed and the malformed."""
    real = st.sampled_from([world[t] for t in TARGETS])
    ids = st.one_of(
        real,
        real.map(str),
        real.map(lambda i: [i]),
        real.map(lambda i: {"id": i}),
        real.map(float),
        st.sampled_from([0, -1, 2**31, 2**31 - 1, 2**63, -(2**63), True, False, "", " 1", "1_0", "１"]),
        st.integers(min_value=-(2**70), max_value=2**70),
        json_values,
    )
    emoji = st.one_of(
        st.sampled_from(["👍", "❤", "❤️", "👍🏽", "👨‍👩‍👧", "🇰🇷", "©"]),
        st.sampled_from(["a", "smile", ":+1:", "👍👍", "👍🎉", "🏻", "\u200d", "", " 👍", "👍" * 40, "x" * 5000]),
        st.text(max_size=8),
        json_values,
    )
    add = st.one_of(st.booleans(), st.sampled_from(["true", "false", "", 0, 1, None, [], {}]), json_values)
    body = st.one_of(st.text(max_size=50), st.sampled_from(["", " \n\t\u3000", "x" * 4001, "y" * 100_000]), json_values)
    return st.one_of(
        st.tuples(
            st.just("edit_message"),
            st.fixed_dictionaries({}, optional={"message_id": ids, "body": body, "x": json_values}),
        ),
        st.tuples(
            st.just("react"),
            st.fixed_dictionaries({}, optional={"message_id": ids, "emoji": emoji, "add": add}),
        ),
        st.tuples(
            st.just("send_message"),
            st.fixed_dictionaries(
                {"room_id": st.just(world["room"]), "body": st.just("a reply")}, optional={"reply_to": ids}
            ),
        ),
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_change_events_answer_every_payload_and_accept_only_well_formed_ones(app, world, caplog, data):
    ids, sock = world
    event, payload = data.draw(change_events(ids), label="event, payload")
    caplog.set_level(logging.ERROR)
    caplog.clear()
    before = stored_state()
    ack = sock.emit(event, payload, namespace=NS, callback=True)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    assert sock.is_connected(NS)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    if not ack["ok"]:
        assert ack["error"]["code"] in ERRORS and ack["error"]["code"] != "SERVICE_UNAVAILABLE", ack
        assert stored_state() == before
        return
    # Accepted: then the payload was well formed, and aimed at a message that takes it.
    message = ack["message"]
    if event == "edit_message":
        target = stored_message(as_id(payload["message_id"]))
        assert target.room_id == ids["room"] and target.sender_id == ids["alice"]
        assert target.kind == "text" and target.deleted_at is None
        assert message["body"] == payload["body"].strip() and 0 < len(message["body"]) <= 4000
    elif event == "react":
        target = stored_message(as_id(payload["message_id"]))
        assert target.room_id == ids["room"] and target.kind != "system" and target.deleted_at is None
        assert isinstance(payload["emoji"], str) and type(payload.get("add", True)) is bool
    elif payload.get("reply_to") is None:
        assert message["reply_to"] is None
    else:
        target = stored_message(as_id(payload["reply_to"]))
        assert target.room_id == ids["room"] and target.deleted_at is None
        assert message["reply_to"]["id"] == as_id(payload["reply_to"])


def stored_message(message_id):
    row = db.session.execute(
        sa.select(Message.room_id, Message.sender_id, Message.kind, Message.deleted_at).where(Message.id == message_id)
    ).one()
    db.session.commit()
    return row


HUGE = "x" * 1_000_000
# (event, payload, code, the field a VALIDATION_ERROR names). A payload's strings that
# name a message of `world` stand for its id. An edit of another member's message, and
# edits and reactions from outside the room, are the authorization matrix's rows
# (tests/test_authz_matrix.py).
MALFORMED = [
    ("edit_message", {"message_id": MINE}, "VALIDATION_ERROR", "body"),
    ("edit_message", {"message_id": MINE, "body": None}, "VALIDATION_ERROR", "body"),
    ("edit_message", {"message_id": MINE, "body": 7}, "VALIDATION_ERROR", "body"),
    ("edit_message", {"message_id": MINE, "body": True}, "VALIDATION_ERROR", "body"),
    ("edit_message", {"message_id": MINE, "body": ["a", ["b", {"c": None}]]}, "VALIDATION_ERROR", "body"),
    ("edit_message", {"message_id": MINE, "body": {"body": "nested"}}, "VALIDATION_ERROR", "body"),
    ("edit_message", {"message_id": MINE, "body": ""}, "MESSAGE_EMPTY", None),
    ("edit_message", {"message_id": MINE, "body": " \n\t\u3000 "}, "MESSAGE_EMPTY", None),
    ("edit_message", {"message_id": MINE, "body": "x" * 4001}, "MESSAGE_TOO_LONG", None),
    ("edit_message", {"message_id": MINE, "body": HUGE}, "MESSAGE_TOO_LONG", None),
    ("edit_message", {"body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": None, "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": True, "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": False, "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": -1, "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": 0, "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": 2**31, "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": 2**70, "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": 1.0, "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": "1_0", "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": [MINE], "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": {"id": MINE}, "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": GONE, "body": "edited"}, "MESSAGE_NOT_FOUND", None),
    ("edit_message", {"message_id": NOTICE, "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": FILE, "body": "edited"}, "VALIDATION_ERROR", "message_id"),
    ("edit_message", {"message_id": 999_999, "body": "edited"}, "MESSAGE_NOT_FOUND", None),
    ("react", {"message_id": MINE}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": None}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": "smile"}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": ":+1:"}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": "👍👍"}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": "👍🎉"}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": "🏻"}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": ""}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": HUGE}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": 128077}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": ["👍"]}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": {"emoji": "👍", "add": True}}, "VALIDATION_ERROR", "emoji"),
    ("react", {"message_id": MINE, "emoji": "👍", "add": "true"}, "VALIDATION_ERROR", "add"),
    ("react", {"message_id": MINE, "emoji": "👍", "add": "false"}, "VALIDATION_ERROR", "add"),
    ("react", {"message_id": MINE, "emoji": "👍", "add": 1}, "VALIDATION_ERROR", "add"),
    ("react", {"message_id": MINE, "emoji": "👍", "add": 0}, "VALIDATION_ERROR", "add"),
    ("react", {"message_id": MINE, "emoji": "👍", "add": None}, "VALIDATION_ERROR", "add"),
    ("react", {"message_id": MINE, "emoji": "👍", "add": [True]}, "VALIDATION_ERROR", "add"),
    ("react", {"emoji": "👍"}, "VALIDATION_ERROR", "message_id"),
    ("react", {"message_id": True, "emoji": "👍"}, "VALIDATION_ERROR", "message_id"),
    ("react", {"message_id": -5, "emoji": "👍"}, "VALIDATION_ERROR", "message_id"),
    ("react", {"message_id": 2**63, "emoji": "👍"}, "VALIDATION_ERROR", "message_id"),
    ("react", {"message_id": "x", "emoji": "👍"}, "VALIDATION_ERROR", "message_id"),
    ("react", {"message_id": GONE, "emoji": "👍"}, "VALIDATION_ERROR", "message_id"),
    ("react", {"message_id": NOTICE, "emoji": "👍"}, "VALIDATION_ERROR", "message_id"),
    ("react", {"message_id": GONE, "emoji": "👍", "add": False}, "VALIDATION_ERROR", "message_id"),
    ("send_message", {"room_id": "room", "body": "re", "reply_to": "x"}, "VALIDATION_ERROR", "reply_to"),
    ("send_message", {"room_id": "room", "body": "re", "reply_to": True}, "VALIDATION_ERROR", "reply_to"),
    ("send_message", {"room_id": "room", "body": "re", "reply_to": 1.0}, "VALIDATION_ERROR", "reply_to"),
    ("send_message", {"room_id": "room", "body": "re", "reply_to": -1}, "VALIDATION_ERROR", "reply_to"),
    ("send_message", {"room_id": "room", "body": "re", "reply_to": 0}, "VALIDATION_ERROR", "reply_to"),
    ("send_message", {"room_id": "room", "body": "re", "reply_to": 2**40}, "VALIDATION_ERROR", "reply_to"),
    ("send_message", {"room_id": "room", "body": "re", "reply_to": [MINE]}, "VALIDATION_ERROR", "reply_to"),
    ("send_message", {"room_id": "room", "body": "re", "reply_to": {"id": MINE}}, "VALIDATION_ERROR", "reply_to"),
    ("send_message", {"room_id": "room", "body": "re", "reply_to": ELSEWHERE}, "VALIDATION_ERROR", "reply_to"),
    ("send_message", {"room_id": "room", "body": "re", "reply_to": GONE}, "VALIDATION_ERROR", "reply_to"),
    ("send_message", {"room_id": "room", "body": "re", "reply_to": 999_999}, "VALIDATION_ERROR", "reply_to"),
    ("send_message", {"room_id": "room", "body": "", "reply_to": MINE}, "MESSAGE_EMPTY", None),
]


def aimed(value, ids):
    """The payload with each name of a `world` message (or "room") replaced by its id."""
    if isinstance(value, dict):
        return {key: aimed(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [aimed(item, ids) for item in value]
    return ids.get(value, value) if isinstance(value, str) else value


def row_id(row):
    event, payload, *_expected = row
    return event + ":" + ",".join(f"{key}={str(value)[:12]}" for key, value in payload.items())


@pytest.mark.parametrize("event, payload, code, field", MALFORMED, ids=[row_id(row) for row in MALFORMED])
def test_malformed_change_payloads(app, world, caplog, event, payload, code, field):
    ids, sock = world
    caplog.set_level(logging.ERROR)
    before = stored_state()
    ack = sock.emit(event, aimed(payload, ids), namespace=NS, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == code, ack
    if field is not None:
        assert list(ack["error"]["fields"]) == [field], ack
    assert stored_state() == before
    assert sock.is_connected(NS) and not caplog.records
