"""The rooms and messages API, per the contract: shapes, codes, and both ways to sign in."""

import pytest

from webchat.services import messages, rooms

from .support.accounts import bearer, login


def error_code(response):
    return response.get_json()["error"]["code"]


ROOM_KEYS = {
    "id",
    "name",
    "display_name",
    "type",
    "owner_id",
    "owner",
    "member_count",
    "online_count",
    "unread_count",
    "last_read_message_id",
    "last_read_seq",
    "last_message",
    "last_rev",
    "mention_count",
    "notify",
}
MESSAGE_KEYS = {
    "id",
    "room_id",
    "seq",
    "sender",
    "kind",
    "body",
    "client_id",
    "created_at",
    "deleted",
    "file",
    "event",
    # part 2 of the contract
    "rev",
    "edited_at",
    "editable_until",
    "reactions",
    "reply_to",
    "mentions",
    "mention_all",
    "html",
    "deleted_by",
}


def test_create_list_join_and_page(app, client, alice, bob):
    created = client.post("/api/v1/rooms", json={"name": "General", "type": "public"}, headers=bearer(alice))
    assert created.status_code == 201
    room = created.get_json()["room"]
    assert set(room) == ROOM_KEYS and room["owner_id"] == alice.id
    assert room["owner"] == {"id": alice.id, "username": "alice"}
    assert set(room["last_message"]) == MESSAGE_KEYS and room["last_message"]["created_at"].endswith("Z")

    public = client.get("/api/v1/rooms/public", headers=bearer(bob)).get_json()["rooms"]
    assert [r["id"] for r in public] == [room["id"]]
    assert public[0]["owner"] == {"id": alice.id, "username": "alice"}
    joined = client.post(f"/api/v1/rooms/{room['id']}/join", headers=bearer(bob))
    assert joined.status_code == 200 and joined.get_json()["room"]["member_count"] == 2
    mine = client.get("/api/v1/rooms", headers=bearer(bob)).get_json()["rooms"]
    assert [r["id"] for r in mine] == [room["id"]]

    for i in range(60):
        messages.send_message(alice, room["id"], f"m{i}")
    page = client.get(f"/api/v1/rooms/{room['id']}/messages", headers=bearer(bob)).get_json()
    assert page["has_more"] is True and [m["seq"] for m in page["messages"]] == list(range(13, 63))
    older = client.get(f"/api/v1/rooms/{room['id']}/messages?before_seq=13&limit=100", headers=bearer(bob)).get_json()
    assert [m["seq"] for m in older["messages"]] == list(range(1, 13)) and older["has_more"] is False
    newer = client.get(f"/api/v1/rooms/{room['id']}/messages?after_seq=60", headers=bearer(bob)).get_json()
    assert [m["seq"] for m in newer["messages"]] == [61, 62] and newer["has_more"] is False


@pytest.mark.parametrize(
    "body, field", [({"name": ""}, "name"), ({"name": "x", "type": "direct"}, "type"), ({"type": "public"}, "name")]
)
def test_create_room_validation(app, client, alice, body, field):
    response = client.post("/api/v1/rooms", json=body, headers=bearer(alice))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in error["fields"]


def test_not_json(app, client, alice):
    response = client.post("/api/v1/rooms", data="name=x", headers=bearer(alice))
    assert response.status_code == 400 and error_code(response) == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/rooms"),
        ("get", "/api/v1/rooms/public"),
        ("post", "/api/v1/rooms"),
        ("post", "/api/v1/rooms/1/join"),
        ("get", "/api/v1/rooms/1/messages"),
        ("post", "/api/v1/rooms/direct"),
        ("post", "/api/v1/rooms/1/members"),
        ("delete", "/api/v1/rooms/1/members/bob"),
        ("post", "/api/v1/rooms/1/leave"),
        ("post", "/api/v1/rooms/1/read"),
        ("delete", "/api/v1/messages/1"),
        ("get", "/api/v1/users?q=a"),
        ("get", "/api/v1/rooms/1/members"),
    ],
)
def test_anonymous_is_unauthenticated(app, client, method, path):
    response = getattr(client, method)(path, json={})
    assert response.status_code == 401 and error_code(response) == "UNAUTHENTICATED"


def test_errors_carry_contract_codes(app, client, alice, bob):
    private = rooms.create_room(alice, "Secret", "private")
    public = rooms.create_room(alice, "Open")
    cases = [
        (client.get(f"/api/v1/rooms/{private['id']}/messages", headers=bearer(bob)), 404, "ROOM_NOT_FOUND"),
        (client.post(f"/api/v1/rooms/{private['id']}/join", headers=bearer(bob)), 404, "ROOM_NOT_FOUND"),
        (client.get(f"/api/v1/rooms/{public['id']}/messages", headers=bearer(bob)), 403, "USER_NOT_IN_CHAT_ROOM"),
        (
            client.get(f"/api/v1/rooms/{public['id']}/messages?limit=500", headers=bearer(alice)),
            400,
            "VALIDATION_ERROR",
        ),
        (client.get("/api/v1/rooms/999999/messages", headers=bearer(alice)), 404, "ROOM_NOT_FOUND"),
        (
            client.delete(f"/api/v1/rooms/{public['id']}/members/alice", headers=bearer(bob)),
            403,
            "USER_NOT_IN_CHAT_ROOM",
        ),
        (client.delete("/api/v1/messages/999999", headers=bearer(alice)), 404, "MESSAGE_NOT_FOUND"),
        (client.get("/api/v1/rooms", headers={"Authorization": "Bearer nope"}), 401, "TOKEN_INVALID"),
    ]
    for response, status, code in cases:
        assert (response.status_code, error_code(response)) == (status, code), response.get_json()


def test_membership_endpoints(app, client, alice, bob, make_user):
    carol = make_user("carol")
    room = client.post("/api/v1/rooms", json={"name": "Team", "type": "private"}, headers=bearer(alice)).get_json()[
        "room"
    ]
    invited = client.post(f"/api/v1/rooms/{room['id']}/members", json={"username": "bob"}, headers=bearer(alice))
    assert invited.status_code == 200 and invited.get_json()["room"]["member_count"] == 2
    members = client.get(f"/api/v1/rooms/{room['id']}/members", headers=bearer(bob)).get_json()["members"]
    assert {(m["username"], m["role"]) for m in members} == {("alice", "owner"), ("bob", "member")}
    forbidden = client.delete(f"/api/v1/rooms/{room['id']}/members/alice", headers=bearer(bob))
    assert (forbidden.status_code, error_code(forbidden)) == (403, "FORBIDDEN")
    client.post(f"/api/v1/rooms/{room['id']}/members", json={"username": "carol"}, headers=bearer(bob))
    kicked = client.delete(f"/api/v1/rooms/{room['id']}/members/carol", headers=bearer(alice))
    assert kicked.status_code == 200 and kicked.get_json()["room"]["member_count"] == 2
    after = client.get(f"/api/v1/rooms/{room['id']}/messages", headers=bearer(carol))
    assert (after.status_code, error_code(after)) == (403, "USER_NOT_IN_CHAT_ROOM")
    left = client.post(f"/api/v1/rooms/{room['id']}/leave", headers=bearer(alice))
    assert left.status_code == 200 and left.get_json() == {}
    [handed] = client.get("/api/v1/rooms", headers=bearer(bob)).get_json()["rooms"]
    assert handed["owner_id"] == bob.id and handed["owner"] == {"id": bob.id, "username": "bob"}


def test_direct_rooms(app, client, alice, bob):
    general = rooms.create_room(alice, "General")
    created = client.post("/api/v1/rooms/direct", json={"usernames": ["bob"]}, headers=bearer(alice))
    assert created.status_code == 201 and created.get_json()["room"]["type"] == "direct"
    direct = created.get_json()["room"]
    # No owner, and no "created" notice: nothing in it yet, and nothing unread.
    assert direct["owner_id"] is None and direct["owner"] is None
    assert direct["last_message"] is None and direct["unread_count"] == 0 and direct["last_read_message_id"] is None
    history = client.get(f"/api/v1/rooms/{direct['id']}/messages", headers=bearer(bob)).get_json()
    assert history == {"messages": [], "has_more": False}
    # Newest activity first: the new direct room (by its creation) before General's notice.
    mine = client.get("/api/v1/rooms", headers=bearer(alice)).get_json()["rooms"]
    assert [r["id"] for r in mine] == [direct["id"], general["id"]]
    messages.send_message(alice, general["id"], "later")
    mine = client.get("/api/v1/rooms", headers=bearer(alice)).get_json()["rooms"]
    assert [r["id"] for r in mine] == [general["id"], direct["id"]]
    first, _ = messages.send_message(bob, direct["id"], "hi")
    assert first.seq == 1
    assert rooms.room_view(alice, direct["id"])["unread_count"] == 1
    again = client.post("/api/v1/rooms/direct", json={"usernames": ["alice"]}, headers=bearer(bob))
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "DUPLICATE_DIRECT_ROOM"
    assert again.get_json()["error"]["room_id"] == created.get_json()["room"]["id"]


def test_read_and_delete(app, client, alice, bob):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    first, _ = messages.send_message(alice, room["id"], "one")
    second, _ = messages.send_message(alice, room["id"], "two")
    read = client.post(f"/api/v1/rooms/{room['id']}/read", json={"message_id": second.id}, headers=bearer(bob))
    assert read.get_json() == {"last_read_message_id": second.id}
    back = client.post(f"/api/v1/rooms/{room['id']}/read", json={"message_id": first.id}, headers=bearer(bob))
    assert back.get_json() == {"last_read_message_id": second.id}
    other = client.delete(f"/api/v1/messages/{first.id}", headers=bearer(bob))
    assert (other.status_code, error_code(other)) == (403, "FORBIDDEN")
    own = client.delete(f"/api/v1/messages/{first.id}", headers=bearer(alice))
    assert own.status_code == 200 and own.get_json() == {}


def test_session_auth_works_for_pages_api(app, alice):
    client = login(app.test_client(), alice)
    assert client.get("/api/v1/rooms").status_code == 200


def test_user_search(app, client, alice, bob):
    response = client.get("/api/v1/users?q=bo", headers=bearer(alice))
    assert response.get_json() == {"users": [{"id": bob.id, "username": "bob"}]}
