"""Sessions per device (issue 24): one record per login, page or token; the account page
and the API list and end them, one or all others; ending one signs out exactly that
device (its cookie, its tokens, its sockets); a login starts a fresh cookie; idle and
absolute lifetimes, on a clock the tests move."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from webchat.extensions import db
from webchat.models import DeviceSession, utcnow
from webchat.services import accounts, sessions

from .support.accounts import PASSWORD, login

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)


class Clock:
    """The sessions' clock, moved by the test instead of waited for."""

    def __init__(self, monkeypatch):
        self.at = utcnow()
        monkeypatch.setattr(sessions, "now", lambda: self.at)

    def advance(self, **delta):
        self.at += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def device(app, user_agent=CHROME, address="203.0.113.7"):
    """A browser with its own User-Agent and address."""
    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    return client


def signed_in(client):
    return client.get("/rooms").status_code == 200


def token_login(client, username="alice", user_agent="webchat-bot/1.0"):
    response = client.post(
        "/api/v1/auth/token", json={"username": username, "password": PASSWORD}, headers={"User-Agent": user_agent}
    )
    assert response.status_code == 200, response.text
    return response.get_json()


def bearer_header(token):
    return {"Authorization": f"Bearer {token}"}


def listed(client, headers=None):
    response = client.get("/api/v1/me/sessions", headers=headers or {})
    assert response.status_code == 200, response.text
    return response.get_json()["sessions"]


def records(user):
    return db.session.scalars(sa.select(DeviceSession).where(DeviceSession.user_id == user.id)).all()


def refresh(client, refresh_token):
    return client.post("/api/v1/auth/refresh", headers=bearer_header(refresh_token))


def code_of(response):
    return response.get_json()["error"]["code"]


# --- the record of a login -----------------------------------------------------------


@pytest.mark.parametrize(
    "user_agent, expected",
    [
        (CHROME, "Chrome 120 · Windows 10"),
        (IPHONE, "Mobile Safari 17 · iOS 17 · iPhone"),
        ("curl/8.4.0", "curl 8"),
        ("", ""),
        (None, ""),
    ],
)
def test_the_device_is_read_from_the_user_agent(user_agent, expected):
    assert sessions.describe_device(user_agent) == expected


def test_a_page_login_records_its_device_and_address(app, alice):
    browser = login(device(app), alice)
    (record,) = records(alice)
    assert (record.kind, record.device, record.address) == ("page", "Chrome 120 · Windows 10", "203.0.113.7")
    with browser.session_transaction() as cookie:
        assert cookie["session_id"] == record.id
    (shown,) = listed(browser)
    assert shown["current"] is True and shown["id"] == record.id
    assert set(shown) == {"id", "kind", "device", "address", "created_at", "last_seen_at", "current"}


def test_a_token_login_is_a_session_of_its_refresh_family(client, alice):
    tokens = token_login(client)
    (record,) = records(alice)
    assert (record.kind, record.device) == ("token", "webchat-bot 1")
    assert accounts.decode(tokens["refresh_token"], "refresh")["fam"] == record.family
    assert accounts.decode(tokens["access_token"], "access")["fam"] == record.family
    # Rotation stays in the session: still one, marked current for its own token.
    rotated = refresh(client, tokens["refresh_token"]).get_json()
    (shown,) = listed(client, bearer_header(rotated["access_token"]))
    assert shown["id"] == record.id and shown["current"] is True


def test_the_pages_socket_token_carries_its_sessions_family(app, alice):
    browser = login(device(app), alice)
    token = browser.post("/api/v1/auth/socket-token").get_json()["access_token"]
    (record,) = records(alice)
    assert accounts.decode(token, "access")["fam"] == record.family


# --- a fresh cookie at login ----------------------------------------------------------


def form_token(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_a_login_starts_a_fresh_cookie_with_a_new_csrf_secret(app_with):
    client = app_with(WTF_CSRF_ENABLED=True).test_client()
    accounts.signup("alice", PASSWORD)
    before = form_token(client, "/auth/login")
    with client.session_transaction() as cookie:
        old_secret = cookie["csrf_token"]
        cookie["planted"] = "by whoever held the cookie before the login"
    response = client.post("/auth/login", data={"username": "alice", "password": PASSWORD, "csrf_token": before})
    assert response.status_code == 302
    with client.session_transaction() as cookie:
        assert "planted" not in cookie and cookie.get("csrf_token") != old_secret
    # The token of the page before the login is worth nothing after it.
    response = client.post("/auth/theme", data={"theme-theme": "dark", "csrf_token": before})
    assert response.status_code == 403
    response = client.post(
        "/auth/theme", data={"theme-theme": "dark", "csrf_token": form_token(client, "/auth/password")}
    )
    assert response.status_code == 302


def test_a_cookie_without_a_session_record_is_signed_out(client, alice):
    """A cookie from before sessions were recorded (the user id alone) signs in no more."""
    login(client, alice)
    with client.session_transaction() as cookie:
        del cookie["session_id"]
    assert not signed_in(client)


def test_a_cookie_naming_another_users_session_is_signed_out(app, alice, bob):
    alices, bobs = login(device(app), alice), login(device(app), bob)
    with alices.session_transaction() as cookie:
        alices_session = cookie["session_id"]
    with bobs.session_transaction() as cookie:
        cookie["session_id"] = alices_session
    assert not signed_in(bobs) and signed_in(alices)


# --- ending sessions -------------------------------------------------------------------


def account_page(client):
    response = client.get("/auth/password")
    assert response.status_code == 200
    return response.text


def session_items(html):
    return re.findall(r'<li class="session-item" data-session-id="(\d+)"( data-current="true")?>', html)


def test_the_account_page_lists_the_sessions_this_device_first(app, alice, client):
    phone = login(device(app, IPHONE, "198.51.100.4"), alice)
    laptop = login(device(app), alice)
    token_login(client)
    html = account_page(laptop)
    items = session_items(html)
    assert len(items) == 3 and items[0][1] and not any(current for _id, current in items[1:])
    assert "Mobile Safari 17 · iOS 17 · iPhone" in html and "198.51.100.4" in html
    assert "This device" in html and "End all other sessions" in html
    assert signed_in(phone)


def test_a_device_named_by_its_user_agent_is_never_markup(app, alice):
    """ua-parser passes parts of the User-Agent through (an Android model): user text."""
    hostile = 'Mozilla/5.0 (Linux; Android 14; <b>X</b>" onfocus="alert(1) Build/1) Chrome/119.0 Mobile Safari/537.36'
    login(device(app, hostile), alice)
    viewer = login(device(app), alice)
    html = account_page(viewer)
    assert "<b>X</b>" not in html and '" onfocus="' not in html
    assert "&lt;b&gt;X&lt;/b&gt;" in html


def test_ending_one_session_signs_out_that_device_only(app, alice, bob):
    phone, laptop = login(device(app, IPHONE), alice), login(device(app), alice)
    bobs = login(device(app), bob)
    phones = next(s for s in listed(laptop) if not s["current"])
    response = laptop.post(f"/auth/sessions/{phones['id']}/end")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/password#sessions-heading")
    assert not signed_in(phone)
    assert signed_in(laptop) and signed_in(bobs)
    assert [s["current"] for s in listed(laptop)] == [True]


def test_another_users_session_is_not_found_on_the_page_and_stays(app, alice, bob):
    alices, bobs = login(device(app), alice), login(device(app), bob)
    (bobs_session,) = listed(bobs)
    response = alices.post(f"/auth/sessions/{bobs_session['id']}/end")
    assert response.status_code == 404 and "No such session." in response.text
    assert signed_in(bobs)


def test_ending_all_other_sessions_keeps_this_one(app, alice, client):
    phone, laptop = login(device(app, IPHONE), alice), login(device(app), alice)
    tokens = token_login(client)
    response = laptop.post("/auth/sessions/end-others", follow_redirects=True)
    assert "2 other sessions were ended." in response.text
    assert not signed_in(phone) and signed_in(laptop)
    assert code_of(refresh(client, tokens["refresh_token"])) == "TOKEN_INVALID"
    assert code_of(client.get("/api/v1/rooms", headers=bearer_header(tokens["access_token"]))) == "TOKEN_INVALID"


def test_log_out_ends_this_device_only(app, alice, client):
    phone, laptop = login(device(app, IPHONE), alice), login(device(app), alice)
    tokens = token_login(client)
    response = laptop.post("/auth/logout/this-device")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert not signed_in(laptop)
    assert signed_in(phone)
    assert refresh(client, tokens["refresh_token"]).status_code == 200
    with laptop.session_transaction() as cookie:
        assert dict(cookie) == {}


def test_log_out_everywhere_ends_every_session(app, alice, client):
    phone, laptop = login(device(app, IPHONE), alice), login(device(app), alice)
    tokens = token_login(client)
    laptop.post("/auth/logout")
    assert not signed_in(phone) and not signed_in(laptop)
    assert code_of(refresh(client, tokens["refresh_token"])) == "TOKEN_INVALID"
    assert sessions.list_sessions(alice) == []


def test_a_password_change_keeps_this_browser_in_a_new_session(app, alice):
    phone, laptop = login(device(app, IPHONE), alice), login(device(app), alice)
    (before,) = [s["id"] for s in listed(laptop) if s["current"]]
    response = laptop.post(
        "/auth/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new password",
            "new_password_confirm": "a brand new password",
        },
    )
    assert response.status_code == 302
    assert not signed_in(phone) and signed_in(laptop)
    (now,) = listed(laptop)
    assert now["current"] and now["id"] != before


# --- the API -----------------------------------------------------------------------------


def test_the_api_lists_and_ends_the_callers_own_sessions(app, alice, client):
    phone = login(device(app, IPHONE), alice)
    tokens = token_login(client)
    caller = bearer_header(tokens["access_token"])
    shown = listed(client, caller)
    assert sorted(s["kind"] for s in shown) == ["page", "token"]
    assert [s["kind"] for s in shown if s["current"]] == ["token"]
    phones = next(s for s in shown if s["kind"] == "page")
    response = client.delete(f"/api/v1/me/sessions/{phones['id']}", headers=caller)
    assert response.status_code == 200 and response.get_json() == {}
    assert not signed_in(phone)
    assert [s["kind"] for s in listed(client, caller)] == ["token"]
    # Ended already: nothing to end.
    response = client.delete(f"/api/v1/me/sessions/{phones['id']}", headers=caller)
    assert response.status_code == 404 and code_of(response) == "NOT_FOUND"


def test_the_api_ends_the_callers_own_token_session(client, alice):
    tokens = token_login(client)
    (own,) = listed(client, bearer_header(tokens["access_token"]))
    assert (
        client.delete(f"/api/v1/me/sessions/{own['id']}", headers=bearer_header(tokens["access_token"])).status_code
        == 200
    )
    assert code_of(client.get("/api/v1/rooms", headers=bearer_header(tokens["access_token"]))) == "TOKEN_INVALID"
    assert code_of(refresh(client, tokens["refresh_token"])) == "TOKEN_INVALID"


def test_another_users_session_is_not_found_on_the_api(app, alice, bob, client):
    bobs = login(device(app), bob)
    (bobs_session,) = listed(bobs)
    alices = bearer_header(token_login(client)["access_token"])
    assert all(s["id"] != bobs_session["id"] for s in listed(client, alices))
    for session_id in (bobs_session["id"], 10**9):
        response = client.delete(f"/api/v1/me/sessions/{session_id}", headers=alices)
        assert response.status_code == 404 and code_of(response) == "NOT_FOUND"
    assert signed_in(bobs)


# --- sockets -------------------------------------------------------------------------------


def page_socket(browser, connect):
    """A socket connected as the browser's page connects it; and its token."""
    token = browser.post("/api/v1/auth/socket-token").get_json()["access_token"]
    sock = connect(auth={"token": token})
    assert sock.is_connected("/chat")
    return sock, token


def test_ending_a_session_disconnects_exactly_that_devices_sockets(app, alice, connect, client):
    phone, laptop = login(device(app, IPHONE), alice), login(device(app), alice)
    tokens = token_login(client)
    (phone_socket, phone_token), (laptop_socket, _) = page_socket(phone, connect), page_socket(laptop, connect)
    bot_socket = connect(auth={"token": tokens["access_token"]})
    phones = next(s for s in listed(phone) if s["current"])
    laptop.post(f"/auth/sessions/{phones['id']}/end")
    assert not phone_socket.is_connected("/chat")
    assert laptop_socket.is_connected("/chat") and bot_socket.is_connected("/chat")
    # The ended session's token connects no more, and the page gets no new one.
    assert not connect(auth={"token": phone_token}).is_connected("/chat")
    assert code_of(phone.post("/api/v1/auth/socket-token")) == "UNAUTHENTICATED"
    laptop.post("/auth/sessions/end-others")
    assert not bot_socket.is_connected("/chat") and laptop_socket.is_connected("/chat")


def test_reconciliation_finds_a_socket_of_an_ended_session(app, alice, connect):
    """A cut that missed a socket (it connected on a node the cut did not reach) is caught
    by the periodic re-check: the family's session is no longer live."""
    laptop = login(device(app), alice)
    token = laptop.post("/api/v1/auth/socket-token").get_json()["access_token"]
    claims = accounts.decode(token, "access")
    credential = (alice.id, claims["gen"], claims["fam"])
    assert accounts.revoked_credentials([credential]) == set()
    (own,) = listed(laptop)
    sessions.end_session(alice, own["id"])
    assert accounts.revoked_credentials([credential]) == {credential}


def test_reconciliation_finds_a_socket_of_an_expired_session(app, alice, clock):
    laptop = login(device(app), alice)
    claims = accounts.decode(laptop.post("/api/v1/auth/socket-token").get_json()["access_token"], "access")
    credential = (alice.id, claims["gen"], claims["fam"])
    clock.advance(days=14, seconds=1)  # unused past the idle lifetime
    assert accounts.revoked_credentials([credential]) == {credential}


# --- lifetimes -----------------------------------------------------------------------------


def last_seen(user):
    db.session.expire_all()
    (record,) = records(user)
    return record.last_seen_at


def test_last_seen_moves_at_most_once_a_minute(app, alice, clock):
    browser = login(device(app), alice)
    seen = last_seen(alice)
    clock.advance(seconds=30)
    assert signed_in(browser) and last_seen(alice) == seen
    clock.advance(seconds=31)
    assert signed_in(browser) and last_seen(alice) == clock.at


def test_an_idle_page_session_expires(app_with, clock):
    app = app_with(SESSION_IDLE_LIFETIME=timedelta(days=14), SESSION_ABSOLUTE_LIFETIME=timedelta(days=365))
    alice = accounts.signup("alice", PASSWORD)
    browser = login(device(app), alice)
    for _ in range(3):  # used every 13 days: it lives on past the idle lifetime
        clock.advance(days=13)
        assert signed_in(browser)
    clock.advance(days=14, seconds=1)
    assert not signed_in(browser)
    assert sessions.list_sessions(alice) == []


def test_a_page_session_ends_at_its_absolute_lifetime_however_used(app_with, clock):
    app = app_with(SESSION_IDLE_LIFETIME=timedelta(days=14), SESSION_ABSOLUTE_LIFETIME=timedelta(days=30))
    alice = accounts.signup("alice", PASSWORD)
    browser = login(device(app), alice)
    for _ in range(3):
        clock.advance(days=9)
        assert signed_in(browser)
    clock.advance(days=3)  # 30 days after the login
    assert not signed_in(browser)


def token_login_used(app_with, clock, absolute_days, every_days):
    """A token login on an app with a 14-day idle lifetime, its refresh token rotated
    three times `every_days` apart; the client and the last tokens."""
    lifetimes = {
        "SESSION_IDLE_LIFETIME": timedelta(days=14),
        "SESSION_ABSOLUTE_LIFETIME": timedelta(days=absolute_days),
    }
    client = app_with(**lifetimes).test_client()
    accounts.signup("alice", PASSWORD)
    tokens = token_login(client)
    for _ in range(3):  # a rotation is a use
        clock.advance(days=every_days)
        tokens = refresh(client, tokens["refresh_token"]).get_json()
        assert "refresh_token" in tokens
    return client, tokens


def test_an_idle_token_session_expires(app_with, clock):
    client, tokens = token_login_used(app_with, clock, absolute_days=365, every_days=13)
    clock.advance(days=14, seconds=1)
    response = refresh(client, tokens["refresh_token"])
    assert response.status_code == 401 and code_of(response) == "TOKEN_EXPIRED"
    # Its access tokens die with it.
    assert code_of(client.get("/api/v1/rooms", headers=bearer_header(tokens["access_token"]))) == "TOKEN_INVALID"


def test_a_token_session_ends_at_its_absolute_lifetime_however_used(app_with, clock):
    client, tokens = token_login_used(app_with, clock, absolute_days=30, every_days=9)
    clock.advance(days=3)
    assert code_of(refresh(client, tokens["refresh_token"])) == "TOKEN_EXPIRED"


def test_a_new_login_clears_the_users_dead_records(app, alice, clock):
    login(device(app), alice)
    clock.advance(days=31)
    login(device(app), alice)
    assert len(records(alice)) == 1
