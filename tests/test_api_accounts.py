"""The accounts part of the JSON API, `/api/v1`, held to the wire contract: signup,
username availability, access/refresh tokens with rotation and reuse detection, the
socket token, CSRF for session-authenticated calls, and the shape of every error."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_jwt_extended import create_refresh_token

from webchat.extensions import db
from webchat.models import User
from webchat.services import accounts

from .support.accounts import PASSWORD, bearer, login

TOKEN_KEYS = {"access_token", "refresh_token", "expires_in"}


def assert_error(response, status, code):
    """The contract's error body, exactly: {"error": {"code", "message", ...}}."""
    assert response.status_code == status, response.text
    assert response.is_json, response.content_type
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "fields"}
    if code == "VALIDATION_ERROR":
        assert isinstance(error["fields"], dict) and error["fields"]
        assert all(isinstance(reason, str) and reason for reason in error["fields"].values())
    return error


def user_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def get_tokens(client, username="alice", password=PASSWORD):
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.get_json()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def refresh(client, token):
    return client.post("/api/v1/auth/refresh", headers=auth(token))


def socket_token(client, **kwargs):
    return client.post("/api/v1/auth/socket-token", **kwargs)


def rooms_with(client, headers):
    """An API call that any signed-in user may make: the probe of whether a credential works."""
    return client.get("/api/v1/rooms", headers=headers)


# --- signup -------------------------------------------------------------------------


def test_signup_creates_an_account(client):
    response = client.post("/api/v1/auth/signup", json={"username": "carol", "password": PASSWORD})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"user"}
    assert set(body["user"]) == {"id", "username"}
    assert isinstance(body["user"]["id"], int) and body["user"]["username"] == "carol"
    assert accounts.find_user("carol").id == body["user"]["id"]
    # The new account can sign in.
    assert get_tokens(client, "carol")["access_token"]


def test_signup_keeps_case_and_trims(client):
    response = client.post("/api/v1/auth/signup", json={"username": "  Carol ", "password": PASSWORD})
    assert response.status_code == 201
    assert response.get_json()["user"]["username"] == "Carol"


def test_signup_korean_name(client):
    response = client.post("/api/v1/auth/signup", json={"username": "김철수", "password": PASSWORD})
    assert response.status_code == 201
    assert response.get_json()["user"]["username"] == "김철수"
    assert "김철수".encode() in response.data  # UTF-8 on the wire, not \\u escapes


@pytest.mark.parametrize("username", ["alice", "ALICE", "Alice", " alice "])
def test_signup_taken_username_is_409(client, alice, username):
    response = client.post("/api/v1/auth/signup", json={"username": username, "password": PASSWORD})
    assert_error(response, 409, "USERNAME_TAKEN")
    assert user_count() == 1


@pytest.mark.parametrize(
    "body, fields",
    [
        ({"username": "a", "password": PASSWORD}, {"username"}),
        ({"username": "a" * 33, "password": PASSWORD}, {"username"}),
        ({"username": "has space", "password": PASSWORD}, {"username"}),
        ({"username": "semi;colon", "password": PASSWORD}, {"username"}),
        ({"username": "<script>", "password": PASSWORD}, {"username"}),
        ({"username": "   ", "password": PASSWORD}, {"username"}),
        ({"username": 42, "password": PASSWORD}, {"username"}),
        ({"username": ["carol"], "password": PASSWORD}, {"username"}),
        ({"password": PASSWORD}, {"username"}),
        ({"username": "carol", "password": "1234567"}, {"password"}),
        ({"username": "carol", "password": 12345678}, {"password"}),
        ({"username": "carol", "password": None}, {"password"}),
        ({"username": "carol"}, {"password"}),
        ({"username": "x", "password": "short"}, {"username", "password"}),
        ({}, {"username", "password"}),
    ],
)
def test_signup_validation(client, body, fields):
    response = client.post("/api/v1/auth/signup", json=body)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert set(error["fields"]) == fields
    assert user_count() == 0


def test_signup_with_a_taken_name_and_a_bad_password_names_both(client, alice):
    """Issue 22: every field's problem at once, the taken name among them."""
    response = client.post("/api/v1/auth/signup", json={"username": "ALICE", "password": "short"})
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert set(error["fields"]) == {"username", "password"}
    assert error["fields"]["username"] == "That username is taken."
    assert user_count() == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {"username": "carol", "password": PASSWORD}},  # a form post
        {"data": '{"username": "carol", "password": "correct horse battery"}', "content_type": "text/plain"},
        {"data": '{"username": "carol", ', "content_type": "application/json"},
        {"data": "", "content_type": "application/json"},
        {"json": ["carol", PASSWORD]},
        {"json": "carol"},
        {"json": None},
    ],
    ids=["form", "text-plain", "broken-json", "empty", "array", "string", "null"],
)
def test_signup_needs_a_json_object(client, kwargs):
    response = client.post("/api/v1/auth/signup", **kwargs)
    assert_error(response, 400, "VALIDATION_ERROR")
    assert user_count() == 0


# --- availability -------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, available",
    [
        ("?username=carol", True),
        ("?username=%EA%B9%80%EC%B2%A0%EC%88%98", True),  # 김철수
        ("?username=alice", False),
        ("?username=ALICE", False),
        ("?username=%20Alice%20", False),
        ("?username=a", False),
        ("?username=" + "a" * 33, False),
        ("?username=has%20space", False),
        ("?username=%3Cscript%3E", False),
        ("?username=", False),
        ("", False),
    ],
)
def test_username_availability(client, alice, query, available):
    response = client.get("/api/v1/users/available" + query)
    assert response.status_code == 200
    assert response.get_json()["available"] is available


def test_availability_follows_signups(client):
    url = "/api/v1/users/available?username=Dora"
    assert client.get(url).get_json()["available"] is True
    client.post("/api/v1/auth/signup", json={"username": "dora", "password": PASSWORD})
    assert client.get(url).get_json()["available"] is False


# --- tokens -------------------------------------------------------------------------


def test_token_issues_a_pair(client, alice):
    response = client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert TOKEN_KEYS <= set(body)
    assert isinstance(body["access_token"], str) and isinstance(body["refresh_token"], str)
    assert body["access_token"] != body["refresh_token"]
    assert body["expires_in"] == 15 * 60
    # The access token authenticates an API call.
    assert rooms_with(client, auth(body["access_token"])).status_code == 200


def test_token_username_is_case_insensitive(client, alice):
    assert TOKEN_KEYS <= set(get_tokens(client, "ALICE"))


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice", "password": "wrong password"},
        {"username": "alice", "password": PASSWORD.upper()},
        {"username": "nobody", "password": PASSWORD},
        {"username": "alice", "password": ""},
        {"username": "alice"},
        {"username": "alice", "password": 12345678},
        {"username": None, "password": PASSWORD},
    ],
)
def test_token_wrong_credentials_is_401(client, alice, body):
    response = client.post("/api/v1/auth/token", json=body)
    error = assert_error(response, 401, "INVALID_CREDENTIALS")
    assert "access_token" not in response.text
    assert "fields" not in error  # never says which of the two was wrong


def test_token_needs_a_json_object(client, alice):
    response = client.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORD})
    assert_error(response, 400, "VALIDATION_ERROR")


# --- refresh ------------------------------------------------------------------------


def test_refresh_rotates(client, alice):
    first = get_tokens(client)
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200
    second = response.get_json()
    assert TOKEN_KEYS <= set(second)
    assert second["expires_in"] == 15 * 60
    assert second["refresh_token"] != first["refresh_token"]
    assert rooms_with(client, auth(second["access_token"])).status_code == 200
    # The new refresh token is good for one more rotation.
    assert refresh(client, second["refresh_token"]).status_code == 200


def test_refresh_reuse_revokes_the_family(client, alice):
    first = get_tokens(client)
    second = refresh(client, first["refresh_token"]).get_json()
    third = refresh(client, second["refresh_token"]).get_json()

    assert_error(refresh(client, first["refresh_token"]), 401, "TOKEN_REUSED")
    # The newest token of that family, never used, is revoked with it.
    assert_error(refresh(client, third["refresh_token"]), 401, "TOKEN_INVALID")
    # And the spent one stays refused.
    assert refresh(client, second["refresh_token"]).status_code == 401


def test_refresh_reuse_leaves_other_logins_alone(client, alice):
    phone = get_tokens(client)
    laptop = get_tokens(client)
    refresh(client, phone["refresh_token"])
    assert_error(refresh(client, phone["refresh_token"]), 401, "TOKEN_REUSED")
    assert refresh(client, laptop["refresh_token"]).status_code == 200


def test_access_token_is_not_a_refresh_token(client, alice):
    tokens = get_tokens(client)
    assert_error(refresh(client, tokens["access_token"]), 401, "TOKEN_INVALID")
    # Presenting the wrong kind spent nothing.
    assert refresh(client, tokens["refresh_token"]).status_code == 200


def test_refresh_without_a_token_is_unauthenticated(client, alice):
    assert_error(client.post("/api/v1/auth/refresh"), 401, "UNAUTHENTICATED")


def test_refresh_with_a_session_only_is_unauthenticated(client, alice):
    login(client, alice)
    assert_error(client.post("/api/v1/auth/refresh"), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize("header", ["Basic YWxpY2U6cHc=", "Bearer", "Bearer garbage", "Token abc", "bearer a.b.c"])
def test_refresh_with_a_malformed_header_is_token_invalid(client, alice, header):
    assert_error(client.post("/api/v1/auth/refresh", headers={"Authorization": header}), 401, "TOKEN_INVALID")


def test_expired_refresh_token(client, alice):
    tokens = get_tokens(client)
    expired = create_refresh_token(
        identity=str(alice.id),
        additional_claims={"jti": "expired-jti", "fam": "f", "gen": alice.token_generation},
        expires_delta=timedelta(seconds=-5),
    )
    assert_error(refresh(client, expired), 401, "TOKEN_EXPIRED")
    assert refresh(client, tokens["refresh_token"]).status_code == 200


def test_refresh_token_signed_elsewhere_is_invalid(client, alice):
    import jwt as pyjwt

    forged = pyjwt.encode(
        {"sub": str(alice.id), "type": "refresh", "jti": "x", "fam": "f", "gen": 0},
        "some other key that is long enough for hs256",
        algorithm="HS256",
    )
    assert_error(refresh(client, forged), 401, "TOKEN_INVALID")


def test_logout_revokes_refresh_and_access_tokens(client, alice):
    tokens = get_tokens(client)
    accounts.logout(alice)
    assert_error(refresh(client, tokens["refresh_token"]), 401, "TOKEN_INVALID")
    assert_error(rooms_with(client, auth(tokens["access_token"])), 401, "TOKEN_INVALID")
    assert refresh(client, get_tokens(client)["refresh_token"]).status_code == 200


# --- socket token -------------------------------------------------------------------


def test_socket_token_with_a_session(client, alice):
    login(client, alice)
    response = socket_token(client)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "expires_in"}
    assert body["expires_in"] == 15 * 60
    user, claims = accounts.user_for_access_token(body["access_token"])
    assert user.id == alice.id and claims["type"] == "access"


def test_socket_token_anonymous_is_401(client, alice):
    assert_error(socket_token(client), 401, "UNAUTHENTICATED")


def test_socket_token_refuses_a_bearer_token(client, alice):
    """An access token must not mint a longer one (issue 16): API clients renew with
    /auth/refresh. Refused even beside a valid session, and for any token type."""
    tokens = get_tokens(client)
    for headers in (bearer(alice), auth(tokens["access_token"]), auth(tokens["refresh_token"])):
        response = socket_token(client, headers=headers)
        assert_error(response, 403, "FORBIDDEN")
        assert "access_token" not in response.text
    login(client, alice)
    assert_error(socket_token(client, headers=bearer(alice)), 403, "FORBIDDEN")
    assert socket_token(client).status_code == 200


def test_a_refresh_token_is_no_access_token(client, alice):
    assert_error(rooms_with(client, auth(get_tokens(client)["refresh_token"])), 401, "TOKEN_INVALID")


def test_socket_token_after_logout_with_the_old_session_is_401(client, alice):
    login(client, alice)
    other = login(client.application.test_client(), alice)
    accounts.logout(alice)
    assert_error(socket_token(client), 401, "UNAUTHENTICATED")
    assert_error(socket_token(other), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "header", ["Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "Bearer garbage", "Token abc", "Bearer a.b.c"]
)
def test_malformed_authorization_header_is_token_invalid(client, alice, header):
    assert_error(rooms_with(client, {"Authorization": header}), 401, "TOKEN_INVALID")


def test_malformed_header_is_not_rescued_by_a_session(client, alice):
    login(client, alice)
    assert_error(rooms_with(client, {"Authorization": "Bearer garbage"}), 401, "TOKEN_INVALID")


def test_socket_token_is_post_only(client, alice):
    login(client, alice)
    response = client.get("/api/v1/auth/socket-token")
    assert response.status_code == 405
    assert response.is_json and set(response.get_json()) == {"error"}


# --- CSRF for session-authenticated calls ---------------------------------------------


@pytest.fixture
def csrf_app(app_with):
    """The test app with CSRF protection on, as in production."""
    app = app_with(WTF_CSRF_ENABLED=True)
    return app


def page_csrf_token(client, path):
    html = client.get(path).text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match, html
    return match.group(1)


@pytest.fixture
def csrf_client(csrf_app):
    """A browser logged in as alice through the CSRF-protected form."""
    accounts.signup("alice", PASSWORD)
    client = csrf_app.test_client()
    token = page_csrf_token(client, "/auth/login")
    response = client.post("/auth/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.text
    return client


def test_session_call_without_csrf_header_is_403(csrf_client):
    assert_error(socket_token(csrf_client), 403, "FORBIDDEN")


def test_session_call_with_a_wrong_csrf_header_is_403(csrf_client):
    assert_error(socket_token(csrf_client, headers={"X-CSRFToken": "not-the-token"}), 403, "FORBIDDEN")


def test_session_call_with_the_page_csrf_token(csrf_client):
    token = page_csrf_token(csrf_client, "/rooms")
    response = socket_token(csrf_client, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert set(response.get_json()) == {"access_token", "expires_in"}


def test_bearer_calls_need_no_csrf(csrf_app):
    alice = accounts.signup("alice", PASSWORD)
    client = csrf_app.test_client()
    tokens = get_tokens(client)
    assert client.post("/api/v1/rooms", json={"name": "Plans"}, headers=auth(tokens["access_token"])).status_code == 201
    assert refresh(client, tokens["refresh_token"]).status_code == 200
    assert client.post("/api/v1/rooms", json={"name": "More"}, headers=bearer(alice)).status_code == 201
    created = client.post("/api/v1/auth/signup", json={"username": "carol", "password": PASSWORD})
    assert created.status_code == 201


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/", "/api/v1/rooms/abc/nothing", "/api/v2/auth/token"])
def test_unknown_api_path_is_json_404(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert_error(response, 404, "NOT_FOUND")


def test_wrong_method_on_the_api_is_json(client):
    response = client.get("/api/v1/auth/token")
    assert response.status_code == 405
    assert response.is_json and set(response.get_json()) == {"error"}
