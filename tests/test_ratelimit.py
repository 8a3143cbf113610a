"""Rate limits: per IP on the HTTP auth endpoints, per username on logins, per user on
messages (over the socket too); RATELIMIT_ENABLED=false switches them off."""

import pytest

from webchat.errors import ChatError
from webchat.services import accounts, messages, rooms, search

from .support.accounts import PASSWORD


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
