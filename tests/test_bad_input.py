"""Bad input at the edges: oversized bodies, malformed multipart, malformed JWTs. Each is
answered with the contract's code, on the API and on the socket."""

import time

import jwt as pyjwt
import pytest

from webchat.services import rooms

from .support.accounts import bearer

KEY = "test-jwt-secret-key-long-enough-for-hs256"  # TestConfig's


def forged(user, **overrides):
    now = int(time.time())
    claims = {
        "sub": str(user.id),
        "type": "access",
        "gen": 0,
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "x",
        **overrides.pop("claims", {}),
    }
    return pyjwt.encode(claims, overrides.pop("key", KEY), algorithm=overrides.pop("algorithm", "HS256"))


@pytest.mark.parametrize(
    "name, make, code",
    [
        ("right key, HS256", lambda u: forged(u), None),
        ("wrong algorithm HS512", lambda u: forged(u, algorithm="HS512"), "TOKEN_INVALID"),
        (
            "alg none",
            lambda u: pyjwt.encode({"sub": str(u.id), "type": "access", "gen": 0}, None, algorithm="none"),
            "TOKEN_INVALID",
        ),
        ("expired", lambda u: forged(u, claims={"exp": int(time.time()) - 5}), "TOKEN_EXPIRED"),
        ("another key", lambda u: forged(u, key="another key that is long enough, really"), "TOKEN_INVALID"),
        ("not a JWT", lambda u: "not.a.jwt", "TOKEN_INVALID"),
        ("refresh type", lambda u: forged(u, claims={"type": "refresh"}), "TOKEN_INVALID"),
        ("unknown user", lambda u: forged(u, claims={"sub": "999999"}), "TOKEN_INVALID"),
    ],
)
def test_jwts_on_api_and_socket(app, client, alice, connect, name, make, code):
    token = make(alice)
    response = client.get("/api/v1/rooms", headers={"Authorization": f"Bearer {token}"})
    sock = connect(auth={"token": token})
    if code is None:
        assert response.status_code == 200 and sock.is_connected("/chat")
    else:
        assert response.status_code == 401 and response.get_json()["error"]["code"] == code
        assert not sock.is_connected("/chat")


def test_oversized_json_body(app, client, alice):
    huge = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post("/api/v1/rooms", data=huge, content_type="application/json", headers=bearer(alice))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "FILE_TOO_LARGE"


@pytest.mark.parametrize(
    "content_type, body",
    [
        (
            "multipart/form-data; boundary=abc",
            b'--abc\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\ntrunc',
        ),
        ("multipart/form-data", b"no boundary at all"),
        ("multipart/form-data; boundary=abc", b"garbage without any boundary"),
    ],
)
def test_malformed_multipart(app, client, alice, content_type, body):
    room = rooms.create_room(alice, "General")
    response = client.post(
        f"/api/v1/rooms/{room['id']}/files", data=body, content_type=content_type, headers=bearer(alice)
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_malformed_json(app, client, alice):
    response = client.post("/api/v1/rooms", data="{not json", content_type="application/json", headers=bearer(alice))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "VALIDATION_ERROR"
