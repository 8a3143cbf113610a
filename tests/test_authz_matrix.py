"""The authorization matrix: every API endpoint, room page and socket event, for each of
anonymous, outsider, non-member, member, owner, kicked and departed users, a site admin
and a deactivated user, with the exact status and code. A route or socket event without a
row here fails the completeness tests.

The cast, in a private room and a public room built the same way: `owner` created it,
`member` and `member2` are in it, `kicked` was removed by the owner, `departed` left.
`outsider` has never been in the private room; `non_member` is the same user seen from
the public room (which they may see but have not joined). `admin` is a site admin in
neither room; `deactivated` was a member until an admin deactivated them: every token of
theirs answers TOKEN_INVALID and no session of theirs exists (pages treat them as anonymous)."""

import io
import shutil

import pytest

from webchat import create_app
from webchat.chat.namespace import RESERVED_EVENTS
from webchat.extensions import db, socketio
from webchat.realtime import current_presence
from webchat.services import accounts, edits, messages, reactions, reads, rooms, sessions

from .support.accounts import PASSWORD, bearer, login
from .support.databases import Backend, config_for
from .support.surface import client_events, routes

ROLES = ["anonymous", "outsider", "non_member", "member", "owner", "kicked", "departed", "admin", "deactivated"]
OK, NOT_FOUND, NOT_IN = (200, None), (404, "ROOM_NOT_FOUND"), (403, "USER_NOT_IN_CHAT_ROOM")
ANON, DEAD = (401, "UNAUTHENTICATED"), (401, "TOKEN_INVALID")
FORBIDDEN = (403, "FORBIDDEN")


def room_rule(
    member=OK, owner=OK, *, outsider=NOT_FOUND, non_member=NOT_IN, kicked=NOT_IN, departed=NOT_IN, admin=None
):
    """By default a site admin is an outsider like any other: only moderation reaches further."""
    return {
        "anonymous": ANON,
        "outsider": outsider,
        "non_member": non_member,
        "member": member,
        "owner": owner,
        "kicked": kicked,
        "departed": departed,
        "admin": outsider if admin is None else admin,
        "deactivated": DEAD,
    }


def everyone(status, anonymous=ANON):
    return {
        role: (anonymous if role == "anonymous" else DEAD if role == "deactivated" else (status, None))
        for role in ROLES
    }


# Site administration: admins only; the signed-in rest are FORBIDDEN.
ADMIN_ONLY = {**dict.fromkeys(ROLES, FORBIDDEN), "anonymous": ANON, "deactivated": DEAD, "admin": OK}


MSG_GONE = (404, "MESSAGE_NOT_FOUND")
# Something inside a room: outside it, the message does not exist.
MEMBERS_ONLY = room_rule(outsider=MSG_GONE, non_member=MSG_GONE, kicked=MSG_GONE, departed=MSG_GONE)
SENDER_ONLY = {**MEMBERS_ONLY, "owner": FORBIDDEN}
# The sender, the room's owner and any site admin (a moderator's delete).
MODERATED = {**MEMBERS_ONLY, "admin": OK}
SESSION_OWNER = {**dict.fromkeys(ROLES, (404, "NOT_FOUND")), "anonymous": ANON, "deactivated": DEAD, "member": OK}
# (method, rule) -> (how to call it, {role: (status, code)})
API = {
    ("GET", "/api/v1/rooms"): ("/api/v1/rooms", None, everyone(200)),
    ("GET", "/api/v1/rooms/public"): ("/api/v1/rooms/public", None, everyone(200)),
    ("POST", "/api/v1/rooms"): ("/api/v1/rooms", {"name": "new"}, everyone(201)),
    ("POST", "/api/v1/rooms/direct"): (
        "/api/v1/rooms/direct",
        {"usernames": ["member2"]},
        {**everyone(201), "member": (409, "DUPLICATE_DIRECT_ROOM")},
    ),
    ("GET", "/api/v1/users"): ("/api/v1/users?q=mem", None, everyone(200)),
    ("PUT", "/api/v1/me"): ("/api/v1/me", {"locale": "ko"}, everyone(200)),  # only ever about the caller
    ("GET", "/api/v1/me/sessions"): ("/api/v1/me/sessions", None, everyone(200)),  # the caller's own only
    # The session is `member`'s: anyone else's id does not exist for them.
    ("DELETE", "/api/v1/me/sessions/<int:session_id>"): ("/api/v1/me/sessions/{session}", None, SESSION_OWNER),
    # A session's: a deactivated user has none.
    ("POST", "/api/v1/auth/socket-token"): ("/api/v1/auth/socket-token", {}, {**everyone(200), "deactivated": ANON}),
    ("GET", "/api/v1/rooms/<int:room_id>/messages"): ("/api/v1/rooms/{room}/messages", None, room_rule()),
    ("GET", "/api/v1/rooms/<int:room_id>/members"): ("/api/v1/rooms/{room}/members", None, room_rule()),
    ("POST", "/api/v1/rooms/<int:room_id>/join"): (
        "/api/v1/rooms/{room}/join",
        {},
        room_rule(non_member=OK, kicked=NOT_FOUND, departed=NOT_FOUND),
    ),
    ("POST", "/api/v1/rooms/<int:room_id>/members"): (
        "/api/v1/rooms/{room}/members",
        {"username": "newcomer"},
        room_rule(),
    ),
    ("DELETE", "/api/v1/rooms/<int:room_id>/members/<username>"): (
        "/api/v1/rooms/{room}/members/member2",
        None,
        room_rule(member=(403, "FORBIDDEN")),
    ),
    ("GET", "/api/v1/rooms/<int:room_id>/bans"): (
        "/api/v1/rooms/{room}/bans",
        None,
        room_rule(member=FORBIDDEN),
    ),
    ("DELETE", "/api/v1/rooms/<int:room_id>/bans/<username>"): (
        "/api/v1/rooms/{room}/bans/kicked",
        None,
        room_rule(member=FORBIDDEN),
    ),
    ("GET", "/api/v1/admin/users"): ("/api/v1/admin/users?q=mem", None, ADMIN_ONLY),
    ("POST", "/api/v1/admin/users/<int:user_id>/deactivate"): (
        "/api/v1/admin/users/{member2}/deactivate",
        {},
        ADMIN_ONLY,
    ),
    ("POST", "/api/v1/admin/users/<int:user_id>/reactivate"): (
        "/api/v1/admin/users/{member2}/reactivate",
        {},
        ADMIN_ONLY,
    ),
    ("GET", "/api/v1/admin/rooms"): ("/api/v1/admin/rooms", None, ADMIN_ONLY),
    ("DELETE", "/api/v1/admin/rooms/<int:room_id>"): ("/api/v1/admin/rooms/{room}", None, ADMIN_ONLY),
    ("GET", "/api/v1/admin/audit"): ("/api/v1/admin/audit", None, ADMIN_ONLY),
    ("POST", "/api/v1/rooms/<int:room_id>/leave"): ("/api/v1/rooms/{room}/leave", {}, room_rule()),
    ("POST", "/api/v1/rooms/<int:room_id>/read"): (
        "/api/v1/rooms/{room}/read",
        {"message_id": "{message}"},
        room_rule(),
    ),
    ("POST", "/api/v1/rooms/<int:room_id>/files"): (
        "/api/v1/rooms/{room}/files",
        "FILE",
        room_rule(member=(201, None), owner=(201, None)),
    ),
    ("GET", "/api/v1/rooms/<int:room_id>/changes"): ("/api/v1/rooms/{room}/changes?after_rev=0", None, room_rule()),
    ("PUT", "/api/v1/rooms/<int:room_id>/notify"): ("/api/v1/rooms/{room}/notify", {"notify": "mute"}, room_rule()),
    ("GET", "/api/v1/search"): ("/api/v1/search?q=hello&room_id={room}", None, room_rule()),
    # The message was sent by `member`: only they may edit it; the owner and a site admin
    # may delete it too.
    ("DELETE", "/api/v1/messages/<int:message_id>"): ("/api/v1/messages/{message}", None, MODERATED),
    ("PATCH", "/api/v1/messages/<int:message_id>"): ("/api/v1/messages/{message}", {"body": "edited"}, SENDER_ONLY),
    ("GET", "/api/v1/messages/<int:message_id>/history"): ("/api/v1/messages/{message}/history", None, MEMBERS_ONLY),
    ("PUT", "/api/v1/messages/<int:message_id>/reactions/<path:emoji>"): (
        "/api/v1/messages/{message}/reactions/%F0%9F%91%8D",
        None,
        MEMBERS_ONLY,
    ),
    ("DELETE", "/api/v1/messages/<int:message_id>/reactions/<path:emoji>"): (
        "/api/v1/messages/{message}/reactions/%F0%9F%91%8D",
        None,
        MEMBERS_ONLY,
    ),
}
# Open to anyone: the way in, and the API's own description.
PUBLIC_API = {
    ("POST", "/api/v1/auth/signup"),
    ("GET", "/api/v1/users/available"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("GET", "/api/v1/openapi.json"),
}
# Pages: anonymous users are sent to the login page.
LOGIN = (302, "login")


def signed_in(expected):
    """A page about nobody's room but the caller's own: every signed-in user gets it."""
    return {**dict.fromkeys(ROLES, expected), "anonymous": LOGIN, "deactivated": LOGIN}


PAGES = {
    ("GET", "/rooms"): ("/rooms", None, signed_in(OK)),
    ("POST", "/rooms"): ("/rooms", {"name": "new"}, signed_in((302, None))),
    # The search page's shell, whatever room it is asked about: the results come from
    # GET /api/v1/search (a row above); its room filter lists only the caller's rooms
    # (tests/test_pages.py).
    ("GET", "/search"): ("/search?q=message&room_id={room}", None, signed_in(OK)),
    ("GET", "/auth/password"): ("/auth/password", None, signed_in(OK)),
    ("GET", "/rooms/<int:room_id>"): (
        "/rooms/{room}",
        None,
        {
            **room_rule(non_member=(403, None), kicked=(403, None), departed=(403, None)),
            "anonymous": LOGIN,
            "deactivated": LOGIN,
        },
    ),
    ("POST", "/rooms/<int:room_id>/join"): (
        "/rooms/{room}/join",
        {},
        {
            **room_rule(
                member=(302, None), owner=(302, None), non_member=(302, None), kicked=NOT_FOUND, departed=NOT_FOUND
            ),
            "anonymous": LOGIN,
            "deactivated": LOGIN,
        },
    ),
    # Ending one of `member`'s sessions on the account page.
    ("POST", "/auth/sessions/<int:session_id>/end"): (
        "/auth/sessions/{session}/end",
        {},
        {**dict.fromkeys(ROLES, (404, None)), "member": (302, None), "anonymous": LOGIN, "deactivated": LOGIN},
    ),
    # The admin area: a 404 for everyone but site admins (anonymous too).
    **{
        ("GET", rule): (
            path,
            None,
            {**dict.fromkeys(ROLES, (404, None)), "admin": (status, None)},
        )
        for rule, path, status in (
            ("/admin/", "/admin/", 302),
            ("/admin/users", "/admin/users", 200),
            ("/admin/rooms", "/admin/rooms", 200),
            ("/admin/audit", "/admin/audit", 200),
            (
                "/admin/users/<int:user_id>/<any(deactivate, reactivate):action>",
                "/admin/users/{member2}/deactivate",
                200,
            ),
            ("/admin/rooms/<int:room_id>/delete", "/admin/rooms/{room}/delete", 200),
        )
    },
    **{
        ("POST", rule): (path, {}, {**dict.fromkeys(ROLES, (404, None)), "admin": (302, None)})
        for rule, path in (
            ("/admin/users/<int:user_id>/<any(deactivate, reactivate):action>", "/admin/users/{member2}/deactivate"),
            ("/admin/rooms/<int:room_id>/delete", "/admin/rooms/{room}/delete"),
        )
    },
    # A signed-out browser logs in and comes back to the file; a signed-in one outside the
    # room is told nothing about it (tests/test_files.py has the JSON and Bearer callers).
    ("GET", "/files/<int:file_id>/<path:name>"): (
        "/files/{file}/a.txt",
        None,
        {
            **room_rule(outsider=(404, None), non_member=(404, None), kicked=(404, None), departed=(404, None)),
            "anonymous": LOGIN,
            "deactivated": LOGIN,
        },
    ),
}
# Pages open to anyone or only about the caller themselves (tested in test_auth_pages).
OTHER_PAGES = {
    ("GET", "/"),
    ("GET", "/auth/signup"),
    ("POST", "/auth/signup"),
    ("GET", "/auth/login"),
    ("POST", "/auth/login"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/logout/this-device"),
    ("POST", "/auth/sessions/end-others"),  # the caller's own sessions
    ("GET", "/auth/password"),
    ("POST", "/auth/password"),
    ("POST", "/auth/language"),
    ("POST", "/auth/theme"),  # this browser's cookie, nothing of anyone's
    # The caller's own email settings, and links whose signed token names the user
    # (tests/test_emails.py covers them, forged tokens included).
    ("POST", "/auth/email"),
    ("GET", "/auth/email/verify/<token>"),
    ("GET", "/auth/email/stop/<token>"),
    ("POST", "/auth/email/stop/<token>"),
    ("GET", "/healthz"),
    ("GET", "/healthz/live"),
    ("GET", "/static/<path:filename>"),
    ("GET", "/socket.io/"),
    ("POST", "/language"),
    ("GET", "/i18n/<locale>.<version>.json"),
}  # answered by the Socket.IO middleware (webchat.register_socketio)

SOCKET = {
    "open_room": ({"room_id": "{room}"}, room_rule()),
    "send_message": ({"room_id": "{room}", "body": "hi"}, room_rule()),
    "typing": ({"room_id": "{room}"}, room_rule()),
    "mark_read": ({"room_id": "{room}", "message_id": "{message}"}, room_rule()),
    "delete_message": ({"message_id": "{message}"}, MODERATED),
    "edit_message": ({"message_id": "{message}", "body": "edited"}, SENDER_ONLY),
    "react": ({"message_id": "{message}", "emoji": "👍", "add": True}, MEMBERS_ONLY),
    "close_room": ({"room_id": "{room}"}, everyone(200)),  # only stops this socket's stream
    "auth": ({"token": "{token}"}, everyone(200)),
    # Names Socket.IO reserves never reach a handler, whoever sends them (issue 16: a client
    # "disconnect" hid its socket from every cut; a "connect" registered another's token).
    **{
        name: ({"token": "{token}"}, dict.fromkeys(ROLES, (400, "VALIDATION_ERROR")))
        for name in sorted(RESERVED_EVENTS)
    },
}


NAMES = ("owner", "member", "member2", "kicked", "departed", "outsider", "newcomer", "admin", "deactivated")


def build_cast():
    """Both rooms with their people and a message and a file in each; returns the ids."""
    from webchat.services import admin, files

    people = {name: accounts.signup(name, PASSWORD) for name in NAMES}
    admin.grant("admin")
    world = {}
    for kind in ("private", "public"):
        room = rooms.create_room(people["owner"], f"{kind} room", kind)
        for name in ("member", "member2", "kicked", "departed", "deactivated"):
            rooms.invite(people["owner"], room["id"], name)
        message, _ = messages.send_message(people["member"], room["id"], "a message to read and delete")
        file_message, _ = files.upload(people["owner"], room["id"], io.BytesIO(b"hello"), "a.txt")
        rooms.kick(people["owner"], room["id"], "kicked")
        rooms.leave(people["departed"], room["id"])
        world[kind] = {
            "room": room["id"],
            "message": message.id,
            "file": file_message.file_id,
            "member2": people["member2"].id,
        }
    # So that `member` asking again is a duplicate.
    world["direct"] = rooms.create_direct(people["member"], ["member2"])["id"]
    accounts.issue_tokens(people["member"])  # a session (a token login) of `member`'s
    session_id = sessions.list_sessions(people["member"])[0].id
    for kind in ("private", "public"):
        world[kind]["session"] = session_id
    admin.deactivate(accounts.find_user("admin"), people["deactivated"].id)
    return world


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    """SQLite only, with the cast built once into the database every test starts from.
    The matrix checks the service layer's rules, which do not depend on the database, and
    its 340 cells would double the suite's time on MariaDB (where the same rules are
    tested in test_membership and test_api_rooms)."""
    backend = Backend("sqlite", tmp_path_factory)
    app = create_app(config_for(f"sqlite:///{backend.template}", backend.tmp))
    with app.app_context():
        backend.world = build_cast()
        db.session.remove()
        db.engine.dispose()
    backend.uploads = backend.tmp / "uploads"
    return backend


@pytest.fixture
def cast(app, backend, tmp_path):
    """{role: user or None} and the rooms' ids, from a copy of the module's database."""
    shutil.copytree(backend.uploads, tmp_path / "uploads", dirs_exist_ok=True)
    people = {name: accounts.find_user(name) for name in NAMES}
    people["non_member"] = people["outsider"]
    people["anonymous"] = None
    return people, backend.world


def target(world, role):
    return world["public" if role == "non_member" else "private"]


def fill(template, values):
    if isinstance(template, str):
        filled = template.format(**values)
        return int(filled) if template.startswith("{") and filled.isdigit() else filled
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


def call_http(app, people, world, role, method, path, body):
    user = people[role]
    client = app.test_client()
    headers = {}
    if user is not None:
        if path.startswith("/api/") and not path.startswith("/api/v1/auth/socket-token"):
            headers = bearer(user)
        elif role != "deactivated":  # who cannot sign in, and whose sessions ended
            login(client, user)
    values = target(world, role)
    url = fill(path, values)
    if body == "FILE":
        return client.open(url, method=method, headers=headers, data={"file": (io.BytesIO(b"data"), "x.txt")})
    return client.open(url, method=method, headers=headers, json=fill(body, values) if body is not None else None)


def check(response, expected):
    status, code = expected
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    if code == "login":
        assert "/auth/login" in response.headers["Location"]
    elif code is not None:
        assert response.get_json()["error"]["code"] == code


CASES = [(key, role) for key in API for role in ROLES]


@pytest.mark.parametrize("key, role", CASES, ids=[f"{m} {r} as {role}" for (m, r), role in CASES])
def test_api(app, cast, key, role):
    people, world = cast
    path, body, expected = API[key]
    check(call_http(app, people, world, role, key[0], path, body), expected[role])


PAGE_CASES = [(key, role) for key in PAGES for role in ROLES]


@pytest.mark.parametrize("key, role", PAGE_CASES, ids=[f"{m} {r} as {role}" for (m, r), role in PAGE_CASES])
def test_pages(app, cast, key, role):
    people, world = cast
    path, body, expected = PAGES[key]
    response = call_http(app, people, world, role, key[0], path, body)
    status, code = expected[role]
    assert response.status_code == status, response.status_code
    if code == "login":
        assert "/auth/login" in response.headers["Location"]


# Neither anonymous nor deactivated users get a socket (test_refused_sockets).
SOCKET_CASES = [(event, role) for event in SOCKET for role in ROLES if role not in ("anonymous", "deactivated")]


@pytest.mark.parametrize("event, role", SOCKET_CASES, ids=[f"{e} as {r}" for e, r in SOCKET_CASES])
def test_socket(app, cast, connect, event, role):
    people, world = cast
    payload, expected = SOCKET[event]
    values = {**target(world, role), "token": accounts.issue_access_token(people[role])["access_token"]}
    sock = connect(people[role])
    ack = sock.emit(event, fill(payload, values), namespace="/chat", callback=True)
    status, code = expected[role]
    if status < 400:
        assert ack["ok"] is True, ack
    else:
        assert ack["error"]["code"] == code, ack
    # Whatever the event, the socket is still where the cuts find it, and still its user's.
    sid = socketio.server.manager.sid_from_eio_sid(sock.eio_sid, "/chat")
    assert current_presence().get(sid).user_id == people[role].id
    assert f"user:{people[role].id}" in socketio.server.manager.get_rooms(sid, "/chat")


def test_anonymous_sockets_are_refused(app, connect):
    assert not connect(auth={}).is_connected("/chat")


def test_deactivated_users_sockets_are_refused(app, cast, connect):
    people, _world = cast
    assert not connect(people["deactivated"]).is_connected("/chat")


def test_every_route_has_a_row(app):
    covered = set(API) | PUBLIC_API | set(PAGES) | OTHER_PAGES
    assert routes(app) - covered == set(), "add these routes to the authorization matrix"
    assert covered - routes(app) == set(), "the matrix names routes that no longer exist"


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_socket_token_is_for_sessions_only(app, cast, role):
    """An access token never mints a longer-lived one (issue 16)."""
    people, _world = cast
    response = app.test_client().post("/api/v1/auth/socket-token", headers=bearer(people[role]))
    check(response, (403, "FORBIDDEN"))


# The rooms each role is an active member of now: what its room list shows and the only
# rooms a search across "all my rooms" may find anything in (the cast's message, sent by
# `member` to both rooms, has the word "read").
CURRENT_ROOMS = {
    "outsider": set(),
    "member": {"private", "public", "direct"},
    "owner": {"private", "public"},
    "kicked": set(),
    "departed": set(),
    "admin": set(),
}


@pytest.mark.parametrize("role", sorted(CURRENT_ROOMS))
def test_lists_and_searches_show_only_current_rooms(app, cast, role):
    """The matrix checks each call's answer code; this checks what a 200 contains."""
    people, world = cast
    client, headers = app.test_client(), bearer(people[role])
    listed = {room["id"] for room in client.get("/api/v1/rooms", headers=headers).get_json()["rooms"]}
    found = client.get("/api/v1/search?q=read", headers=headers).get_json()["results"]
    expected = {world[kind]["room"] for kind in CURRENT_ROOMS[role] if kind != "direct"}
    assert listed - {world["direct"]} == expected and ("direct" in CURRENT_ROOMS[role]) == (world["direct"] in listed)
    assert {hit["message"]["room_id"] for hit in found} == expected


def rooms_named(value):
    """Every room id a payload names: its `room_id`s, at any depth."""
    if isinstance(value, dict):
        found = {value["room_id"]} if "room_id" in value else set()
        return found.union(*(rooms_named(item) for item in value.values()))
    if isinstance(value, list):
        return {r for item in value for r in rooms_named(item)}
    return set()


def test_former_members_hear_nothing_more_of_the_room(app, make_user, connect):
    """The matrix's answers are what a caller asks; this is what the server sends
    unasked. Once kicked or gone, a member's open socket (it had opened the room) gets no
    event of the room's: no message, edit, reaction, delete, typing, receipt, unread count
    or notification (an @room and their own name included), while a member still there
    gets each of them."""
    owner, stays, kicked, departed = (make_user(name) for name in ("host", "stays", "ousted", "leaver"))
    room = rooms.create_room(owner, "Secret", "private")["id"]
    for user in (stays, kicked, departed):
        rooms.invite(owner, room, user.username)
    earlier = messages.send_message(stays, room, "before")[0].id
    sockets = {user.username: connect(user) for user in (stays, kicked, departed)}
    for sock in sockets.values():
        assert sock.emit("open_room", {"room_id": room}, namespace="/chat", callback=True)["ok"]
    rooms.kick(owner, room, kicked.username)
    rooms.leave(departed, room)
    for sock in sockets.values():
        sock.get_received("/chat")

    news = messages.send_message(owner, room, "@room @ousted @leaver @stays news")[0].id
    edits.edit_message(owner, news, "@room @ousted @leaver @stays edited news")
    reactions.react(owner, news, "👍")
    messages.delete_message(owner, earlier)
    rooms.typing(owner, room)
    reads.mark_read(stays, room, news)

    heard = {
        name: [event["name"] for event in sock.get_received("/chat") if room in rooms_named(event["args"])]
        for name, sock in sockets.items()
    }
    assert heard["ousted"] == [] and heard["leaver"] == [], heard
    assert {"new_message", "message_updated", "message_deleted", "typing", "read_receipt", "unread"} <= set(
        heard["stays"]
    ), heard
    assert "notification" in heard["stays"], heard


def test_every_socket_event_has_a_row():
    assert client_events() == set(SOCKET) - RESERVED_EVENTS


# Every place a room's name or member count could reach someone (issue 24): to a user who
# left a private room or was removed from it, as to one never in it, none shows either.
ROOM_PLACES = {
    "room page": "/rooms/{room}",
    "room list page": "/rooms",
    "search page": "/search",
    "API room": "/api/v1/rooms/{room}/members",
    "API room list": "/api/v1/rooms",
    "API public rooms": "/api/v1/rooms/public",
    "API search": "/api/v1/search?q=message",
    "API messages": "/api/v1/rooms/{room}/messages",
}


CURRENT_NAME = "Renamed since"


@pytest.fixture
def renamed(cast):
    """The private room under a name given after `kicked` and `departed` were gone."""
    from webchat.models import Room

    _people, world = cast
    db.session.get(Room, world["private"]["room"]).name = CURRENT_NAME
    db.session.commit()
    return cast


@pytest.mark.parametrize("role", ["kicked", "departed", "outsider"])
@pytest.mark.parametrize("place", ROOM_PLACES)
def test_a_private_room_shows_nothing_to_those_outside_it(app, renamed, place, role):
    people, world = renamed
    response = call_http(app, people, world, role, "GET", ROOM_PLACES[place], None)
    assert response.status_code in (200, 403, 404)
    text = response.get_data(as_text=True)
    assert CURRENT_NAME not in text and "private room" not in text.replace("it is a private room you", "")
    assert "member_count" not in text or response.status_code == 200  # a list's rooms have one
    assert "It has" not in text  # the join page's "It has 5 members."


def test_the_owner_sees_the_private_room_where_the_others_do_not(app, renamed):
    """The test above could not fail if the name were nowhere: the owner finds it."""
    people, world = renamed
    for place in ("room page", "API room list", "API search"):
        response = call_http(app, people, world, "owner", "GET", ROOM_PLACES[place], None)
        assert CURRENT_NAME in response.get_data(as_text=True), place
