"""Rate limits: per IP on the HTTP auth endpoints, per username on logins, per user on
messages (over the socket too), rooms, direct rooms, joins and leaves, invites; typing
coalesced; sockets capped per user; RATELIMIT_ENABLED=false switches them off."""

import uuid

import pytest
import redis
import sqlalchemy as sa

from webchat import ratelimit
from webchat.errors import ChatError
from webchat.extensions import db, socketio
from webchat.models import Message
from webchat.realtime import Connection
from webchat.realtime.presence import RedisPresence
from webchat.services import accounts, messages, rooms, search

from .support.accounts import PASSWORD, bearer, login
from .support.polling import wait_until
from .support.services import REDIS_URL, require_redis

NS = "/chat"


@pytest.fixture
def app(app_with):
    """The app with its limits on (the test config has them off); every fixture built on
    `app` in this module (users, clients, sockets) uses it."""
    return app_with(RATELIMIT_ENABLED=True)


@pytest.fixture
def limited(app):
    return app


def test_login_per_username_counts_failures_from_any_address(limited, alice):
    limited.config["RATELIMIT_LOGIN_PER_USERNAME"] = "3 per minute"
    for _ in range(3):
        with pytest.raises(ChatError) as excinfo:
            accounts.authenticate("alice", "wrong password")
        assert excinfo.value.code == "INVALID_CREDENTIALS"
    with pytest.raises(ChatError) as excinfo:
        accounts.authenticate("ALICE", PASSWORD)  # even the right password, for now
    assert excinfo.value.code == "RATE_LIMITED" and excinfo.value.extra["retry_after"] >= 1


def test_token_endpoint_per_ip_answers_429_with_retry_after(limited, client, alice):
    limited.config["RATELIMIT_LOGIN_PER_IP"] = "2 per minute"
    for _ in range(2):
        assert client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD}).status_code == 200
    response = client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "RATE_LIMITED"
    assert int(response.headers["Retry-After"]) >= 1


def test_login_page_per_ip(limited, client, alice):
    limited.config["RATELIMIT_LOGIN_PER_IP"] = "2 per minute"
    for _ in range(2):
        client.post("/auth/login", data={"username": "alice", "password": "nope nope"})
    response = client.post("/auth/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert client.get("/auth/login").status_code == 200  # only POSTs count


def test_message_flood_is_refused_over_the_socket(limited, alice, connect):
    limited.config["RATELIMIT_MESSAGES_PER_USER"] = "5 per 5 seconds"
    room = rooms.create_room(alice, "General")
    sock = connect(alice)
    acks = [
        sock.emit(
            "send_message",
            {"room_id": room["id"], "body": f"m{i}", "client_id": f"f{i}"},
            namespace="/chat",
            callback=True,
        )
        for i in range(7)
    ]
    assert [a["ok"] for a in acks] == [True] * 5 + [False] * 2
    assert acks[5]["error"]["code"] == "RATE_LIMITED" and acks[5]["error"]["retry_after"] >= 1
    # A retry of a stored message is not a new message: it is answered, not limited.
    retry = sock.emit(
        "send_message", {"room_id": room["id"], "body": "m0", "client_id": "f0"}, namespace="/chat", callback=True
    )
    assert retry["ok"] and retry["message"]["id"] == acks[0]["message"]["id"]


def test_limits_are_per_user(limited, alice, bob):
    limited.config["RATELIMIT_MESSAGES_PER_USER"] = "2 per 5 seconds"
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    for i in range(2):
        messages.send_message(alice, room["id"], f"a{i}")
    with pytest.raises(ChatError):
        messages.send_message(alice, room["id"], "a2")
    messages.send_message(bob, room["id"], "b0")


def test_disabled_means_no_limits(app_with):
    app = app_with(
        RATELIMIT_ENABLED=False, RATELIMIT_LOGIN_PER_IP="1 per minute", RATELIMIT_MESSAGES_PER_USER="1 per minute"
    )
    alice = accounts.signup("alice", PASSWORD)
    client = app.test_client()
    for _ in range(3):
        assert client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD}).status_code == 200
    room = rooms.create_room(alice, "General")
    for i in range(3):
        messages.send_message(alice, room["id"], f"m{i}")


def test_uploads_per_user(limited, alice):
    import io

    from webchat.services import files

    limited.config["RATELIMIT_UPLOADS_PER_USER"] = "2 per minute"
    room = rooms.create_room(alice, "General")
    for i in range(2):
        files.upload(alice, room["id"], io.BytesIO(b"data"), f"f{i}.txt", client_id=f"u{i}")
    with pytest.raises(ChatError) as excinfo:
        files.upload(alice, room["id"], io.BytesIO(b"data"), "f2.txt", client_id="u2")
    assert excinfo.value.code == "RATE_LIMITED"
    retry, created = files.upload(alice, room["id"], io.BytesIO(b"data"), "f0.txt", client_id="u0")
    assert not created  # a retry of a stored upload is answered, not limited


def test_searches_per_user(limited, client, alice, bob):
    limited.config["RATELIMIT_SEARCH_PER_USER"] = "3 per minute"
    for _ in range(3):
        assert search.search(alice, "hello") == ([], False)
    # A query that does not parse is answered for what it is, and not counted.
    with pytest.raises(ChatError) as excinfo:
        search.search(alice, "   ")
    assert excinfo.value.code == "VALIDATION_ERROR"
    with pytest.raises(ChatError) as excinfo:
        search.search(alice, "hello")
    assert excinfo.value.code == "RATE_LIMITED" and excinfo.value.extra["retry_after"] >= 1
    assert search.search(bob, "hello") == ([], False), "per user"


# Issue 24: rooms, direct rooms, joins and leaves, invites, typing and sockets, each of
# which reaches other people (a notice in a room, a room in their list, a broadcast).


def notices(room_id):
    """The room's system messages (created, joined, left, invited) stored so far."""
    return db.session.scalar(sa.select(sa.func.count()).where(Message.room_id == room_id, Message.kind == "system"))


def refused_429(response):
    assert response.status_code == 429, response.text[:200]
    assert response.get_json()["error"]["code"] == "RATE_LIMITED" and int(response.headers["Retry-After"]) >= 1


def test_joins_and_leaves_per_user(limited, client, alice, bob):
    """One user stored 690 join/leave notices in 10 s: the actions are limited (a notice
    is history, kept in order: a leave and rejoin are both told, as they happened)."""
    limited.config["RATELIMIT_MEMBERSHIP_PER_USER"] = "3 per minute"
    room = rooms.create_room(alice, "General")["id"]
    headers = bearer(bob)
    for action in ("join", "join", "leave", "join"):  # the second join changes nothing and is not counted
        assert client.post(f"/api/v1/rooms/{room}/{action}", headers=headers).status_code == 200, action
    refused_429(client.post(f"/api/v1/rooms/{room}/leave", headers=headers))
    assert notices(room) == 4  # created, joined, left, joined
    # The page's join button goes through the same limit.
    other = rooms.create_room(alice, "Other")["id"]
    login(client, bob)
    response = client.post(f"/rooms/{other}/join")
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert notices(other) == 1


def test_rejoining_a_direct_room_counts_as_a_join(limited, client, alice, bob):
    limited.config["RATELIMIT_MEMBERSHIP_PER_USER"] = "1 per minute"
    room = rooms.create_direct(alice, ["bob"])["id"]
    rooms.leave(alice, room)
    refused_429(client.post("/api/v1/rooms/direct", json={"usernames": ["bob"]}, headers=bearer(alice)))
    assert notices(room) == 1  # left; no rejoin


def test_invites_per_user(limited, client, alice, make_user):
    limited.config["RATELIMIT_INVITES_PER_USER"] = "2 per minute"
    for name in ("carol", "dave", "erin"):
        make_user(name)
    room = rooms.create_room(alice, "Team", "private")["id"]
    url, headers = f"/api/v1/rooms/{room}/members", bearer(alice)
    for name in ("carol", "dave", "carol"):  # carol again: already in, not counted
        assert client.post(url, json={"username": name}, headers=headers).status_code == 200, name
    refused_429(client.post(url, json={"username": "erin"}, headers=headers))
    assert [m["username"] for m in rooms.member_list(alice, room)] == ["alice", "carol", "dave"]


def test_new_rooms_per_user(limited, client, alice, bob):
    limited.config["RATELIMIT_ROOMS_PER_USER"] = "2 per minute"
    for i in range(2):
        assert client.post("/api/v1/rooms", json={"name": f"r{i}"}, headers=bearer(alice)).status_code == 201
    refused_429(client.post("/api/v1/rooms", json={"name": "r2"}, headers=bearer(alice)))
    # The page's form says so next to the form and creates nothing.
    login(client, alice)
    response = client.post("/rooms", data={"name": "r3", "type": "public"})
    assert response.status_code == 400 and "Too many attempts" in response.text
    assert [r["name"] for r in rooms.my_rooms(alice)] == ["r1", "r0"]
    assert client.post("/api/v1/rooms", json={"name": "b0"}, headers=bearer(bob)).status_code == 201, "per user"


def test_new_direct_rooms_per_user(limited, client, alice, make_user):
    limited.config["RATELIMIT_DIRECT_ROOMS_PER_USER"] = "2 per minute"
    for name in ("u0", "u1", "u2"):
        make_user(name)
    for name in ("u0", "u1"):
        response = client.post("/api/v1/rooms/direct", json={"usernames": [name]}, headers=bearer(alice))
        assert response.status_code == 201
    refused_429(client.post("/api/v1/rooms/direct", json={"usernames": ["u2"]}, headers=bearer(alice)))
    # Asking for one that exists creates nothing: answered as ever, not refused.
    response = client.post("/api/v1/rooms/direct", json={"usernames": ["u0"]}, headers=bearer(alice))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "DUPLICATE_DIRECT_ROOM"


def typing_received(sock):
    return [e["args"][0] for e in sock.get_received(NS) if e["name"] == "typing"]


def test_typing_is_relayed_once_per_interval_per_user_and_room(limited, alice, bob, connect):
    """297 typing events a second reached every member: now the first of each interval
    per user and room is relayed, from any of the user's sockets; the rest are answered
    ok, since the signal they repeat is already on its way."""
    limited.config["TYPING_INTERVAL_SECONDS"] = 600
    room, other = rooms.create_room(alice, "General")["id"], rooms.create_room(alice, "Other")["id"]
    for room_id in (room, other):
        rooms.join_room(bob, room_id)
    a, a2, b = connect(alice), connect(alice), connect(bob)
    for sock in (a, b):
        for room_id in (room, other):
            assert sock.emit("open_room", {"room_id": room_id}, namespace=NS, callback=True)["ok"]
    typing_received(b)
    acks = [sock.emit("typing", {"room_id": room}, namespace=NS, callback=True) for sock in [a] * 20 + [a2] * 5]
    assert acks == [{"ok": True}] * 25
    assert [(t["room_id"], t["user"]["username"]) for t in typing_received(b)] == [(room, "alice")]
    # Per room and per user: alice elsewhere, and bob here, are each relayed once.
    for _ in range(3):
        a.emit("typing", {"room_id": other}, namespace=NS, callback=True)
        b.emit("typing", {"room_id": room}, namespace=NS, callback=True)
    assert [t["room_id"] for t in typing_received(b)] == [other]
    assert [(t["room_id"], t["user"]["username"]) for t in typing_received(a)] == [(room, "bob")]


def test_typing_is_relayed_again_after_the_interval(limited, alice, bob, connect):
    limited.config["TYPING_INTERVAL_SECONDS"] = 1
    room = rooms.create_room(alice, "General")["id"]
    rooms.join_room(bob, room)
    a, b = connect(alice), connect(bob)
    assert b.emit("open_room", {"room_id": room}, namespace=NS, callback=True)["ok"]
    b.get_received(NS)
    relayed = []

    def typed_and_relayed():
        a.emit("typing", {"room_id": room}, namespace=NS, callback=True)
        relayed.extend(typing_received(b))
        return len(relayed) >= 2

    wait_until(typed_and_relayed, 10, "a second typing signal, an interval after the first")


def test_sockets_per_user_are_capped(limited, alice, bob, connect):
    """A user's sockets past MAX_SOCKETS_PER_USER are refused, in the contract's refusal
    shape, until one of theirs closes."""
    from flask_socketio import ConnectionRefusedError

    from webchat.chat.namespace import ChatNamespace

    limited.config["MAX_SOCKETS_PER_USER"] = 2
    first, second = connect(alice), connect(alice)
    third = connect(alice)
    assert first.is_connected(NS) and second.is_connected(NS) and not third.is_connected(NS)
    assert connect(bob).is_connected(NS), "per user"
    first.disconnect(NS)
    assert connect(alice).is_connected(NS), "the refused socket was not left counted"
    assert len(socketio.server.manager.rooms[NS][f"user:{alice.id}"]) == 2
    # What the third was told: the refusal's data names the code, as for a bad token.
    with pytest.raises(ConnectionRefusedError) as excinfo:
        ChatNamespace._refuse_if_too_many(3)
    assert excinfo.value.error_args == {
        "message": "Too many open connections; close a tab or window you do not use.",
        "data": {"code": "RATE_LIMITED"},
    }
    limited.config["RATELIMIT_ENABLED"] = False  # off with the rest, as load tests need
    assert connect(alice).is_connected(NS)


def test_sockets_are_counted_across_nodes(app):
    """With Redis, each node's registry answers how many sockets the user has on every
    node, which is what the cap compares."""
    require_redis()
    prefix = f"test-cap-{uuid.uuid4().hex[:8]}"
    nodes = [RedisPresence(REDIS_URL, prefix=prefix) for _ in range(2)]
    try:
        counts = [nodes[i % 2].add(Connection(f"s{i}", 7, "alice", 1e12)) for i in range(3)]
        assert counts == [1, 2, 3]
        nodes[0].remove("s0")
        assert nodes[1].add(Connection("s3", 7, "alice", 1e12)) == 3
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)


def test_deployments_sharing_a_redis_count_apart(app_with):
    """Per-user counters are kept under RATELIMIT_KEY_PREFIX (the cluster's name) like the
    per-IP ones, so two deployments on one Redis do not share them."""
    require_redis()
    prefix = f"test-prefix-{uuid.uuid4().hex[:8]}"
    app = app_with(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=f"{prefix}-one",
        RATELIMIT_MESSAGES_PER_USER="1 per minute",
    )
    client = redis.Redis.from_url(REDIS_URL)
    try:
        ratelimit.check("RATELIMIT_MESSAGES_PER_USER", 7)
        with pytest.raises(ChatError):
            ratelimit.check("RATELIMIT_MESSAGES_PER_USER", 7)
        app.config["RATELIMIT_KEY_PREFIX"] = f"{prefix}-two"  # another deployment, same Redis
        ratelimit.check("RATELIMIT_MESSAGES_PER_USER", 7)
        assert [k.decode() for k in client.scan_iter(f"*{prefix}-one/*")], "the key names the deployment"
    finally:
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
