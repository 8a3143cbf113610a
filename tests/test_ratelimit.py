"""Rate limits: per IP on the HTTP auth endpoints, per username on logins, per user on
messages (over the socket too), rooms, direct rooms, joins and leaves, invites; typing
coalesced; sockets capped per user; RATELIMIT_ENABLED=false switches them off."""

import re
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


def attempt(username, password, address="198.51.100.1", device=None):
    """An authenticate call: the user, or the ChatError's code and retry_after."""
    try:
        return accounts.authenticate(username, password, address=address, device=device)
    except ChatError as error:
        return error.code, error.extra.get("retry_after")


def test_failures_from_one_address_delay_that_address_only(limited, alice):
    limited.config.update(LOGIN_FREE_FAILURES=3, LOGIN_DELAY_SECONDS=30)
    for _ in range(4):  # three free, the fourth starts a wait
        assert attempt("alice", "wrong password") == ("INVALID_CREDENTIALS", None)
    code, retry_after = attempt("ALICE", PASSWORD)  # even the right password, for now
    assert code == "RATE_LIMITED" and 1 <= retry_after <= 30
    assert attempt("alice", PASSWORD, address="203.0.113.9").id == alice.id, "the owner, elsewhere"
    assert attempt("bob", "wrong password")[0] == "INVALID_CREDENTIALS", "another name, same address"


@pytest.mark.parametrize("storage", ["memory://", REDIS_URL])
def test_each_further_failure_doubles_the_wait(app_with, storage):
    """In the process's memory, and in Redis, where every node sees the same delays."""
    if storage == REDIS_URL:
        require_redis()
    limited = app_with(
        RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=storage, RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}"
    )
    limited.config.update(LOGIN_FREE_FAILURES=2, LOGIN_DELAY_SECONDS=30, LOGIN_DELAY_MAX_SECONDS=100)
    waits = []
    for _ in range(6):
        ratelimit.failed("address", "alice", "198.51.100.1")
        waits.append(ratelimit.wait_seconds("address", "alice", "198.51.100.1"))
    assert waits[:2] == [0, 0]
    assert [w > 0 for w in waits[2:]] == [True] * 4
    assert 20 < waits[2] <= 30 and 50 < waits[3] <= 60 and 90 < waits[4] <= 100 and waits[5] <= 100
    ratelimit.succeeded("address", "alice", "198.51.100.1")
    assert ratelimit.wait_seconds("address", "alice", "198.51.100.1") == 0


def test_a_known_device_gets_in_while_its_address_is_delayed(limited, alice):
    """The owner's browser, behind the same address as the guesser (an office NAT), keeps
    the device token of its last login; a stolen token only earns its own delays."""
    limited.config.update(LOGIN_FREE_FAILURES=2)
    attempt("alice", PASSWORD)
    device = accounts.device_token(alice)
    for _ in range(3):
        attempt("alice", "wrong password")
    assert attempt("alice", PASSWORD)[0] == "RATE_LIMITED"
    assert attempt("alice", PASSWORD, device=device).id == alice.id
    assert accounts.known_device(device, "bob") is None, "it names alice only"
    for _ in range(3):
        attempt("alice", "wrong password", device=device)
    assert attempt("alice", PASSWORD, device=device)[0] == "RATE_LIMITED", "the device's own failures"
    assert attempt("alice", PASSWORD, device=accounts.device_token(alice)).id == alice.id
    assert accounts.known_device(device[:-2] + "xx", "alice") is None, "signed"


def test_login_page_remembers_the_device_and_says_how_long_to_wait(limited, app, alice):
    limited.config.update(LOGIN_FREE_FAILURES=1)
    owner, guesser = app.test_client(), app.test_client()
    assert owner.post("/auth/login", data={"username": "alice", "password": PASSWORD}).status_code == 302
    cookie = owner.get_cookie("device", path="/auth")
    assert cookie and cookie.http_only and cookie.same_site == "Lax"
    owner.post("/auth/logout")
    for _ in range(2):
        guesser.post("/auth/login", data={"username": "alice", "password": "wrong password"})
    refused = guesser.post("/auth/login", data={"username": "alice", "password": PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Try again in" in refused.text
    # The same address (a test client's is always 127.0.0.1), but a known device.
    assert owner.post("/auth/login", data={"username": "alice", "password": PASSWORD}).status_code == 302
    assert owner.get_cookie("device", path="/auth").value != cookie.value, "a new id at each login"


def test_token_login_returns_a_device_token_that_it_takes_back(limited, client, alice):
    limited.config.update(LOGIN_FREE_FAILURES=1)
    body = {"username": "alice", "password": PASSWORD}
    device = client.post("/api/v1/auth/token", json=body).get_json()["device_token"]
    for _ in range(2):
        client.post("/api/v1/auth/token", json={**body, "password": "wrong password"})
    assert client.post("/api/v1/auth/token", json=body).status_code == 429
    assert client.post("/api/v1/auth/token", json={**body, "device_token": device}).status_code == 200
    assert client.post("/api/v1/auth/token", json={**body, "device_token": 7}).status_code == 429


def test_a_known_device_is_not_held_by_its_addresss_request_limit(limited, app, alice):
    """Someone at the owner's address (an office's shared one) using up its login requests
    keeps out everyone there but the owner's known devices, page and API alike."""
    limited.config["RATELIMIT_LOGIN_PER_IP"] = "2 per minute"
    owner, guesser = app.test_client(), app.test_client()
    body = {"username": "alice", "password": PASSWORD}
    assert owner.post("/auth/login", data=body).status_code == 302
    device = guesser.post("/api/v1/auth/token", json=body).get_json()["device_token"]
    owner.post("/auth/logout")
    for _ in range(2):
        guesser.post("/auth/login", data={**body, "password": "wrong password"})
    guesser.post("/api/v1/auth/token", json={**body, "password": "wrong password"})  # the API's second
    assert guesser.post("/auth/login", data=body).status_code == 429
    assert guesser.post("/api/v1/auth/token", json=body).status_code == 429
    assert owner.post("/auth/login", data=body).status_code == 302
    assert guesser.post("/api/v1/auth/token", json={**body, "device_token": device}).status_code == 200
    assert guesser.post("/auth/login", data={**body, "username": "bob"}).status_code == 429, "alice's device only"


def test_a_ceiling_per_username_bounds_guesses_from_many_addresses(limited, alice):
    limited.config["RATELIMIT_LOGIN_PER_USERNAME"] = "4 per hour"
    device = accounts.device_token(alice)
    for i in range(4):
        assert attempt("alice", "wrong password", address=f"198.51.100.{i}")[0] == "INVALID_CREDENTIALS"
    assert attempt("alice", PASSWORD, address="203.0.113.9")[0] == "RATE_LIMITED"
    assert attempt("alice", PASSWORD, address="203.0.113.9", device=device).id == alice.id


def test_names_that_do_not_exist_are_answered_alike(limited, client, alice, monkeypatch):
    """Same status, same words, same work (one argon2 verify), and the same delays, for a
    name that exists and one that does not; on the page and over the API."""
    limited.config.update(LOGIN_FREE_FAILURES=1)
    verified = []
    real_verify = accounts._verify
    monkeypatch.setattr(accounts, "_verify", lambda *args: verified.append(1) or real_verify(*args))

    def answers(name):
        """Each answer, with the name it echoes, the seconds still to wait (which may have
        moved on by one between the two names) and the page's CSRF token (signed with the
        second it was made) taken out."""
        body = {"username": name, "password": "wrong password"}
        api = [client.post("/api/v1/auth/token", json=body) for _ in range(3)]
        page = [client.post("/auth/login", data=body) for _ in range(2)]
        seen = [(r.status_code, r.text, r.headers.get("Retry-After") is not None) for r in api + page]
        return [(status, normalised(text, name), retry) for status, text, retry in seen]

    def normalised(text, name):
        text = re.sub(r'(csrf-token" content|name="csrf_token" value)="[^"]*"', r'\1="TOKEN"', text)
        return re.sub(r"\d+", "N", text.replace(name, "NAME"))

    verified.clear()
    existing = answers("alice")
    assert len(verified) == 2  # two failures verified, then the wait answers
    verified.clear()
    missing = answers("nobody-here")
    assert len(verified) == 2
    assert missing == existing
    assert [status for status, _, _ in existing] == [401, 401, 429, 429, 429]


def test_password_page_delays_wrong_current_passwords(limited, client, alice, bob):
    """A stolen session cannot guess the password behind it: wrong current passwords are
    delayed per user (RATE_LIMITED with Retry-After), the right one too while it waits."""
    limited.config.update(LOGIN_FREE_FAILURES=2)
    login(client, alice)
    form = {"new_password": "a brand new password", "new_password_confirm": "a brand new password"}
    for _ in range(3):
        response = client.post("/auth/password", data={**form, "current_password": "guess"})
        assert "not your current password" in response.text
    response = client.post("/auth/password", data={**form, "current_password": PASSWORD})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    with pytest.raises(ChatError) as excinfo:
        accounts.change_password(alice, PASSWORD, "a brand new password")
    assert excinfo.value.code == "RATE_LIMITED"
    accounts.change_password(bob, PASSWORD, "a brand new password")  # per user


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
