"""The account pages: signup, login (with `?next=`), logout, password change, the
anonymous redirect, CSRF on forms, security headers, cookies and escaping."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from webchat.extensions import db
from webchat.models import User
from webchat.services import accounts

from .support.accounts import PASSWORD, login

NEW_PASSWORD = "a brand new password"


@pytest.fixture
def browser(client):
    """Another browser on the same app, for a second session."""
    return lambda: client.application.test_client()


def user_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def field_error(html, name):
    """The error text shown next to field `name`, or None; checks the input is marked."""
    help_text = re.search(rf'<p\b[^>]*\bid="{name}-help"[^>]*>(.*?)</p>', html, re.S)
    assert help_text, f"no field {name} in the page"
    error = re.search(r'<span class="error-text">(.*?)</span>', help_text.group(1), re.S)
    field = re.search(rf'<input [^>]*\bid="{name}"[^>]*>', html)
    assert field, f"no input {name}"
    assert ('aria-invalid="true"' in field.group(0)) is bool(error)
    return error.group(1).strip() if error else None


def form_error(html):
    alert = re.search(r'<div\b[^>]*\brole="alert"[^>]*>(.*?)</div>', html, re.S)
    return alert.group(1).strip() if alert else None


def input_value(html, name):
    field = re.search(rf'<input [^>]*\bname="{name}"[^>]*>', html)
    value = re.search(r'value="([^"]*)"', field.group(0))
    return value.group(1) if value else None


def form_action(html, form_id):
    form = re.search(rf'<form\b[^>]*\bid="{form_id}"[^>]*>', html).group(0)
    return re.search(r'action="([^"]*)"', form).group(1).replace("&amp;", "&")


def next_of(url):
    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query).get("next")


def signup(client, username, password=PASSWORD, confirm=None):
    return client.post(
        "/auth/signup",
        data={"username": username, "password": password, "password_confirm": password if confirm is None else confirm},
    )


def is_logged_in(client):
    response = client.get("/rooms")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
    return False


def api_tokens(client, password=PASSWORD):
    response = client.post("/api/v1/auth/token", json={"username": "alice", "password": password})
    return response.status_code, response.get_json()


def access_token_status(client, access_token):
    """Whether an access token still works: an API call any signed-in user may make."""
    response = client.get("/api/v1/rooms", headers={"Authorization": f"Bearer {access_token}"})
    return response.status_code, response.get_json()


# --- signup -------------------------------------------------------------------------


def test_signup_page(client):
    response = client.get("/auth/signup")
    assert response.status_code == 200
    for name in ("username", "password", "password_confirm"):
        assert field_error(response.text, name) is None


def test_signup_logs_in_and_goes_to_rooms(client):
    response = signup(client, "carol")
    assert response.status_code == 302
    assert response.headers["Location"] == "/rooms"
    assert accounts.find_user("carol") is not None
    rooms = client.get("/rooms")
    assert rooms.status_code == 200
    assert 'class="whoami"' in rooms.text and ">carol<" in rooms.text


@pytest.mark.parametrize(
    "username, password, confirm, fields, message",
    [
        ("a", PASSWORD, None, {"username"}, None),
        ("a" * 33, PASSWORD, None, {"username"}, None),
        ("", PASSWORD, None, {"username"}, None),
        ("   ", PASSWORD, None, {"username"}, None),
        ("has space", PASSWORD, None, {"username"}, "letters, digits"),
        ("semi;colon", PASSWORD, None, {"username"}, "letters, digits"),
        ("<script>", PASSWORD, None, {"username"}, "letters, digits"),
        ("tab\tname", PASSWORD, None, {"username"}, "control characters"),
        ("carol", "1234567", None, {"password"}, None),
        ("carol", "iloveyou1", None, {"password"}, "most used passwords"),
        ("carol", "carol2026!", None, {"password"}, "username"),
        # The confirmation's error and the strength's, at once.
        ("carol", "iloveyou1", "iloveyou2", {"password", "password_confirm"}, "most used passwords"),
        ("carol", "", None, {"password", "password_confirm"}, None),
        ("carol", PASSWORD, "correct horse battery!", {"password_confirm"}, "do not match"),
        ("carol", PASSWORD, "", {"password_confirm"}, None),
        ("a", "short", None, {"username", "password"}, None),
    ],
)
def test_signup_errors_are_shown_next_to_the_field(client, username, password, confirm, fields, message):
    response = signup(client, username, password, confirm)
    assert response.status_code == 400
    html = response.text
    for field in fields:
        assert field_error(html, field), f"no error next to {field}"
    if message:
        assert any(message in field_error(html, field) for field in fields)
    for other in {"username", "password", "password_confirm"} - fields:
        assert field_error(html, other) is None, other
    assert user_count() == 0
    assert not is_logged_in(client)


@pytest.mark.parametrize("username", ["alice", "ALICE", "Alice", " alice "])
def test_signup_with_a_taken_name_case_insensitively(client, alice, username):
    response = signup(client, username)
    assert response.status_code == 400
    assert field_error(response.text, "username") == "That username is taken."
    assert field_error(response.text, "password") is None
    assert user_count() == 1
    assert not is_logged_in(client)


@pytest.mark.parametrize(
    "username, password, confirm, errors",
    [
        ("alice", "short", None, {"username": "That username is taken.", "password": "Use 8 to 1024 characters."}),
        (
            "ALICE",
            PASSWORD,
            "something else",
            {"username": "That username is taken.", "password_confirm": "do not match"},
        ),
        ("Alice", "", "", {"username": "taken", "password": "Choose a password.", "password_confirm": "again"}),
        ("a", "short", None, {"username": "Use 2 to 32 characters.", "password": "Use 8 to 1024 characters."}),
    ],
)
def test_signup_shows_every_fields_error_at_once(client, alice, username, password, confirm, errors):
    """Issue 22: a taken name and a bad password, both told on the first try."""
    response = signup(client, username, password, confirm)
    assert response.status_code == 400
    for field in ("username", "password", "password_confirm"):
        shown = field_error(response.text, field)
        if field in errors:
            assert shown and errors[field] in shown, (field, shown)
        else:
            assert shown is None, (field, shown)
    # The name was refused: focus goes there first.
    assert "autofocus" in re.search(r'<input [^>]*\bid="username"[^>]*>', response.text).group(0)
    assert user_count() == 1


def test_signup_error_keeps_the_name_but_never_echoes_the_password(client):
    response = signup(client, "carol", PASSWORD, "a different confirmation")
    assert input_value(response.text, "username") == "carol"
    assert PASSWORD not in response.text
    assert "a different confirmation" not in response.text


def test_signup_when_logged_in_goes_to_rooms(client, alice):
    login(client, alice)
    response = signup(client, "carol")
    assert response.status_code == 302 and response.headers["Location"] == "/rooms"
    assert accounts.find_user("carol") is None


# --- login --------------------------------------------------------------------------


def test_login_page(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert form_error(response.text) is None


def test_login_goes_to_rooms(client, alice):
    response = client.post("/auth/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/rooms"
    assert ">alice<" in client.get("/rooms").text


def test_login_username_is_case_insensitive(client, alice):
    response = client.post("/auth/login", data={"username": "ALICE", "password": PASSWORD})
    assert response.status_code == 302 and is_logged_in(client)


@pytest.mark.parametrize(
    "username, password",
    [("alice", "wrong password"), ("alice", PASSWORD.upper()), ("nobody", PASSWORD)],
)
def test_login_with_wrong_credentials_shows_a_form_error(client, alice, username, password):
    response = client.post("/auth/login", data={"username": username, "password": password})
    assert response.status_code == 401
    # One message for both cases: the page does not tell which names exist.
    assert form_error(response.text) == "Wrong username or password."
    assert field_error(response.text, "username") is None
    assert input_value(response.text, "username") == username
    assert password not in response.text
    assert not is_logged_in(client)


@pytest.mark.parametrize("data, field", [({"password": PASSWORD}, "username"), ({"username": "alice"}, "password")])
def test_login_with_a_missing_field(client, alice, data, field):
    response = client.post("/auth/login", data=data)
    assert response.status_code == 400
    assert field_error(response.text, field)
    assert not is_logged_in(client)


@pytest.mark.parametrize("target", ["/rooms/3", "/auth/password", "/rooms?tab=public", "/rooms/3#latest"])
def test_login_follows_a_local_next(client, alice, target):
    response = client.post(
        "/auth/login", query_string={"next": target}, data={"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == target


OFFSITE = [
    "//evil.example",
    "///evil.example",
    "https://evil.example/x",
    "http:evil.example",
    "/\\evil",
    "/\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\nSet-Cookie: stolen=1",
    " //evil.example",
    "javascript:alert(1)",
    "evil.example",
]


@pytest.mark.parametrize("target", OFFSITE)
def test_login_ignores_an_offsite_next(client, alice, target):
    response = client.post(
        "/auth/login", query_string={"next": target}, data={"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/rooms"
    assert "stolen" not in str(response.headers)


@pytest.mark.parametrize("target", OFFSITE[:4])
def test_logged_in_visit_to_login_ignores_an_offsite_next(client, alice, target):
    login(client, alice)
    response = client.get("/auth/login", query_string={"next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/rooms"


def test_logged_in_visit_to_login_follows_a_local_next(client, alice):
    login(client, alice)
    response = client.get("/auth/login?next=/rooms/3")
    assert response.status_code == 302 and response.headers["Location"] == "/rooms/3"


def test_login_form_carries_a_local_next_only(client):
    kept = client.get("/auth/login?next=/rooms/3").text
    assert next_of(form_action(kept, "login-form")) == ("/auth/login", ["/rooms/3"])
    dropped = client.get("/auth/login?next=//evil.example").text
    assert next_of(form_action(dropped, "login-form")) == ("/auth/login", None)
    assert "evil" not in dropped


def test_anonymous_visit_comes_back_after_login(client, alice):
    response = client.get("/auth/password")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert next_of(login_url) == ("/auth/login", ["/auth/password"])
    action = form_action(client.get(login_url).text, "login-form")
    response = client.post(action, data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/password"


# --- logout -------------------------------------------------------------------------


def test_logout_is_post_only(client, alice):
    login(client, alice)
    response = client.get("/auth/logout")
    assert response.status_code == 405
    assert is_logged_in(client)


def test_logout_ends_the_session(client, alice):
    login(client, alice)
    response = client.post("/auth/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    response = client.get("/rooms")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_logout_ends_the_users_other_sessions_and_revokes_tokens(client, browser, alice, bob):
    _, tokens = api_tokens(client)
    login(client, alice)
    other_device = login(browser(), alice)
    bobs = login(browser(), bob)

    client.post("/auth/logout")

    assert not is_logged_in(other_device)
    assert is_logged_in(bobs)
    status, body = access_token_status(client, tokens["access_token"])
    assert status == 401 and body["error"]["code"] == "TOKEN_INVALID"
    response = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "TOKEN_INVALID"
    # Logging in again works, with fresh tokens.
    login(client, alice)
    status, fresh = api_tokens(client)
    assert status == 200 and access_token_status(client, fresh["access_token"])[0] == 200


def test_logout_when_anonymous_goes_to_login(client):
    response = client.post("/auth/logout")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


# --- anonymous users ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/rooms", "/auth/password"])
def test_pages_send_anonymous_users_to_login(client, path):
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/auth/login"
    assert response.history and all(r.status_code == 302 for r in response.history)


@pytest.mark.parametrize("path", ["/rooms", "/auth/password"])
def test_anonymous_redirect_names_the_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert next_of(response.headers["Location"]) == ("/auth/login", [path])


@pytest.mark.parametrize("path", ["/auth/login", "/auth/signup"])
def test_login_and_signup_are_open(client, path):
    assert client.get(path).status_code == 200


# --- password change ----------------------------------------------------------------


def change_password(client, current, new, confirm=None):
    return client.post(
        "/auth/password",
        data={
            "current_password": current,
            "new_password": new,
            "new_password_confirm": new if confirm is None else confirm,
        },
    )


def test_password_page(client, alice):
    login(client, alice)
    response = client.get("/auth/password")
    assert response.status_code == 200
    for name in ("current_password", "new_password", "new_password_confirm"):
        assert field_error(response.text, name) is None


@pytest.mark.parametrize(
    "current, new, confirm, field, message",
    [
        ("not my password", NEW_PASSWORD, None, "current_password", "not your current password"),
        ("", NEW_PASSWORD, None, "current_password", None),
        (PASSWORD, "1234567", None, "new_password", None),
        (PASSWORD, "iloveyou1", None, "new_password", "most used passwords"),
        (PASSWORD, NEW_PASSWORD, "something else entirely", "new_password_confirm", "do not match"),
    ],
)
def test_password_change_errors(client, alice, current, new, confirm, field, message):
    login(client, alice)
    response = change_password(client, current, new, confirm)
    assert response.status_code != 302
    error = field_error(response.text, field)
    assert error and (message is None or message in error)
    assert is_logged_in(client)
    assert api_tokens(client)[0] == 200  # the old password still works
    assert api_tokens(client, NEW_PASSWORD)[0] == 401


def test_password_change(client, browser, alice):
    _, tokens = api_tokens(client)
    login(client, alice)
    other_device = login(browser(), alice)

    response = change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/rooms?changed=1"

    # The room list says so (it said nothing before issue 22), once.
    assert "Your password was changed." in client.get("/rooms?changed=1").text
    assert "Your password was changed." not in client.get("/rooms").text
    assert is_logged_in(client)  # this browser stays signed in
    assert not is_logged_in(other_device)
    assert access_token_status(client, tokens["access_token"])[0] == 401
    assert api_tokens(client)[0] == 401
    assert api_tokens(client, NEW_PASSWORD)[0] == 200
    fresh = browser()
    assert fresh.post("/auth/login", data={"username": "alice", "password": NEW_PASSWORD}).status_code == 302


def test_password_page_needs_login(client):
    response = change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


# --- CSRF ---------------------------------------------------------------------------


@pytest.fixture
def csrf_app(app_with):
    """The test app with CSRF protection on, as in production."""
    app = app_with(WTF_CSRF_ENABLED=True)
    accounts.signup("alice", PASSWORD)
    return app


def form_token(client, path):
    html = client.get(path).text
    field = re.search(r'<input [^>]*\bname="csrf_token"[^>]*>', html).group(0)
    return re.search(r'value="([^"]+)"', field).group(1)


def meta_token(client, path):
    html = client.get(path).text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def assert_csrf_refused(response):
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert '<code translate="no">FORBIDDEN</code>' in response.text


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_without_a_valid_csrf_token_is_refused(csrf_app, token):
    client = csrf_app.test_client()
    client.get("/auth/login")
    data = {"username": "alice", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    assert_csrf_refused(client.post("/auth/login", data=data))
    assert not is_logged_in(client)


def test_login_with_the_forms_csrf_token(csrf_app):
    client = csrf_app.test_client()
    token = form_token(client, "/auth/login")
    response = client.post("/auth/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/rooms"
    assert is_logged_in(client)


def test_csrf_token_belongs_to_its_session(csrf_app):
    someone_else = csrf_app.test_client()
    token = form_token(someone_else, "/auth/login")
    client = csrf_app.test_client()
    client.get("/auth/login")
    response = client.post("/auth/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    assert_csrf_refused(response)


def test_signup_without_csrf_token_creates_nothing(csrf_app):
    client = csrf_app.test_client()
    client.get("/auth/signup")
    response = signup(client, "carol")
    assert_csrf_refused(response)
    assert accounts.find_user("carol") is None


@pytest.fixture
def csrf_client(csrf_app):
    client = csrf_app.test_client()
    token = form_token(client, "/auth/login")
    response = client.post("/auth/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def test_logout_without_csrf_token_is_refused(csrf_client):
    assert_csrf_refused(csrf_client.post("/auth/logout"))
    assert_csrf_refused(csrf_client.post("/auth/logout", data={"csrf_token": "forged"}))
    assert is_logged_in(csrf_client)


def test_logout_with_the_pages_csrf_token(csrf_client):
    html = csrf_client.get("/rooms").text
    logout_form = re.search(r'<form\b[^>]*action="/auth/logout/this-device".*?</form>', html, re.S).group(0)
    token = re.search(r'name="csrf_token" value="([^"]+)"', logout_form).group(1)
    response = csrf_client.post("/auth/logout/this-device", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert not is_logged_in(csrf_client)


def test_password_change_without_csrf_token_is_refused(csrf_client):
    response = change_password(csrf_client, PASSWORD, NEW_PASSWORD)
    assert_csrf_refused(response)
    token = meta_token(csrf_client, "/auth/password")
    response = csrf_client.post(
        "/auth/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
            "csrf_token": token,
        },
    )
    assert response.status_code == 302


# --- headers and cookies ------------------------------------------------------------


def csp(response):
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("path", ["/auth/login", "/auth/signup", "/rooms", "/auth/password", "/no-such-page"])
def test_security_headers(client, alice, path):
    if path in ("/rooms", "/auth/password"):
        login(client, alice)
    response = client.get(path)
    assert response.status_code in (200, 404)
    directives = csp(response)
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src and "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'unsafe-inline'" not in directives.get("default-src", [])
    assert directives["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_scripts(client):
    for path in ("/auth/login", "/auth/signup"):
        html = client.get(path).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag
        assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


def session_cookie(response):
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return [part.strip() for part in cookies[0].split(";")]


@pytest.mark.parametrize("how", ["login", "signup"])
def test_session_cookie_is_httponly_and_lax(client, alice, how):
    if how == "login":
        response = client.post("/auth/login", data={"username": "alice", "password": PASSWORD})
    else:
        response = signup(client, "carol")
    assert response.status_code == 302
    attributes = session_cookie(response)
    assert "HttpOnly" in attributes
    assert "SameSite=Lax" in attributes


# --- escaping -----------------------------------------------------------------------

# Each payload, and the live markup it would inject if it were not escaped.
PAYLOADS = [
    ('<script>alert("pwned")</script>', "<script>alert("),
    ('"><img src=x onerror=alert(1)>', "<img src=x"),
    ("</textarea><svg onload=alert(1)>", "<svg onload"),
]


def assert_inert(html, payload, markup):
    assert payload not in html
    assert markup not in html


@pytest.mark.parametrize("payload, markup", PAYLOADS)
def test_login_echo_is_escaped(client, payload, markup):
    response = client.post("/auth/login", data={"username": payload, "password": PASSWORD})
    assert response.status_code == 401
    assert_inert(response.text, payload, markup)
    assert input_value(response.text, "username")  # echoed, as text


def test_login_echo_escapes_script_tags(client):
    response = client.post("/auth/login", data={"username": "<script>alert(1)</script>", "password": PASSWORD})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script>alert(1)" not in response.text


@pytest.mark.parametrize("payload, markup", PAYLOADS)
def test_signup_rejects_markup_and_escapes_the_echo(client, payload, markup):
    response = signup(client, payload)
    assert response.status_code == 400
    assert field_error(response.text, "username")
    assert_inert(response.text, payload, markup)
    assert user_count() == 0


@pytest.mark.parametrize("payload, markup", PAYLOADS)
def test_next_is_escaped_in_the_login_form(client, payload, markup):
    response = client.get("/auth/login", query_string={"next": "/rooms" + payload})
    assert response.status_code == 200
    assert_inert(response.text, payload, markup)


@pytest.mark.parametrize("payload, markup", PAYLOADS)
def test_error_page_does_not_echo_markup(client, payload, markup):
    response = client.get("/x" + payload)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert_inert(response.text, payload, markup)
