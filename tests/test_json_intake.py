"""JSON no handler should see (issue 24): a lone surrogate, a valid JSON escape ("\\ud800")
that is no character, gave a 500 on six endpoints and a socket "retry is safe" that could
never succeed; a document nested 100,000 deep gave a 500. Every JSON endpoint, every form
posted as JSON and every socket event refuse both with VALIDATION_ERROR and store nothing."""

import inspect
import json

import pytest
import sqlalchemy as sa

from webchat import intake
from webchat.api.openapi import PATHS
from webchat.chat.namespace import ChatNamespace
from webchat.extensions import db, socketio
from webchat.models import Membership, Room, User
from webchat.services import messages, rooms

from .support.accounts import bearer, login
from .support.stored import stored_state

NS = "/chat"
LONE = "\ud800"
# Every field any endpoint or event reads, each holding a lone surrogate: the intake
# refuses the document whichever field an endpoint reads (a key can hold one too).
FIELDS = ("username", "password", "name", "locale", "notify", "body", "emoji", "client_id", "token", "x")
SURROGATES = {
    **dict.fromkeys(FIELDS, LONE),
    "usernames": ["bob", LONE],
    "room_id": "1\udfff",
    "message_id": "\udc00",
    "\udbff": 1,
}


def nested(depth, leaf="[]"):
    """A `name` nested in lists so that the document is `depth` levels deep (the object
    itself is the first)."""
    return '{"name": ' + "[" * (depth - 2) + leaf + "]" * (depth - 2) + "}"


# (what, the document's JSON text, the field the refusal names)
BAD_DOCUMENTS = [
    ("lone surrogates", json.dumps(SURROGATES), "body"),  # json.dumps writes them as \u escapes
    ("only a lone surrogate key", '{"\\udc00": "x"}', "body"),
    (f"{intake.MAX_DEPTH + 1} deep", nested(intake.MAX_DEPTH + 1), "body"),
    ("100,000 deep", nested(100_000), "body"),
]

# The JSON API's endpoints with a JSON body, as the OpenAPI document names them.
JSON_ENDPOINTS = sorted(
    (method.upper(), "/api/v1" + path)
    for path, operations in PATHS.items()
    for method, op in operations.items()
    if "application/json" in op.get("requestBody", {}).get("content", {})
)
# The pages' forms, which Flask-WTF also reads from a JSON body.
FORMS = [("POST", "/auth/login"), ("POST", "/auth/signup"), ("POST", "/rooms")]


@pytest.fixture
def scene(alice, bob):
    room = rooms.create_room(alice, "General")["id"]
    rooms.join_room(bob, room)
    message = messages.send_message(alice, room, "hello")[0].id
    return {"room_id": room, "message_id": message, "user_id": bob.id}


def snapshot():
    counts = {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (User, Membership)}
    names = db.session.scalars(sa.select(Room.name).order_by(Room.id)).all()
    return {**stored_state(), **counts, "names": names}


def test_every_endpoint_that_reads_json_is_in_the_table(app):
    """An endpoint reading a JSON body but missing from the OpenAPI document would be
    missed by the table below."""
    reads_json = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.rule.startswith("/api/") and "json_body()" in inspect.getsource(view):
            converted = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            reads_json |= {(m, converted) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert reads_json == set(JSON_ENDPOINTS)


@pytest.mark.parametrize("method, path", JSON_ENDPOINTS + FORMS, ids=[f"{m} {p}" for m, p in JSON_ENDPOINTS + FORMS])
def test_every_json_body_refuses_what_is_not_text_or_too_deep(app, client, alice, scene, method, path):
    if path.startswith("/api/"):
        headers = bearer(alice)
    else:
        headers = {"Accept": "application/json"}  # the page's error, as JSON, to read the code
        if path == "/rooms":
            login(client, alice)
    url = path.format(**scene)
    for what, document, field in BAD_DOCUMENTS:
        before = snapshot()
        response = client.open(url, method=method, data=document, content_type="application/json", headers=headers)
        assert response.status_code == 400, (what, response.text[:300])
        error = response.get_json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and field in error["fields"], (what, error)
        assert snapshot() == before, what


def test_what_is_text_and_not_too_deep_is_taken(app, client, alice):
    """A surrogate pair is a character (an emoji), and MAX_DEPTH levels are allowed: the
    refusals above are the intake's, not any JSON's."""
    response = client.post(
        "/api/v1/rooms", data='{"name": "\\ud83d\\ude00 room"}', content_type="application/json", headers=bearer(alice)
    )
    assert response.status_code == 201 and response.get_json()["room"]["name"] == "😀 room"
    response = client.post(
        "/api/v1/rooms", data=nested(intake.MAX_DEPTH), content_type="application/json", headers=bearer(alice)
    )
    # Deep enough to be refused only by the room's own rule, for its name.
    assert response.status_code == 400 and "name" in response.get_json()["error"]["fields"]


def test_problem_names_the_first_thing_wrong():
    assert intake.problem({"a": [1, "b", {"c": None}], "😀": "한국어"}) is None
    assert intake.problem(["x", ["y", LONE]]) == intake.SURROGATE
    assert intake.problem({"\udfff": 1}) == intake.SURROGATE
    deep = []
    for _ in range(intake.MAX_DEPTH * 1000):  # iterative: no recursion to run out of
        deep = [deep]
    assert intake.problem(deep) == intake.TOO_DEEP


# The client events, by the handlers' own marks.
EVENTS = sorted(
    name[3:]
    for name in dir(ChatNamespace)
    if name.startswith("on_") and getattr(getattr(ChatNamespace, name), "client_event", False)
)


def emit_raw(sock, event, payload_json):
    """Send an event whose payload is JSON text as written (the test client's `emit`
    would have to build, and so encode, the object): the packet takes the server's own
    decoding, as a real client's does. Returns the ack."""
    sock.callback_counter += 1
    packet = f'2{NS},{sock.callback_counter}["{event}",{payload_json}]'
    socketio.server._handle_eio_message(sock.eio_sid, packet)
    ack, sock.acks = sock.acks, None
    return ack["args"][0]


@pytest.mark.parametrize("what, document", [d[:2] for d in BAD_DOCUMENTS], ids=[d[0] for d in BAD_DOCUMENTS])
def test_every_socket_event_refuses_what_is_not_text_or_too_deep(
    app, alice, scene, connect, sent_events, what, document
):
    sock = connect(alice)
    assert sock.emit("open_room", {"room_id": scene["room_id"]}, namespace=NS, callback=True)["ok"]
    if "deep" not in what:  # the room's and message's real ids, so that only the text is wrong
        document = json.dumps({**json.loads(document), **scene})
    for event in EVENTS:
        before, sent_before = snapshot(), len(sent_events)
        ack = emit_raw(sock, event, document)
        assert ack["ok"] is False and ack["error"]["code"] == "VALIDATION_ERROR", (event, ack)
        assert "payload" in ack["error"]["fields"], (event, ack)
        assert snapshot() == before, event
        assert len(sent_events) == sent_before, event  # nothing broadcast (a typing signal, say)
        assert sock.is_connected(NS)
    # The socket goes on: the next event is answered as ever.
    assert sock.emit("typing", {"room_id": scene["room_id"]}, namespace=NS, callback=True) == {"ok": True}


def test_a_socket_with_a_lone_surrogate_for_a_token_is_refused(app, connect):
    sock = connect(auth={"token": LONE})
    assert not sock.is_connected(NS)
