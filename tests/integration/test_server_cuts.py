"""Issue 16's reproductions against the real server (gunicorn + eventlet), on SQLite and on
MariaDB, with the python-socketio client: a client event named "disconnect" or "connect"
changes nothing, and an access token cannot renew itself past its family's revocation."""

import pytest
import requests

from ..support.chat_client import NS
from ..support.http_client import api, api_user, page_login, page_logout, unique_name

pytestmark = pytest.mark.integration


def tokens_for(server, username):
    response = requests.post(
        f"{server.url}/api/v1/auth/token", json={"username": username, "password": "correct horse battery"}, timeout=10
    )
    assert response.status_code == 200
    return response.json()


def refresh(server, refresh_token):
    return requests.post(
        f"{server.url}/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh_token}"}, timeout=10
    )


def online(server, token, room_id):
    members = api(server, token, "GET", f"/rooms/{room_id}/members").json()["members"]
    return {m["username"] for m in members if m["online"]}


def test_a_fake_disconnect_hides_from_nothing(server, clients):
    (_owner, owner_token), (bob, bob_token) = api_user(server, unique_name("own")), api_user(server, unique_name("bob"))
    room = api(server, owner_token, "POST", "/rooms", json={"name": "secret", "type": "private"}).json()["room"]
    assert api(server, owner_token, "POST", f"/rooms/{room['id']}/members", json={"username": bob["username"]}).ok
    owner_socket, hidden = clients(server, owner_token), clients(server, bob_token)
    assert hidden.call("open_room", {"room_id": room["id"]})["ok"]
    assert owner_socket.call("open_room", {"room_id": room["id"]})["ok"]

    for name in ("disconnect", "connect", "connect_error", "message"):
        ack = hidden.call(name, {}, timeout=5)  # answered now; it used to be left unanswered
        assert ack["ok"] is False and ack["error"]["code"] == "VALIDATION_ERROR", (name, ack)
    assert bob["username"] in online(server, owner_token, room["id"])

    # The kick reaches it: nothing of the room arrives afterwards.
    assert api(server, owner_token, "DELETE", f"/rooms/{room['id']}/members/{bob['username']}").ok
    hidden.wait_for(lambda: hidden.events["room_removed"], what="room_removed")
    owner_socket.call("send_message", {"room_id": room["id"], "body": "after the kick", "client_id": "k"})
    owner_socket.call("typing", {"room_id": room["id"]})
    hidden.call("typing", {"room_id": room["id"]})  # a round trip: anything sent before it has arrived
    assert "after the kick" not in [m["body"] for m in hidden.messages(room["id"])]
    assert hidden.events["typing"] == []

    # The logout reaches it.
    page_logout(server, page_login(server, bob["username"]))
    hidden.wait_for(lambda: not hidden.sio.connected, what="the logout to disconnect the socket")
    assert owner_socket.sio.connected


def test_a_fake_connect_cannot_register_another_users_token(server, clients):
    (alice, alice_token), (_carol, carol_token) = (
        api_user(server, unique_name("al")),
        api_user(server, unique_name("ca")),
    )
    room = api(server, alice_token, "POST", "/rooms", json={"name": "ghosts"}).json()["room"]
    assert api(server, carol_token, "POST", f"/rooms/{room['id']}/join").ok
    sock = clients(server, alice_token)
    ack = sock.call("connect", {"token": carol_token}, timeout=5)
    assert ack["error"]["code"] == "VALIDATION_ERROR"
    two_args = sock.sio.call("connect", ({}, {"token": carol_token}), namespace=NS, timeout=5)  # a tuple: two arguments
    assert two_args["error"]["code"] == "VALIDATION_ERROR"
    assert online(server, alice_token, room["id"]) == {alice["username"]}
    sock.close()


def test_an_access_token_cannot_outlive_its_family(server, clients):
    user, _token = api_user(server, unique_name("thief"))
    tokens = tokens_for(server, user["username"])
    access = tokens["access_token"]
    # The chain is closed: an access token mints nothing.
    minted = requests.post(
        f"{server.url}/api/v1/auth/socket-token", headers={"Authorization": f"Bearer {access}"}, timeout=10
    )
    assert minted.status_code == 403 and minted.json()["error"]["code"] == "FORBIDDEN"
    assert "access_token" not in minted.text

    sock = clients(server, access)
    rotated = refresh(server, tokens["refresh_token"])
    assert rotated.ok
    assert refresh(server, tokens["refresh_token"]).json()["error"]["code"] == "TOKEN_REUSED"
    sock.wait_for(lambda: not sock.sio.connected, what="the family's socket to be disconnected")
    for token in (access, rotated.json()["access_token"]):
        response = api(server, token, "GET", "/rooms")
        assert response.status_code == 401 and response.json()["error"]["code"] == "TOKEN_INVALID"
