"""Schemathesis against the running server: no 5xx, and every response matches the
published OpenAPI document. Every operation is exercised past its authorization: the
caller is a site admin who owns rooms with messages and another member in them, path ids
are drawn half the time from those real rows (a dictionary per kind of id), and the two
operations that take other credentials get them (/auth/refresh a refresh token as Bearer,
/auth/socket-token a page's session and CSRF token)."""

import json
import subprocess

import pytest

from ..support.accounts import PASSWORD
from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, csrf_token, page_login, unique_name
from ..support.launcher import BIN

pytestmark = pytest.mark.integration

# The share of generated ids taken from the real rows; the rest stay arbitrary.
REAL = 0.5


def toml(value):
    """A TOML value (JSON's strings, numbers, arrays and inline tables are TOML's too)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value, ensure_ascii=False)


def config(headers, dictionaries, parameters, bodies, operations):
    """schemathesis.toml: global headers, dictionaries of real values bound to path
    parameters, and per-operation overrides."""
    lines = [
        "generation.max-examples = 5",
        "generation.deterministic = true",
        # Cheap enough for the suite: no unexpected-method probes (the routing answers 405
        # alike for all) and no stateful phase (no operation documents links).
        "phases.coverage.unexpected-methods = []",
        "phases.stateful.enabled = false",
        f"headers = {toml(headers)}",
    ]
    lines += [f"dictionaries.{name} = {toml({'values': values})}" for name, values in dictionaries.items()]
    lines += [f'parameters."path.{name}" = {toml({"dictionary": d, "probability": REAL})}' for name, d in parameters]
    lines += [f'parameters."body.{name}" = {toml({"dictionary": d, "probability": REAL})}' for name, d in bodies]
    for name, settings in operations.items():
        lines += ["", "[[operations]]", f"include-name = {toml(name)}"]
        lines += [f"{key} = {toml(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def test_api_conforms_to_its_openapi_document(live_server, tmp_path):
    server = live_server("sqlite")
    caller, token = api_user(server, unique_name("st"))
    # What `flask webchat admin grant` does, without starting the CLI.
    server.database.execute("UPDATE users SET is_admin = ? WHERE id = ?", True, caller["id"])
    other, other_token = api_user(server, unique_name("su"))
    _refresher, refresh = refresh_token(server, unique_name("sr"))
    # Rooms the caller may leave and delete without taking the others' data with them,
    # with the lowest ids, which the coverage phase's ids hit.
    spare = [api(server, token, "POST", "/rooms", json={"name": f"spare {n}"}).json()["room"]["id"] for n in range(3)]
    rooms = [api(server, token, "POST", "/rooms", json={"name": name}).json()["room"]["id"] for name in ("a", "b")]
    sock = ChatClient(server, token).connect()

    def say(room, text):
        return sock.call("send_message", {"room_id": room, "body": text})["message"]["id"]

    doomed = [say(rooms[0], f"to delete {n}") for n in range(3)]  # what DELETE /messages/<id> takes
    messages = []
    for room in rooms:
        assert api(server, other_token, "POST", f"/rooms/{room}/join").status_code == 200
        messages += [say(room, "hello world"), say(room, f"@{other['username']} a mention")]
    sock.close()
    session = page_login(server, caller["username"])
    page_session = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    (tmp_path / "schemathesis.toml").write_text(
        config(
            headers={"Authorization": f"Bearer {token}"},
            dictionaries={
                "rooms": rooms,
                "spare": spare,
                "messages": messages,
                "doomed": doomed,
                "usernames": [other["username"]],
                "users": [other["id"]],
                "emoji": ["👍", "🎉"],
                "bodies": ["an edited text"],
                "callers": [caller["username"]],
                "newcomers": [unique_name("sn") for _ in range(5)],
                "passwords": [PASSWORD],
            },
            parameters=[
                ("room_id", "rooms"),
                ("message_id", "messages"),
                ("username", "usernames"),
                ("user_id", "users"),
                ("emoji", "emoji"),
            ],
            bodies=[
                ("message_id", "messages"),
                ("body", "bodies"),
                ("usernames[*]", "usernames"),
                ("password", "passwords"),
            ],
            operations={
                "POST /auth/token": {"parameters": {"body.username": {"dictionary": "callers", "probability": REAL}}},
                "POST /auth/signup": {
                    "parameters": {"body.username": {"dictionary": "newcomers", "probability": REAL}}
                },
                "POST /auth/refresh": {"headers": {"Authorization": f"Bearer {refresh}"}},
                "POST /auth/socket-token": {
                    "headers": {
                        "Authorization": "",
                        "Cookie": page_session,
                        "X-CSRFToken": csrf_token(session, f"{server.url}/rooms"),
                    }
                },
                # Leaving and deleting happen to spare rooms and messages, so the rest stay usable.
                "POST /rooms/{room_id}/leave": {
                    "parameters": {"path.room_id": {"dictionary": "spare", "probability": 1}}
                },
                "DELETE /admin/rooms/{room_id}": {
                    "parameters": {"path.room_id": {"dictionary": "spare", "probability": 1}}
                },
                "DELETE /messages/{message_id}": {
                    "parameters": {"path.message_id": {"dictionary": "doomed", "probability": 1}},
                },
                # An edit needs both a real message and a real body: more often than REAL squared.
                "PATCH /messages/{message_id}": {
                    "parameters": {
                        "path.message_id": {"dictionary": "messages", "probability": 0.8},
                        "body.body": {"dictionary": "bodies", "probability": 0.8},
                    },
                },
            },
        )
    )
    command = [
        str(BIN / "schemathesis"),
        "run",
        f"{server.url}/api/v1/openapi.json",
        "--url",
        f"{server.url}/api/v1",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--no-color",
        # The caller's own session stays usable: no session is ended by the run.
        "--exclude-path",
        "/me/sessions/{session_id}",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert "passed" in summary and " 0 passed" not in summary, summary


def refresh_token(server, username):
    user, _token = api_user(server, username)
    tokens = api(server, "", "POST", "/auth/token", json={"username": username, "password": PASSWORD}).json()
    return user, tokens["refresh_token"]
