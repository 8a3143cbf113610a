"""Accounts against the real server (gunicorn + eventlet), on SQLite and on MariaDB:
the signup, login and logout pages with their CSRF protection, and the token API."""

import html
import json
import threading
import time
import unicodedata
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, csrf_token, csrf_token_in, unique_name

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def path_of(response):
    """The path (and query) a redirect points to, whether its Location is relative or absolute."""
    location = urlsplit(response.headers["Location"])
    return location.path + (f"?{location.query}" if location.query else "")


def signup(server, username, password=PASSWORD):
    """A requests.Session signed up (and so logged in) through the real form."""
    session = requests.Session()
    token = csrf_token(session, f"{server.url}/auth/signup")
    response = session.post(
        f"{server.url}/auth/signup",
        data={"csrf_token": token, "username": username, "password": password, "password_confirm": password},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    assert path_of(response) == "/rooms"
    return session


def login(server, username, password=PASSWORD, session=None, next_=None):
    """POST the login form (with its CSRF token); the raw response, redirects not followed."""
    session = session or requests.Session()
    url = f"{server.url}/auth/login"
    params = {"next": next_} if next_ else None
    token = csrf_token(session, url)
    return session.post(
        url,
        params=params,
        data={"csrf_token": token, "username": username, "password": password},
        allow_redirects=False,
        timeout=10,
    )


def logout(server, session):
    token = csrf_token(session, f"{server.url}/rooms")
    return session.post(f"{server.url}/auth/logout", data={"csrf_token": token}, allow_redirects=False, timeout=10)


def assert_on_rooms_page_as(server, session, username):
    response = session.get(f"{server.url}/rooms", allow_redirects=False, timeout=10)
    assert response.status_code == 200, response.status_code
    assert '<span class="whoami"' in response.text
    assert html.escape(username) in response.text
    return response


def assert_signed_out(server, session):
    response = session.get(f"{server.url}/rooms", allow_redirects=False, timeout=10)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/login"
    assert parse_qs(location.query).get("next") == ["/rooms"]


def api_signup(server, username, password=PASSWORD):
    response = requests.post(
        f"{server.url}/api/v1/auth/signup", json={"username": username, "password": password}, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()["user"]


def api_tokens(server, username, password=PASSWORD):
    return requests.post(
        f"{server.url}/api/v1/auth/token", json={"username": username, "password": password}, timeout=10
    )


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def error_code(response):
    return response.json()["error"]["code"]


def test_health_and_engineio_handshake(server):
    health = requests.get(f"{server.url}/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "db": "ok", "queue": "none"}

    handshake = requests.get(f"{server.url}/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=5)
    assert handshake.status_code == 200
    # An engine.io v4 OPEN packet: "0" followed by the session's parameters.
    assert handshake.text.startswith("0")
    opened = json.loads(handshake.text[1:])
    assert opened["sid"]
    assert "websocket" in opened["upgrades"]


def test_anonymous_pages_redirect_to_login(server):
    assert_signed_out(server, requests.Session())
    home = requests.get(f"{server.url}/", allow_redirects=False, timeout=5)
    assert home.status_code == 302


def test_signup_through_the_form(server):
    session = requests.Session()
    page = session.get(f"{server.url}/auth/signup", timeout=10)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for name in ("username", "password", "password_confirm"):
        assert f'name="{name}"' in page.text
    username = unique_name("signup")
    response = session.post(
        f"{server.url}/auth/signup",
        data={
            "csrf_token": csrf_token_in(page.text),
            "username": username,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    assert path_of(response) == "/rooms"
    assert_on_rooms_page_as(server, session, username)
    # A signed-in user asking for the form again goes to the rooms.
    again = session.get(f"{server.url}/auth/signup", allow_redirects=False, timeout=10)
    assert again.status_code == 302 and path_of(again) == "/rooms"


@pytest.mark.parametrize(
    "form, field_error",
    [
        ({"username": "a"}, "Use 2 to 32 characters."),
        ({"password_confirm": "something else"}, "The passwords do not match."),
        ({"username": "has space"}, "Use letters, digits"),
    ],
    ids=["short-name", "mismatch", "bad-characters"],
)
def test_signup_form_rejects_bad_input(server, form, field_error):
    session = requests.Session()
    token = csrf_token(session, f"{server.url}/auth/signup")
    data = {"csrf_token": token, "username": unique_name(), "password": PASSWORD, "password_confirm": PASSWORD}
    data.update(form)
    response = session.post(f"{server.url}/auth/signup", data=data, allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert html.escape(field_error) in response.text
    assert_signed_out(server, session)


def test_signup_with_a_taken_name_is_refused(server):
    taken = unique_name("Taken")
    api_signup(server, taken)
    session = requests.Session()
    token = csrf_token(session, f"{server.url}/auth/signup")
    response = session.post(
        f"{server.url}/auth/signup",
        data={"csrf_token": token, "username": taken.upper(), "password": PASSWORD, "password_confirm": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400
    assert "That username is taken." in response.text
    assert_signed_out(server, session)


def test_logout_ends_the_session(server):
    username = unique_name("bye")
    session = signup(server, username)
    old_cookies = session.cookies.copy()

    response = logout(server, session)
    assert response.status_code == 302
    assert path_of(response) == "/auth/login"
    assert_signed_out(server, session)

    # The cookie from before the logout is worth nothing now.
    replay = requests.Session()
    replay.cookies.update(old_cookies)
    assert_signed_out(server, replay)


def test_login_through_the_form(server):
    username = unique_name("hello")
    api_signup(server, username)
    session = requests.Session()
    response = login(server, username, session=session)
    assert response.status_code == 302
    assert path_of(response) == "/rooms"
    assert_on_rooms_page_as(server, session, username)


@pytest.mark.parametrize(
    "next_, expected",
    [("/rooms?x=1", "/rooms?x=1"), ("//evil.example/", "/rooms"), ("https://evil.example/", "/rooms")],
)
def test_login_honours_only_local_next(server, next_, expected):
    username = unique_name("next")
    api_signup(server, username)
    response = login(server, username, next_=next_)
    assert response.status_code == 302
    assert path_of(response) == expected
    assert "evil.example" not in response.headers["Location"]


def test_wrong_password_is_refused(server):
    username = unique_name("wrong")
    api_signup(server, username)
    session = requests.Session()
    response = login(server, username, password="not the password", session=session)
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert_signed_out(server, session)
    unknown = login(server, unique_name("nobody"), session=session)
    assert unknown.status_code == 401
    assert "Wrong username or password." in unknown.text


def test_form_posts_without_csrf_token_are_refused(server):
    username = unique_name("csrf")
    anonymous = requests.Session()
    anonymous.get(f"{server.url}/auth/signup", timeout=10)  # a session exists, its token is not sent
    refused = anonymous.post(
        f"{server.url}/auth/signup",
        data={"username": username, "password": PASSWORD, "password_confirm": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert refused.status_code == 403
    available = requests.get(f"{server.url}/api/v1/users/available", params={"username": username}, timeout=10)
    assert available.json()["available"] is True, "a refused signup must not create the account"

    api_signup(server, username)
    refused = anonymous.post(
        f"{server.url}/auth/login",
        data={"username": username, "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert refused.status_code == 403
    assert_signed_out(server, anonymous)

    forged = anonymous.post(
        f"{server.url}/auth/login",
        data={
            "csrf_token": "forged" + csrf_token(anonymous, f"{server.url}/auth/login")[6:],
            "username": username,
            "password": PASSWORD,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert forged.status_code == 403
    assert_signed_out(server, anonymous)

    session = signup(server, unique_name("csrf"))
    refused = session.post(f"{server.url}/auth/logout", allow_redirects=False, timeout=10)
    assert refused.status_code == 403
    assert session.get(f"{server.url}/rooms", allow_redirects=False, timeout=10).status_code == 200


def test_session_api_calls_need_the_csrf_header(server):
    session = signup(server, unique_name("xhr"))
    refused = session.post(f"{server.url}/api/v1/auth/socket-token", timeout=10)
    assert refused.status_code == 403
    assert error_code(refused) == "FORBIDDEN"

    token = csrf_token(session, f"{server.url}/rooms")
    granted = session.post(f"{server.url}/api/v1/auth/socket-token", headers={"X-CSRFToken": token}, timeout=10)
    assert granted.status_code == 200
    access = granted.json()["access_token"]
    assert requests.get(f"{server.url}/api/v1/rooms", headers=bearer(access), timeout=10).status_code == 200


def test_api_token_flow_with_refresh_rotation(server):
    username = unique_name("api")
    user = api_signup(server, username)
    assert user["username"] == username and isinstance(user["id"], int)

    duplicate = requests.post(
        f"{server.url}/api/v1/auth/signup", json={"username": username.upper(), "password": PASSWORD}, timeout=10
    )
    assert duplicate.status_code == 409 and error_code(duplicate) == "USERNAME_TAKEN"

    wrong = api_tokens(server, username, "not the password")
    assert wrong.status_code == 401 and error_code(wrong) == "INVALID_CREDENTIALS"

    issued = api_tokens(server, username)
    assert issued.status_code == 200
    first = issued.json()
    assert set(first) >= {"access_token", "refresh_token", "expires_in"}
    assert isinstance(first["expires_in"], int) and first["expires_in"] > 0

    rooms = requests.get(f"{server.url}/api/v1/rooms", headers=bearer(first["access_token"]), timeout=10)
    assert rooms.status_code == 200 and rooms.json() == {"rooms": []}
    anonymous = requests.get(f"{server.url}/api/v1/rooms", timeout=10)
    assert anonymous.status_code == 401 and error_code(anonymous) == "UNAUTHENTICATED"
    garbage = requests.get(f"{server.url}/api/v1/rooms", headers=bearer("not.a.jwt"), timeout=10)
    assert garbage.status_code == 401 and error_code(garbage) == "TOKEN_INVALID"

    # An access token is not a refresh token.
    misuse = requests.post(f"{server.url}/api/v1/auth/refresh", headers=bearer(first["access_token"]), timeout=10)
    assert misuse.status_code == 401 and error_code(misuse) == "TOKEN_INVALID"

    rotated = requests.post(f"{server.url}/api/v1/auth/refresh", headers=bearer(first["refresh_token"]), timeout=10)
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        requests.get(f"{server.url}/api/v1/rooms", headers=bearer(second["access_token"]), timeout=10).status_code
        == 200
    )

    # The spent token presented again: reuse is detected and the whole family revoked.
    reused = requests.post(f"{server.url}/api/v1/auth/refresh", headers=bearer(first["refresh_token"]), timeout=10)
    assert reused.status_code == 401 and error_code(reused) == "TOKEN_REUSED"
    revoked = requests.post(f"{server.url}/api/v1/auth/refresh", headers=bearer(second["refresh_token"]), timeout=10)
    assert revoked.status_code == 401 and error_code(revoked) == "TOKEN_INVALID"

    # A new login starts a new family that works.
    fresh = api_tokens(server, username).json()
    assert (
        requests.post(
            f"{server.url}/api/v1/auth/refresh", headers=bearer(fresh["refresh_token"]), timeout=10
        ).status_code
        == 200
    )


def test_logout_revokes_the_users_tokens(server):
    username = unique_name("revoke")
    session = signup(server, username)
    tokens = api_tokens(server, username).json()
    assert requests.get(f"{server.url}/api/v1/rooms", headers=bearer(tokens["access_token"]), timeout=10).ok

    assert logout(server, session).status_code == 302
    access = requests.get(f"{server.url}/api/v1/rooms", headers=bearer(tokens["access_token"]), timeout=10)
    assert access.status_code == 401 and error_code(access) == "TOKEN_INVALID"
    refresh = requests.post(f"{server.url}/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]), timeout=10)
    assert refresh.status_code == 401


def test_korean_username_round_trips(server):
    username = "김철수"
    session = signup(server, username)
    assert_on_rooms_page_as(server, session, username)
    assert logout(server, session).status_code == 302

    taken = requests.get(f"{server.url}/api/v1/users/available", params={"username": username}, timeout=10)
    assert taken.json()["available"] is False

    # Typed in decomposed jamo (as some keyboards send it), it is the same name.
    decomposed = unicodedata.normalize("NFD", username)
    assert decomposed != username
    response = login(server, decomposed, session=session)
    assert response.status_code == 302
    page = assert_on_rooms_page_as(server, session, username)
    assert page.headers["Content-Type"].lower().endswith("charset=utf-8")

    tokens = api_tokens(server, username)
    assert tokens.status_code == 200

    other = api_signup(server, "이영희")
    assert other["username"] == "이영희"
    # What the database holds, read without the app: the same code points, composed.
    stored_names = {row[0] for row in server.database.query("SELECT username FROM users")}
    assert {"김철수", "이영희"} <= stored_names


@pytest.mark.parametrize("async_mode", ["eventlet", "gevent"])
def test_password_hashing_does_not_pause_the_sockets(live_server, async_mode):
    """argon2 computes for about 0.1 s per login at the production cost (here, about half
    a second). Off the event loop, socket events sent while a login hashes are answered
    while it still runs; on the loop, they would all wait for the hash to end."""
    server = live_server(async_mode=async_mode, env={"ARGON2_TIME_COST": "12", "ARGON2_MEMORY_COST": "65536"})
    username = unique_name("hash")
    _user, token = api_user(server, username)
    room = api(server, token, "POST", "/rooms", json={"name": "Hashing"}).json()["room"]
    sock = ChatClient(server, token).connect()
    answered = []

    def log_in():
        response = requests.post(
            f"{server.url}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=30
        )
        answered.append(response.status_code)

    login = threading.Thread(target=log_in)
    login.start()
    try:
        time.sleep(0.1)  # the login reaches the server and starts hashing
        events = [sock.call("open_room", {"room_id": room["id"]})["ok"] for _ in range(3)]
        still_hashing = login.is_alive()
    finally:
        login.join()
        sock.close()
    assert events == [True, True, True] and still_hashing
    assert answered == [200]
