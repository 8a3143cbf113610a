"""Rate limits: per IP on the HTTP auth endpoints, per username on logins, per user on
messages (over the socket too); RATELIMIT_ENABLED=false switches them off."""

import re
import uuid

import pytest

from webchat import ratelimit
from webchat.errors import ChatError
from webchat.services import accounts, messages, rooms, search

from .support.accounts import PASSWORD, login
from .support.services import REDIS_URL, require_redis


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
        """Each answer, the name it echoes and the seconds still to wait (which may have
        moved on by one between the two names) taken out."""
        body = {"username": name, "password": "wrong password"}
        api = [client.post("/api/v1/auth/token", json=body) for _ in range(3)]
        page = [client.post("/auth/login", data=body) for _ in range(2)]
        seen = [(r.status_code, r.text, r.headers.get("Retry-After") is not None) for r in api + page]
        return [(status, re.sub(r"\d+", "N", text.replace(name, "NAME")), retry) for status, text, retry in seen]

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
