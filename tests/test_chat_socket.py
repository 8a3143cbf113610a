"""The /chat namespace through Flask-SocketIO's test client: auth, acks, live delivery."""

import gc
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token

from webchat.extensions import socketio
from webchat.services import accounts, rooms

from .support.accounts import PASSWORD

NS = "/chat"


def emit(sock, event, data=None):
    return sock.emit(event, data, namespace=NS, callback=True)


def received(sock, name=None):
    events = sock.get_received(NS)
    return [e["args"][0] for e in events if name is None or e["name"] == name]


@pytest.fixture
def room(app, alice, bob):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    return room


def test_connect_needs_a_valid_token(app, alice, connect):
    assert connect(alice).is_connected(NS)
    for auth in ({}, {"token": "garbage"}, {"token": None}, {"tok": "x"}):
        assert not connect(auth=auth).is_connected(NS)


def test_refusal_codes(app, alice):
    """The refusal's data names the reason: TOKEN_INVALID or TOKEN_EXPIRED."""
    from flask_socketio import ConnectionRefusedError

    from webchat.chat.namespace import ChatNamespace

    expired = create_access_token(
        identity=str(alice.id), additional_claims={"gen": 0}, expires_delta=timedelta(seconds=-1)
    )
    namespace = ChatNamespace(NS)
    for token, code in (("garbage", "TOKEN_INVALID"), (expired, "TOKEN_EXPIRED")):
        with app.test_request_context():
            with pytest.raises(ConnectionRefusedError) as excinfo:
                namespace.on_connect({"token": token})
        assert excinfo.value.error_args["data"] == {"code": code}


def test_open_room_returns_room_members_and_latest_page(app, alice, bob, room, connect):
    sock = connect(alice)
    ack = emit(sock, "open_room", {"room_id": room["id"]})
    assert ack["ok"] and ack["room"]["id"] == room["id"] and ack["has_more"] is False
    assert [m["seq"] for m in ack["messages"]] == [1, 2]
    assert {m["username"]: m["online"] for m in ack["members"]} == {"alice": True, "bob": False}


def test_live_delivery_to_room_and_unread_to_personal_channel(app, alice, bob, room, connect):
    a, b = connect(alice), connect(bob)
    emit(a, "open_room", {"room_id": room["id"]})
    emit(b, "open_room", {"room_id": room["id"]})
    b_elsewhere = connect(bob)  # another tab on the room list
    received(a), received(b), received(b_elsewhere)
    ack = emit(a, "send_message", {"room_id": room["id"], "body": "안녕 👋", "client_id": "c1"})
    assert ack["ok"] and ack["message"]["body"] == "안녕 👋" and ack["message"]["seq"] == 3
    assert [e["message"]["id"] for e in received(b, "new_message")] == [ack["message"]["id"]]
    unread = received(b_elsewhere)
    assert unread == [{"room_id": room["id"], "unread_count": 1, "mention_count": 0, "last_message": ack["message"]}]


def test_retry_with_same_client_id_broadcasts_nothing_new(app, alice, bob, room, connect):
    a, b = connect(alice), connect(bob)
    emit(b, "open_room", {"room_id": room["id"]})
    received(b)
    first = emit(a, "send_message", {"room_id": room["id"], "body": "once", "client_id": "same"})
    again = emit(a, "send_message", {"room_id": room["id"], "body": "once", "client_id": "same"})
    assert first["message"] == again["message"]
    assert len(received(b, "new_message")) == 1


def test_only_sockets_that_opened_the_room_get_its_messages(app, alice, bob, room, connect):
    a, b = connect(alice), connect(bob)
    emit(a, "open_room", {"room_id": room["id"]})
    emit(a, "send_message", {"room_id": room["id"], "body": "hi"})
    assert received(b, "new_message") == []
    emit(b, "open_room", {"room_id": room["id"]})
    emit(b, "close_room", {"room_id": room["id"]})
    received(b)
    emit(a, "send_message", {"room_id": room["id"], "body": "hi again"})
    assert received(b, "new_message") == []


def test_typing_reaches_others_not_the_typist(app, alice, bob, room, connect):
    a, b = connect(alice), connect(bob)
    emit(a, "open_room", {"room_id": room["id"]})
    emit(b, "open_room", {"room_id": room["id"]})
    received(a), received(b)
    assert emit(a, "typing", {"room_id": room["id"]}) == {"ok": True}
    assert received(b, "typing") == [{"room_id": room["id"], "user": {"id": alice.id, "username": "alice"}}]
    assert received(a, "typing") == []


def test_open_room_refused_for_outsiders(app, alice, make_user, connect):
    carol = make_user("carol")
    private = rooms.create_room(alice, "Secret", "private")
    public = rooms.create_room(alice, "Open")
    sock = connect(carol)
    assert emit(sock, "open_room", {"room_id": private["id"]})["error"]["code"] == "ROOM_NOT_FOUND"
    assert emit(sock, "open_room", {"room_id": public["id"]})["error"]["code"] == "USER_NOT_IN_CHAT_ROOM"
    assert emit(sock, "typing", {"room_id": private["id"]})["error"]["code"] == "ROOM_NOT_FOUND"


@pytest.mark.parametrize("event", ["open_room", "close_room", "send_message", "typing", "auth"])
@pytest.mark.parametrize(
    "payload",
    [
        None,
        "text",
        42,
        [],
        [1, 2],
        {},
        {"room_id": "x"},
        {"room_id": None, "body": 5},
        {"room_id": [1], "body": {"nested": [1]}},
        {"token": 12},
    ],
)
def test_every_malformed_payload_is_answered(app, alice, room, connect, event, payload):
    sock = connect(alice)
    ack = emit(sock, event, payload)
    assert ack["ok"] is False
    assert ack["error"]["code"] in {"VALIDATION_ERROR", "TOKEN_INVALID", "ROOM_NOT_FOUND", "MESSAGE_EMPTY"}
    assert sock.is_connected(NS)
    assert emit(sock, "open_room", {"room_id": room["id"]})["ok"]


def test_members_event_tracks_presence(app, alice, bob, room, connect):
    a = connect(alice)
    emit(a, "open_room", {"room_id": room["id"]})
    received(a)
    b = connect(bob)
    online = received(a, "members")[-1]
    assert online["online_count"] == 2 and online["member_count"] == 2
    b.disconnect(NS)
    offline = received(a, "members")[-1]
    assert offline["online_count"] == 1


def test_join_broadcasts_notice_and_members(app, alice, bob, make_user, connect):
    room = rooms.create_room(alice, "General")
    a = connect(alice)
    emit(a, "open_room", {"room_id": room["id"]})
    carol = make_user("carol")
    carol_tab = connect(carol)
    received(a), received(carol_tab)
    rooms.join_room(carol, room["id"])
    events = a.get_received(NS)
    names = [e["name"] for e in events]
    assert names.index("new_message") < names.index("members")
    notice = next(e["args"][0]["message"] for e in events if e["name"] == "new_message")
    assert notice["kind"] == "system" and notice["event"]["type"] == "joined"
    assert notice["event"]["user"]["username"] == "carol"
    assert [e["room"]["id"] for e in received(carol_tab, "room_added")] == [room["id"]]


def test_auth_renews_and_rejects_other_users_token(app, alice, bob, connect):
    sock = connect(alice)
    ack = emit(sock, "auth", {"token": accounts.issue_access_token(alice)["access_token"]})
    assert ack["ok"] and ack["expires_in"] > 0
    ack = emit(sock, "auth", {"token": accounts.issue_access_token(bob)["access_token"]})
    assert ack["error"]["code"] == "TOKEN_INVALID"


def test_expired_connection_is_refused_and_disconnected(app, alice, room, connect):
    from webchat.realtime import current_presence

    sock = connect(alice)
    sid = next(iter(current_presence()._by_sid))
    current_presence().get(sid).expires_at = 0
    ack = emit(sock, "open_room", {"room_id": room["id"]})
    assert ack["error"]["code"] == "TOKEN_EXPIRED"
    assert not sock.is_connected(NS)


def test_logout_disconnects_the_users_sockets(app, alice, bob, connect):
    a1, a2, b = connect(alice), connect(alice), connect(bob)
    accounts.logout(alice)
    assert not a1.is_connected(NS) and not a2.is_connected(NS)
    assert b.is_connected(NS)


def test_unknown_events_and_extra_arguments_are_answered(app, alice, room, connect):
    sock = connect(alice)
    ack = emit(sock, "no_such_event", {"room_id": room["id"]})
    assert ack["ok"] is False and ack["error"]["code"] == "VALIDATION_ERROR"
    ack = sock.emit("open_room", {"room_id": room["id"]}, "extra", namespace=NS, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "VALIDATION_ERROR"
    assert sock.is_connected(NS)


def test_mark_read_and_delete_over_the_socket(app, alice, bob, room, connect):
    a, b = connect(alice), connect(bob)
    emit(a, "open_room", {"room_id": room["id"]})
    emit(b, "open_room", {"room_id": room["id"]})
    sent = emit(a, "send_message", {"room_id": room["id"], "body": "read me"})["message"]
    received(a), received(b)
    ack = emit(b, "mark_read", {"room_id": room["id"], "message_id": sent["id"]})
    assert ack == {"ok": True, "last_read_message_id": sent["id"]}
    assert received(a, "read_receipt") == [
        {"room_id": room["id"], "user_id": bob.id, "last_read_message_id": sent["id"]}
    ]
    assert emit(b, "delete_message", {"message_id": sent["id"]})["error"]["code"] == "FORBIDDEN"
    assert emit(a, "delete_message", {"message_id": sent["id"]}) == {"ok": True}
    assert received(b, "message_deleted") == [{"room_id": room["id"], "message_id": sent["id"]}]


def test_kicked_socket_stops_receiving_the_room_at_once(app, alice, bob, room, connect):
    a, b = connect(alice), connect(bob)
    emit(a, "open_room", {"room_id": room["id"]})
    emit(b, "open_room", {"room_id": room["id"]})
    received(b)
    rooms.kick(alice, room["id"], "bob")
    assert received(b, "room_removed") == [{"room_id": room["id"], "reason": "kicked"}]
    emit(a, "send_message", {"room_id": room["id"], "body": "after the kick"})
    assert received(b, "new_message") == []
    assert emit(b, "send_message", {"room_id": room["id"], "body": "x"})["error"]["code"] == "USER_NOT_IN_CHAT_ROOM"
    assert emit(b, "open_room", {"room_id": room["id"]})["error"]["code"] == "USER_NOT_IN_CHAT_ROOM"


@pytest.mark.parametrize(
    "upgrade", [{}, {"Upgrade": "websocket", "Connection": "Upgrade"}], ids=["polling", "websocket"]
)
def test_the_socketio_path_matches_a_route(app, upgrade):
    """Flask-SocketIO runs each event in a request context for the handshake's path; a
    path without a route stores a NotFound on every event (see the next test)."""
    from flask import request

    with app.test_request_context("/socket.io/?EIO=4&transport=websocket", headers=upgrade):
        assert request.routing_exception is None
    with app.test_request_context("/socket.io", headers=upgrade):
        assert request.routing_exception is None


def test_socket_events_leave_no_reference_cycles(app, alice, room, connect):
    """Garbage in cycles is freed only by the cyclic collector, whose full collections
    paused a busy worker for tens of ms: events must leave none of their request context,
    exception or traceback behind."""
    sock = connect(alice)
    emit(sock, "open_room", {"room_id": room["id"]})
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for n in range(10):
            assert emit(sock, "send_message", {"room_id": room["id"], "body": f"m{n}", "client_id": f"gc-{n}"})["ok"]
        gc.collect()
        left = Counter(type(thing).__name__ for thing in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert (left["RequestContext"], left["traceback"], left["frame"]) == (0, 0, 0), left.most_common(10)


def test_a_burst_of_connects_costs_one_member_list_per_interval(app_with):
    """Each connect changes the room's online count; with PRESENCE_FANOUT_MS the room's
    sockets get the first change at once and the rest of a burst in one list."""
    app = app_with(PRESENCE_FANOUT_MS=1000)
    owner, *others = (accounts.signup(f"user{uuid.uuid4().hex[:8]}", PASSWORD) for _ in range(6))
    room_id = rooms.create_room(owner, "Morning")["id"]
    for user in others:
        rooms.join_room(user, room_id)
    tokens = [accounts.issue_access_token(user)["access_token"] for user in (owner, *others)]
    sockets = [socketio.test_client(app, namespace=NS, auth={"token": tokens[0]})]
    try:
        assert emit(sockets[0], "open_room", {"room_id": room_id})["ok"]
        time.sleep(1.2)  # the owner's own round is over
        received(sockets[0])
        sockets += [socketio.test_client(app, namespace=NS, auth={"token": token}) for token in tokens[1:]]
        lists, deadline = [], time.monotonic() + 5
        while time.monotonic() < deadline and not (lists and lists[-1]["online_count"] == 6):
            lists += received(sockets[0], "members")
            time.sleep(0.05)
        assert lists and lists[-1]["online_count"] == 6 and lists[-1]["member_count"] == 6
        assert len(lists) <= 2, [members["online_count"] for members in lists]
    finally:
        for sock in sockets:
            sock.disconnect(NS)
