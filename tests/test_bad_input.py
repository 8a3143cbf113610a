"""Bad input at the edges: oversized bodies, malformed multipart, malformed JWTs, and the
issue 19 endpoints' cursors, edits, reactions and replies. Each is answered with the
contract's code, on the API and on the socket, and a refused request writes nothing."""

import io
import re
import time
from pathlib import Path
from urllib.parse import quote

import jwt as pyjwt
import pytest
import sqlalchemy as sa

from webchat.errors import ERRORS
from webchat.extensions import db
from webchat.models import Message, Room
from webchat.services import admin, files, messages, rooms

from .support.accounts import bearer, login
from .support.stored import stored_state
from .support.surface import routes

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


# Issue 19's endpoints. Not repeated here: callers outside the room (history, edits and
# reactions answer them MESSAGE_NOT_FOUND) and an edit of another member's message
# (FORBIDDEN) are rows of tests/test_authz_matrix.py; the service rules (an edit's body
# rules, the emoji list, the 50-emoji cap, reply_to on send_message) and `/changes` without
# after_rev, with after_rev -1 or x, or limit 501, are tests/test_message_changes.py's.
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture
def scene(alice, bob, make_user):
    """Alice's room, which bob is in, with one message of each kind; carol's room, which
    alice is not in. Ids only, so that no test reads through a stale session."""
    carol = make_user("carol")
    room = rooms.create_room(alice, "Changes")["id"]
    rooms.join_room(bob, room)
    elsewhere = rooms.create_room(carol, "Elsewhere")["id"]
    gone = messages.send_message(alice, room, "soon gone")[0].id
    messages.delete_message(alice, gone)
    return {
        "room": room,
        "mine": messages.send_message(alice, room, "mine")[0].id,
        "gone": gone,
        "notice": db.session.scalar(sa.select(Message.id).where(Message.room_id == room, Message.kind == "system")),
        "file": files.upload(alice, room, io.BytesIO(b"hello"), "a.txt")[0].id,
        "elsewhere": messages.send_message(carol, elsewhere, "not for alice")[0].id,
    }


def refused(response, status, code, field=None):
    error = response.get_json()["error"]
    assert (response.status_code, error["code"]) == (status, code), response.get_json()
    if field is not None:
        assert field in error["fields"], error


@pytest.mark.parametrize(
    "query, field",
    [
        ("after_rev=", "after_rev"),
        ("after_rev=2147483648", "after_rev"),  # past the largest rev
        ("after_rev=99999999999999999999", "after_rev"),
        ("after_rev=" + "9" * 5000, "after_rev"),  # more digits than int() converts
        ("after_rev=1.5", "after_rev"),
        ("after_rev=1e3", "after_rev"),
        ("after_rev=0x10", "after_rev"),
        ("after_rev=true", "after_rev"),
        # Python's int() reads each of these as a number; the API does not.
        ("after_rev=1_0", "after_rev"),
        ("after_rev=%201", "after_rev"),
        ("after_rev=%EF%BC%91", "after_rev"),  # a full-width 1
        ("after_rev=0&limit=0", "limit"),
        ("after_rev=0&limit=-1", "limit"),
        ("after_rev=0&limit=x", "limit"),
        ("after_rev=0&limit=1.5", "limit"),
        ("after_rev=0&limit=99999999999999999999", "limit"),
        ("after_rev=0&limit=5_0", "limit"),
    ],
)
def test_changes_bad_cursor_or_limit(client, alice, scene, query, field):
    response = client.get(f"/api/v1/rooms/{scene['room']}/changes?{query}", headers=bearer(alice))
    refused(response, 400, "VALIDATION_ERROR", field)


def test_changes_at_the_edges(client, alice, scene):
    url = f"/api/v1/rooms/{scene['room']}/changes"
    last_rev = db.session.scalar(sa.select(Room.last_rev).where(Room.id == scene["room"]))
    db.session.commit()
    past = client.get(f"{url}?after_rev=2147483647&limit=500", headers=bearer(alice)).get_json()
    assert past == {"messages": [], "last_rev": last_rev, "has_more": False}
    first = client.get(f"{url}?after_rev=0&limit=1", headers=bearer(alice)).get_json()
    assert first["has_more"] and first["last_rev"] == first["messages"][0]["rev"] < last_rev


@pytest.mark.parametrize(
    "query, field",
    [
        ("around_seq=", "around_seq"),
        ("around_seq=x", "around_seq"),
        ("around_seq=-1", "around_seq"),
        ("around_seq=1.0", "around_seq"),
        ("around_seq=2147483648", "around_seq"),
        ("around_seq=99999999999999999999", "around_seq"),
        ("around_seq=%EF%BC%92", "around_seq"),  # a full-width 2
        ("around_seq=2&before_seq=5", "around_seq"),
        ("around_seq=2&after_seq=0", "around_seq"),
        ("around_seq=2&before_seq=", "around_seq"),
        ("around_seq=2&before_seq=5&after_seq=0", "around_seq"),
        ("around_seq=2&limit=0", "limit"),
        ("around_seq=2&limit=101", "limit"),
        ("around_seq=2&limit=x", "limit"),
    ],
)
def test_around_seq_bad_values_and_company(client, alice, scene, query, field):
    response = client.get(f"/api/v1/rooms/{scene['room']}/messages?{query}", headers=bearer(alice))
    refused(response, 400, "VALIDATION_ERROR", field)


def test_around_seq_at_the_edges(client, alice, scene):
    url = f"/api/v1/rooms/{scene['room']}/messages"
    start = client.get(f"{url}?around_seq=0&limit=3", headers=bearer(alice)).get_json()
    assert [m["seq"] for m in start["messages"]] == [1, 2, 3]
    assert (start["has_more_before"], start["has_more_after"]) == (False, True)
    end = client.get(f"{url}?around_seq=2147483647&limit=3", headers=bearer(alice)).get_json()
    assert end["messages"] and (end["has_more_before"], end["has_more_after"]) == (True, False)
    assert end["has_more"] is end["has_more_before"]


@pytest.mark.parametrize(
    "body, status, code, field",
    [
        ({}, 400, "VALIDATION_ERROR", "body"),
        ({"body": None}, 400, "VALIDATION_ERROR", "body"),
        ({"body": 5}, 400, "VALIDATION_ERROR", "body"),
        ({"body": True}, 400, "VALIDATION_ERROR", "body"),
        ({"body": ["edited"]}, 400, "VALIDATION_ERROR", "body"),
        ({"body": {"text": "edited", "nested": [{"deeper": None}]}}, 400, "VALIDATION_ERROR", "body"),
        ({"text": "edited"}, 400, "VALIDATION_ERROR", "body"),
        (["edited"], 400, "VALIDATION_ERROR", "body"),
        ("edited", 400, "VALIDATION_ERROR", "body"),
        ({"body": ""}, 400, "MESSAGE_EMPTY", None),
        ({"body": " \n\t\u3000 "}, 400, "MESSAGE_EMPTY", None),
        ({"body": "x" * 200_000}, 400, "MESSAGE_TOO_LONG", None),
    ],
)
def test_edit_bad_body(client, alice, scene, body, status, code, field):
    before = stored_state()
    response = client.patch(f"/api/v1/messages/{scene['mine']}", json=body, headers=bearer(alice))
    refused(response, status, code, field)
    assert stored_state() == before


def test_edit_without_json(client, alice, scene):
    before = stored_state()
    response = client.patch(
        f"/api/v1/messages/{scene['mine']}", data="body=edited", content_type="text/plain", headers=bearer(alice)
    )
    refused(response, 400, "VALIDATION_ERROR", "body")
    assert stored_state() == before


@pytest.mark.parametrize(
    "target, status, code, field",
    [
        ("gone", 404, "MESSAGE_NOT_FOUND", None),
        ("notice", 400, "VALIDATION_ERROR", "message_id"),
        ("file", 400, "VALIDATION_ERROR", "message_id"),
        (999_999, 404, "MESSAGE_NOT_FOUND", None),
        (2**31, 400, "VALIDATION_ERROR", "message_id"),
    ],
)
def test_edit_a_message_that_takes_no_edit(client, alice, scene, target, status, code, field):
    before = stored_state()
    message_id = scene.get(target, target)
    response = client.patch(f"/api/v1/messages/{message_id}", json={"body": "edited"}, headers=bearer(alice))
    refused(response, status, code, field)
    assert stored_state() == before


@pytest.mark.parametrize(
    "target, status, code",
    [("gone", 404, "MESSAGE_NOT_FOUND"), (999_999, 404, "MESSAGE_NOT_FOUND"), (2**31, 400, "VALIDATION_ERROR")],
)
def test_history_of_no_message(client, bob, scene, target, status, code):
    response = client.get(f"/api/v1/messages/{scene.get(target, target)}/history", headers=bearer(bob))
    refused(response, status, code)


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize(
    "emoji",
    [
        "smile",
        ":+1:",
        "1",
        quote("#"),
        quote("👍👍"),
        quote("👍🎉"),
        quote("🏻"),  # a skin tone alone
        quote("\u200d"),  # a zero-width joiner alone
        quote("👍 "),
        quote("👍") + "/x",
        "%F0%9F",  # the first half of an emoji's UTF-8
        "%00",
        "x" * 300,
        quote("👍" * 40),
    ],
)
def test_reaction_not_one_emoji(client, bob, scene, method, emoji):
    before = stored_state()
    response = client.open(f"/api/v1/messages/{scene['mine']}/reactions/{emoji}", method=method, headers=bearer(bob))
    refused(response, 400, "VALIDATION_ERROR", "emoji")
    assert stored_state() == before


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_reaction_path_without_an_emoji_names_nothing(client, bob, scene, method):
    response = client.open(f"/api/v1/messages/{scene['mine']}/reactions/", method=method, headers=bearer(bob))
    refused(response, 404, "NOT_FOUND")


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize(
    "target, status, code",
    [
        ("gone", 400, "VALIDATION_ERROR"),
        ("notice", 400, "VALIDATION_ERROR"),
        (999_999, 404, "MESSAGE_NOT_FOUND"),
        (2**31, 400, "VALIDATION_ERROR"),
    ],
)
def test_reaction_on_a_message_that_takes_none(client, bob, scene, method, target, status, code):
    before = stored_state()
    url = f"/api/v1/messages/{scene.get(target, target)}/reactions/{quote('👍')}"
    refused(client.open(url, method=method, headers=bearer(bob)), status, code)
    assert stored_state() == before


def test_a_51st_distinct_reaction(client, alice, bob, scene):
    palette = "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘😗😚😙😋😛😜🤪😝🤑🤗🤭🤫🤔🤐🤨😐😑😶😏😒🙄😬🤥😌😔😪🤤😴😷🤒🤕🤢🤮"
    url = f"/api/v1/messages/{scene['mine']}/reactions/"
    for emoji in palette:
        assert client.put(url + quote(emoji), headers=bearer(alice)).status_code == 200
    before = stored_state()
    refused(client.put(url + quote("🎉"), headers=bearer(bob)), 400, "REACTION_LIMIT")
    # Taking away what is not there is no change, at the cap too.
    assert client.delete(url + quote("🎉"), headers=bearer(bob)).status_code == 200
    assert stored_state() == before


@pytest.mark.parametrize(
    "reply_to",
    [
        lambda s: str(s["elsewhere"]),
        lambda s: str(s["gone"]),
        lambda s: "999999",
        lambda s: "x",
        lambda s: "1.5",
        lambda s: "0",
        lambda s: "-1",
        lambda s: "2147483648",
        lambda s: "true",
        lambda s: f" {s['mine']}",
        lambda s: str(s["mine"]).translate(FULL_WIDTH),
    ],
    ids=["other room", "deleted", "no such message", "x", "1.5", "0", "-1", "2**31", "true", "space", "full-width"],
)
def test_upload_reply_to(app, client, alice, scene, reply_to):
    before, objects = stored_state(), stored_objects(app)
    response = client.post(
        f"/api/v1/rooms/{scene['room']}/files",
        data={"file": (io.BytesIO(b"a reply"), "b.txt"), "reply_to": reply_to(scene), "client_id": "upload-1"},
        content_type="multipart/form-data",
        headers=bearer(alice),
    )
    refused(response, 400, "VALIDATION_ERROR", "reply_to")
    assert stored_state() == before
    assert stored_objects(app) == objects


def stored_objects(app):
    return sorted(path for path in Path(app.config["UPLOAD_DIR"]).rglob("*") if path.is_file())


# Every route the app has, fed junk (tests/support/surface.py lists them, so a new route
# is fed too): its ids as a real row's, as no row's and past every column's range, every
# query parameter any route reads set to junk, and a body of the wrong shape. Whatever the
# route, the answer is the contract's: never a 5xx, an API error in the contract's JSON
# with a known code, and a refusal writes nothing. The caller is a site admin in the
# room, so that the checks past authorization run too.
NOT_FED = ("/static/", "/socket.io/", "/auth/logout")  # files; Socket.IO's; ends the caller's session
JUNK_IDS = ["999999", "9" * 30]
JUNK_QUERY = dict.fromkeys(
    ("q", "room_id", "before_id", "limit", "after_seq", "before_seq", "around_seq", "after_rev", "username", "next"),
    "\x00 ' \" ; <x>%",
)
JUNK_FORM = dict.fromkeys(("name", "username", "password", "email", "topic", "q"), "\x00" * 3 + "x" * 5000)
JUNK_BODIES = [[{"body": "x"}], {"name": {"nested": ["x"]}, "body": ["x"], "username": 7, "email": [], "notify": 0}]


def fed_paths(rule, real):
    """`rule` with each variable part filled in: with the real row's id, then junk."""
    for value in [real, *JUNK_IDS]:
        path = re.sub(r"<int:\w+>", value, rule)
        path = re.sub(r"<any\(([\w]+)[^)]*\):\w+>", r"\1", path)
        yield re.sub(r"<(?:path:)?\w+>", lambda m: "ko" if "locale" in m.group() else "x", path)


def test_every_route_answers_junk_with_the_contract(app, client, alice, bob, scene):
    admin.grant(alice.username)
    login(client, alice)
    headers = bearer(alice)
    ids = {"room": str(scene["room"]), "message": str(scene["mine"]), "user": str(bob.id), "file": str(scene["file"])}
    before = stored_state()
    for method, rule in sorted(routes(app)):
        if rule.startswith(NOT_FED):
            continue
        real = next((ids[kind] for kind in ids if f"<int:{kind}_id>" in rule), "1")
        for path in fed_paths(rule, real):
            for body in JUNK_BODIES if method != "GET" else [None]:
                if rule.startswith("/api/"):
                    response = client.open(path, method=method, query_string=JUNK_QUERY, json=body, headers=headers)
                else:
                    response = client.open(path, method=method, query_string=JUNK_QUERY, data=JUNK_FORM)
                where = (method, path, body, response.status_code, response.get_data(as_text=True)[:200])
                assert response.status_code < 500, where
                if response.status_code >= 400 and rule.startswith("/api/"):
                    assert response.get_json()["error"]["code"] in ERRORS, where
                if method != "GET":  # what a refusal must leave as it was
                    after = stored_state()
                    assert response.status_code < 400 or after == before, where
                    before = after
