"""Chat against the real server (gunicorn + eventlet) with python-socketio clients, on
SQLite and on MariaDB: live delivery, idempotent retry, malformed payloads, paging back to
seq 1, catch-up after a disconnect, concurrent senders, refusals."""

import uuid

import pytest
import requests
import socketio

from ..support.chat_client import ChatClient, send_concurrently
from ..support.http_client import api, api_user, csrf_token, unique_name

pytestmark = pytest.mark.integration


@pytest.fixture
def pair(server):
    """Two users in one public room: (room, (alice, token), (bob, token))."""
    a = api_user(server, unique_name("a"))
    b = api_user(server, unique_name("b"))
    room = api(server, a[1], "POST", "/rooms", json={"name": "Room " + uuid.uuid4().hex[:6]}).json()["room"]
    assert api(server, b[1], "POST", f"/rooms/{room['id']}/join").status_code == 200
    return room, a, b


def test_live_delivery_and_idempotent_retry(server, pair, clients):
    room, (alice, a_token), (bob, b_token) = pair
    a, b = clients(server, a_token), clients(server, b_token)
    assert a.call("open_room", {"room_id": room["id"]})["ok"]
    assert b.call("open_room", {"room_id": room["id"]})["ok"]
    ack = a.call("send_message", {"room_id": room["id"], "body": "안녕하세요 🙂", "client_id": "k1"})
    assert ack["ok"] and ack["message"]["body"] == "안녕하세요 🙂"
    b.wait_for(lambda: b.messages(room["id"]), what="bob's delivery")
    retry = a.call("send_message", {"room_id": room["id"], "body": "안녕하세요 🙂", "client_id": "k1"})
    assert retry["message"] == ack["message"]
    b.call("typing", {"room_id": room["id"]})  # a round trip after the retry's would-be broadcast
    a.wait_for(lambda: a.events["typing"], what="typing")
    assert [m["id"] for m in b.messages(room["id"])] == [ack["message"]["id"]]
    stored = server.database.query("SELECT COUNT(*) FROM messages WHERE client_id = ?", "k1")
    assert stored == [(1,)]


@pytest.mark.parametrize(
    "event, payload",
    [
        ("send_message", None),
        ("send_message", "text"),
        ("send_message", [1, 2]),
        ("send_message", {"room_id": "x"}),
        ("send_message", {"room_id": 1, "body": {"deep": [[[]]]}}),
        ("open_room", {"room_id": -5}),
        ("mark_read", {"room_id": 1, "message_id": "nope"}),
        ("typing", 3.5),
        ("auth", {"token": 5}),
        ("nope", {}),
    ],
)
def test_malformed_payloads_are_answered_and_connection_survives(server, pair, clients, event, payload):
    room, (alice, a_token), _ = pair
    a = clients(server, a_token)
    ack = a.call(event, payload)
    assert ack["ok"] is False and ack["error"]["code"] in {
        "VALIDATION_ERROR",
        "TOKEN_INVALID",
        "ROOM_NOT_FOUND",
        "USER_NOT_IN_CHAT_ROOM",
    }
    assert a.call("open_room", {"room_id": room["id"]})["ok"]


def test_history_pages_back_to_seq_1(server, pair, clients):
    room, (alice, a_token), (bob, b_token) = pair
    a = clients(server, a_token)
    for i in range(130):
        assert a.call("send_message", {"room_id": room["id"], "body": f"m{i}", "client_id": f"h{i}"})["ok"]
    page = api(server, b_token, "GET", f"/rooms/{room['id']}/messages").json()
    seen = page["messages"]
    while page["has_more"]:
        page = api(
            server, b_token, "GET", f"/rooms/{room['id']}/messages", params={"before_seq": seen[0]["seq"], "limit": 100}
        ).json()
        seen = page["messages"] + seen
    assert [m["seq"] for m in seen] == list(range(1, 133))  # created, joined, 130 messages


def test_catch_up_after_a_disconnect_misses_nothing(server, pair, clients):
    room, (alice, a_token), (bob, b_token) = pair
    a, b = clients(server, a_token), clients(server, b_token)
    a.call("open_room", {"room_id": room["id"]})
    opened = b.call("open_room", {"room_id": room["id"]})
    last_seen = opened["messages"][-1]["seq"]
    b.close()
    sent = [a.call("send_message", {"room_id": room["id"], "body": f"while away {i}"})["message"] for i in range(5)]
    b2 = clients(server, b_token)
    page = api(server, b_token, "GET", f"/rooms/{room['id']}/messages", params={"after_seq": last_seen}).json()
    assert [m["id"] for m in page["messages"]] == [m["id"] for m in sent] and not page["has_more"]
    reopened = b2.call("open_room", {"room_id": room["id"]})
    assert [m["id"] for m in reopened["messages"][-5:]] == [m["id"] for m in sent]


def test_concurrent_senders_gap_free_and_delivered_once(server, clients):
    users = [api_user(server, unique_name("c")) for _ in range(4)]
    room = api(server, users[0][1], "POST", "/rooms", json={"name": "busy"}).json()["room"]
    for _, token in users[1:]:
        api(server, token, "POST", f"/rooms/{room['id']}/join")
    socks = [clients(server, token) for _, token in users]
    for sock in socks:
        assert sock.call("open_room", {"room_id": room["id"]})["ok"]
    failures = send_concurrently(socks, room["id"], 25)
    assert failures == []
    rows = server.database.query("SELECT seq FROM messages WHERE room_id = ? ORDER BY seq", room["id"])
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1)) and len(
        rows
    ) == 1 + 3 + 100  # created, 3 joins, 100 sent
    for sock in socks:
        sock.wait_for(
            lambda s=sock: len([m for m in s.messages(room["id"]) if m["kind"] == "text"]) >= 100,
            what="all 100 messages",
        )
        texts = [m for m in sock.messages(room["id"]) if m["kind"] == "text"]
        assert len(texts) == 100 and len({m["id"] for m in texts}) == 100
        assert [m["seq"] for m in texts] == sorted(m["seq"] for m in texts)


def test_bad_tokens_are_refused_with_a_code(server, pair):
    import time

    import jwt

    _room, (alice, _token), _ = pair
    key = (server.instance_dir / "jwt_secret_key").read_text().strip()
    expired = jwt.encode(
        {
            "sub": str(alice["id"]),
            "type": "access",
            "gen": 0,
            "exp": int(time.time()) - 10,
            "iat": int(time.time()) - 100,
            "nbf": int(time.time()) - 100,
            "jti": "x",
        },
        key,
        algorithm="HS256",
    )
    forged = jwt.encode({"sub": str(alice["id"]), "type": "access", "gen": 0}, "not the key" * 4, algorithm="HS256")
    for token, code in [
        ("garbage", "TOKEN_INVALID"),
        ("", "TOKEN_INVALID"),
        (forged, "TOKEN_INVALID"),
        (expired, "TOKEN_EXPIRED"),
    ]:
        client = ChatClient(server, token)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect()
        assert [e["data"] for e in client.connect_errors] == [{"code": code}]


def engineio_accepts(server, origin):
    """Whether the server completes a WebSocket handshake sent with this Origin header."""
    import websocket

    try:
        conn = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", origin=origin, timeout=10
        )
    except websocket.WebSocketBadStatusException:
        return False
    try:
        return conn.recv().startswith("0{")  # Engine.IO's open packet
    finally:
        conn.close()


def test_cross_site_socket_is_refused(server):
    assert engineio_accepts(server, server.url)
    assert not engineio_accepts(server, "http://evil.example")


def test_logout_disconnects_sockets(server, clients):
    name = unique_name("lo")
    user, token = api_user(server, name)
    sock = clients(server, token)
    session = requests.Session()
    login_token = csrf_token(session, f"{server.url}/auth/login")
    session.post(
        f"{server.url}/auth/login",
        data={"csrf_token": login_token, "username": name, "password": "correct horse battery"},
        timeout=10,
    )
    page_token = csrf_token(session, f"{server.url}/rooms")
    session.post(f"{server.url}/auth/logout", data={"csrf_token": page_token}, timeout=10)
    sock.wait_for(lambda: not sock.sio.connected, what="the socket to be disconnected")
    assert api(server, token, "GET", "/rooms").json()["error"]["code"] == "TOKEN_INVALID"


def test_configured_origins_are_the_only_cross_site_ones_allowed(live_server):
    node = live_server("sqlite", env={"SOCKETIO_ALLOWED_ORIGINS": "https://chat.example.com"})
    assert engineio_accepts(node, "https://chat.example.com")
    assert engineio_accepts(node, node.url), "our own pages must still connect"
    assert not engineio_accepts(node, "https://evil.example")


def websocket_handshake(server, offer="permessage-deflate; client_max_window_bits"):
    """Open a WebSocket as browsers do, offering compression; returns the server's
    response headers (lower-cased names)."""
    import base64
    import os
    import socket as sockets

    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: {offer}\r\nOrigin: {server.url}\r\n\r\n"
    )
    with sockets.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = conn.recv(4096)
            assert chunk, f"connection closed during the handshake: {response!r}"
            response += chunk
    status, *lines = response.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    assert " 101 " in status, status
    return {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}


def test_sockets_decline_compression_unless_configured(server, live_server):
    # Every recipient's copy of a broadcast would be compressed anew: off by default.
    assert "sec-websocket-extensions" not in websocket_handshake(server)
    node = live_server("sqlite", env={"WEBSOCKET_COMPRESSION": "true"})
    assert websocket_handshake(node)["sec-websocket-extensions"].startswith("permessage-deflate")
