"""Moderation and administration (issue 23): moderator deletes, bans, site admins,
deactivation, the admin API and the audit log. On SQLite and MariaDB."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from webchat.commands import webchat_cli
from webchat.errors import ChatError
from webchat.extensions import db
from webchat.models import AuditEntry, Message, RefreshToken, RoomBan, User
from webchat.services import accounts, admin, messages, rooms

from .support.accounts import PASSWORD, bearer, login


def code_of(call, *args, **kwargs):
    with pytest.raises(ChatError) as excinfo:
        call(*args, **kwargs)
    return excinfo.value.code


def actions():
    return [
        (e.action, e.actor_name, e.target_name, e.room_name)
        for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
    ]


@pytest.fixture
def carol(make_user):
    return make_user("carol")


@pytest.fixture
def root(app, make_user):
    """A site admin, made as the operator makes one: on the command line."""
    user = make_user("root")
    result = app.test_cli_runner().invoke(webchat_cli, ["admin", "grant", "root"])
    assert result.exit_code == 0, result.output
    db.session.refresh(user)
    return user


@pytest.fixture
def room(app, alice, bob):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    return room


# --- moderator deletes ---------------------------------------------------------------------


def test_the_owner_deletes_anyones_message_at_any_time(app, client, alice, bob, room):
    message, _ = messages.send_message(bob, room["id"], "rude words")
    old = message.created_at - timedelta(days=30)
    db.session.execute(sa.update(Message).where(Message.id == message.id).values(created_at=old))
    db.session.commit()
    # Bob's own window is over; the owner's is not a window at all.
    assert code_of(messages.delete_message, bob, message.id) == "MESSAGE_DELETE_TIME_EXPIRED"
    assert client.delete(f"/api/v1/messages/{message.id}", headers=bearer(alice)).status_code == 200
    page = client.get(f"/api/v1/rooms/{room['id']}/messages", headers=bearer(bob)).json["messages"]
    tombstone = next(m for m in page if m["id"] == message.id)
    assert tombstone["deleted"] and tombstone["deleted_by"] == "moderator" and tombstone["body"] == ""
    assert actions() == [("delete_message", "alice", "bob", "General")]


def test_a_senders_delete_says_sender_and_is_not_audited(app, alice, room):
    message, _ = messages.send_message(alice, room["id"], "oops")
    messages.delete_message(alice, message.id)
    db.session.refresh(message)
    assert message.deleted_by == "sender" and actions() == []


def test_a_member_still_deletes_only_their_own(app, alice, bob, carol, room):
    rooms.join_room(carol, room["id"])
    message, _ = messages.send_message(carol, room["id"], "mine")
    assert code_of(messages.delete_message, bob, message.id) == "FORBIDDEN"
    db.session.refresh(message)
    assert message.deleted_at is None


def test_a_site_admin_deletes_in_a_room_they_are_not_in(app, client, alice, bob, root):
    private = rooms.create_room(alice, "Hidden", "private")
    message, _ = messages.send_message(alice, private["id"], "x")
    # Someone who is not an admin is not even told the message exists.
    assert client.delete(f"/api/v1/messages/{message.id}", headers=bearer(bob)).json["error"]["code"] == (
        "MESSAGE_NOT_FOUND"
    )
    assert client.delete(f"/api/v1/messages/{message.id}", headers=bearer(root)).status_code == 200
    db.session.refresh(message)
    assert message.deleted_by == "moderator"
    assert actions()[-1] == ("delete_message", "root", "alice", "Hidden")


def test_system_messages_stay(app, alice, root, room):
    notice = db.session.scalar(sa.select(Message).where(Message.room_id == room["id"], Message.kind == "system"))
    assert code_of(messages.delete_message, alice, notice.id) == "FORBIDDEN"
    assert code_of(messages.delete_message, root, notice.id) == "FORBIDDEN"


# --- bans ----------------------------------------------------------------------------------


def test_kick_with_a_ban_keeps_them_out_until_unbanned(app, client, alice, bob, room):
    response = client.delete(f"/api/v1/rooms/{room['id']}/members/bob?ban=true", headers=bearer(alice))
    assert response.status_code == 200
    joined = client.post(f"/api/v1/rooms/{room['id']}/join", headers=bearer(bob))
    assert (joined.status_code, joined.json["error"]["code"]) == (403, "BANNED")
    invited = client.post(f"/api/v1/rooms/{room['id']}/members", json={"username": "bob"}, headers=bearer(alice))
    assert (invited.status_code, invited.json["error"]["code"]) == (403, "BANNED")
    listed = client.get(f"/api/v1/rooms/{room['id']}/bans", headers=bearer(alice)).json["bans"]
    assert [(b["user"]["username"], b["by"]["username"]) for b in listed] == [("bob", "alice")]
    assert client.delete(f"/api/v1/rooms/{room['id']}/bans/bob", headers=bearer(alice)).status_code == 200
    assert client.get(f"/api/v1/rooms/{room['id']}/bans", headers=bearer(alice)).json["bans"] == []
    assert client.post(f"/api/v1/rooms/{room['id']}/join", headers=bearer(bob)).status_code == 200
    assert [a[0] for a in actions()] == ["kick", "ban", "unban"]


def test_a_plain_kick_does_not_ban(app, alice, bob, room):
    rooms.kick(alice, room["id"], "bob")
    rooms.join_room(bob, room["id"])
    assert [a[0] for a in actions()] == ["kick"]


def test_someone_who_left_can_be_banned(app, alice, bob, room):
    rooms.leave(bob, room["id"])
    rooms.kick(alice, room["id"], "bob", ban=True)
    assert code_of(rooms.join_room, bob, room["id"]) == "BANNED"
    assert [a[0] for a in actions()] == ["ban"]


def test_only_the_owner_bans_and_never_themselves(app, client, alice, bob, carol, room):
    rooms.join_room(carol, room["id"])
    assert code_of(rooms.kick, bob, room["id"], "carol", ban=True) == "FORBIDDEN"
    assert code_of(rooms.kick, alice, room["id"], "alice", ban=True) == "FORBIDDEN"
    assert code_of(rooms.bans, bob, room["id"]) == "FORBIDDEN"
    assert code_of(rooms.unban, bob, room["id"], "carol") == "FORBIDDEN"
    assert code_of(rooms.bans, carol, 999_999) == "ROOM_NOT_FOUND"
    bad = client.delete(f"/api/v1/rooms/{room['id']}/members/carol?ban=yes", headers=bearer(alice))
    assert bad.json["error"]["code"] == "VALIDATION_ERROR"
    nobody = client.delete(f"/api/v1/rooms/{room['id']}/members/nobody?ban=true", headers=bearer(alice))
    assert nobody.json["error"]["code"] == "VALIDATION_ERROR"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RoomBan)) == 0


def test_a_ban_holds_against_re_entering_a_direct_room(app, alice, bob):
    direct = rooms.create_direct(alice, ["bob"])
    rooms.leave(bob, direct["id"])
    # Nobody can kick in a direct room; a ban there is an operator's (a row put in by hand).
    db.session.add(RoomBan(room_id=direct["id"], user_id=bob.id))
    db.session.commit()
    assert code_of(rooms.create_direct, bob, ["alice"]) == "BANNED"
    assert not rooms.membership_of(bob.id, direct["id"]).active


# --- site admins ---------------------------------------------------------------------------


def test_admins_are_made_and_unmade_on_the_command_line(app, alice, root):
    runner = app.test_cli_runner()
    assert runner.invoke(webchat_cli, ["admin", "grant", "alice"]).exit_code == 0
    assert runner.invoke(webchat_cli, ["admin", "revoke", "root"]).exit_code == 0
    last = runner.invoke(webchat_cli, ["admin", "revoke", "alice"])
    assert last.exit_code != 0 and "FORBIDDEN" in last.output
    nobody = runner.invoke(webchat_cli, ["admin", "grant", "nobody"])
    assert nobody.exit_code != 0 and "VALIDATION_ERROR" in nobody.output
    assert db.session.scalar(sa.select(User.is_admin).where(User.username == "alice")) is True
    assert [(a[0], a[1], a[2]) for a in actions()] == [
        ("grant_admin", None, "root"),
        ("grant_admin", None, "alice"),
        ("revoke_admin", None, "root"),
    ]


def test_signing_up_never_makes_an_admin(app, client):
    client.post("/api/v1/auth/signup", json={"username": "first", "password": PASSWORD})
    assert db.session.scalar(sa.select(User.is_admin).where(User.username == "first")) is False


# --- deactivation --------------------------------------------------------------------------


def test_deactivation_ends_every_session_and_token(app, client, alice, bob, root, room, connect):
    messages.send_message(bob, room["id"], "before")
    session = login(app.test_client(), bob)
    tokens = accounts.issue_tokens(bob)
    sock = connect(bob)
    response = client.post(f"/api/v1/admin/users/{bob.id}/deactivate", headers=bearer(root))
    assert response.status_code == 200 and response.json["user"]["active"] is False
    assert not sock.is_connected("/chat")
    assert session.get("/rooms").status_code == 302  # sent to the login page
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/api/v1/rooms", headers=auth).json["error"]["code"] == "TOKEN_INVALID"
    refreshed = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert refreshed.json["error"]["code"] == "TOKEN_INVALID"
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(RefreshToken).where(RefreshToken.revoked.is_(False)))
        == 0
    )
    # Signing in again: refused with its own code, for the page and the API alike.
    refused = client.post("/api/v1/auth/token", json={"username": "bob", "password": PASSWORD})
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "ACCOUNT_DEACTIVATED")
    page = app.test_client().post("/auth/login", data={"username": "bob", "password": PASSWORD})
    assert page.status_code == 403 and "This account has been deactivated." in page.text
    assert not connect(auth={"token": tokens["access_token"]}).is_connected("/chat")
    # Wrong password: the ordinary answer, which says nothing about the account.
    wrong = client.post("/api/v1/auth/token", json={"username": "bob", "password": "not it at all"})
    assert wrong.json["error"]["code"] == "INVALID_CREDENTIALS"
    # Their messages stay, under their name, marked; so does their place in the list.
    page = client.get(f"/api/v1/rooms/{room['id']}/messages", headers=bearer(alice)).json["messages"]
    said = next(m for m in page if m["body"] == "before")
    assert said["sender"] == {"id": bob.id, "username": "bob", "deactivated": True}
    members = client.get(f"/api/v1/rooms/{room['id']}/members", headers=bearer(alice)).json["members"]
    assert next(m for m in members if m["username"] == "bob")["deactivated"] is True
    # Out of search and invites.
    assert rooms.search_users(alice, "bo") == []
    other = rooms.create_room(alice, "Other")
    assert code_of(rooms.invite, alice, other["id"], "bob") == "VALIDATION_ERROR"
    assert code_of(rooms.create_direct, alice, ["bob"]) == "VALIDATION_ERROR"
    assert actions()[-1] == ("deactivate", "root", "bob", None)


def test_reactivation_lets_them_sign_in_again(app, client, bob, root):
    old = accounts.issue_tokens(bob)
    admin.deactivate(root, bob.id)
    response = client.post(f"/api/v1/admin/users/{bob.id}/reactivate", headers=bearer(root))
    assert response.status_code == 200 and response.json["user"]["active"] is True
    assert client.post("/api/v1/auth/token", json={"username": "bob", "password": PASSWORD}).status_code == 200
    # What was revoked stays revoked.
    auth = {"Authorization": f"Bearer {old['access_token']}"}
    assert client.get("/api/v1/rooms", headers=auth).json["error"]["code"] == "TOKEN_INVALID"
    assert [a[0] for a in actions()][-2:] == ["deactivate", "reactivate"]


def test_an_admin_cannot_deactivate_themselves(app, client, root):
    response = client.post(f"/api/v1/admin/users/{root.id}/deactivate", headers=bearer(root))
    assert (response.status_code, response.json["error"]["code"]) == (403, "FORBIDDEN")


@pytest.mark.parametrize("user_id", ["999999", "x", "0", "-1", "1.5"])
def test_admin_bad_user_ids(app, client, root, user_id):
    response = client.post(f"/api/v1/admin/users/{user_id}/deactivate", headers=bearer(root))
    assert response.status_code in (400, 404)
    assert response.json["error"]["code"] in ("VALIDATION_ERROR", "NOT_FOUND")


# --- the admin API -------------------------------------------------------------------------


def test_the_admin_api_is_for_admins(app, client, alice, bob, root):
    for path in ("/api/v1/admin/users", "/api/v1/admin/rooms", "/api/v1/admin/audit"):
        response = client.get(path, headers=bearer(alice))
        assert (response.status_code, response.json["error"]["code"]) == (403, "FORBIDDEN"), path
        assert client.get(path).json["error"]["code"] == "UNAUTHENTICATED"
        assert client.get(path, headers=bearer(root)).status_code == 200
    response = client.post(f"/api/v1/admin/users/{bob.id}/deactivate", headers=bearer(alice))
    assert response.json["error"]["code"] == "FORBIDDEN"
    db.session.refresh(bob)
    assert bob.deactivated_at is None


def test_admin_users_search_and_paging(app, client, make_user, root):
    for n in range(5):
        make_user(f"kim{n}")
    first = client.get("/api/v1/admin/users?limit=2&q=KIM", headers=bearer(root)).json
    assert [u["username"] for u in first["users"]] == ["kim4", "kim3"] and first["has_more"]
    assert set(first["users"][0]) == {"id", "username", "is_admin", "active", "created_at"}
    after = first["users"][-1]["id"]
    rest = client.get(f"/api/v1/admin/users?q=kim&before_id={after}", headers=bearer(root)).json
    assert [u["username"] for u in rest["users"]] == ["kim2", "kim1", "kim0"] and not rest["has_more"]
    everyone = client.get("/api/v1/admin/users", headers=bearer(root)).json["users"]
    assert next(u for u in everyone if u["username"] == "root")["is_admin"] is True
    assert client.get("/api/v1/admin/users?before_id=x", headers=bearer(root)).status_code == 400
    assert client.get("/api/v1/admin/users?limit=0", headers=bearer(root)).status_code == 400


def test_admin_rooms_have_counts_and_last_activity(app, client, alice, bob, root, room):
    messages.send_message(bob, room["id"], "one")
    last, _ = messages.send_message(alice, room["id"], "two")
    listed = client.get("/api/v1/admin/rooms", headers=bearer(root)).json["rooms"]
    general = next(r for r in listed if r["id"] == room["id"])
    assert general["member_count"] == 2 and general["message_count"] == 2
    assert general["last_activity_at"] == last.created_at.isoformat(timespec="milliseconds") + "Z"


def test_an_admin_deletes_a_room(app, client, alice, bob, root, room, sent_events):
    messages.send_message(bob, room["id"], "one")
    assert client.delete(f"/api/v1/admin/rooms/{room['id']}", headers=bearer(root)).status_code == 200
    assert client.get(f"/api/v1/rooms/{room['id']}/messages", headers=bearer(alice)).status_code == 404
    removed = {to for e, d, to in sent_events if e == "room_removed" and d["reason"] == "deleted"}
    assert {f"user:{alice.id}", f"user:{bob.id}"} <= removed
    assert actions()[-1] == ("delete_room", "root", None, "General")
    again = client.delete(f"/api/v1/admin/rooms/{room['id']}", headers=bearer(root))
    assert again.json["error"]["code"] == "ROOM_NOT_FOUND"


def test_the_audit_log_lists_newest_first(app, client, alice, bob, root, room):
    rooms.kick(alice, room["id"], "bob", ban=True)
    rooms.unban(alice, room["id"], "bob")
    entries = client.get("/api/v1/admin/audit?limit=2", headers=bearer(root)).json
    assert [e["action"] for e in entries["entries"]] == ["unban", "ban"] and entries["has_more"]
    entry = entries["entries"][0]
    assert entry["actor"]["name"] == "alice" and entry["target"]["name"] == "bob"
    assert entry["room"] == {"id": room["id"], "name": "General"} and entry["created_at"].endswith("Z")
    before = entries["entries"][-1]["id"]
    older = client.get(f"/api/v1/admin/audit?before_id={before}", headers=bearer(root)).json["entries"]
    assert [e["action"] for e in older] == ["kick", "grant_admin"]


def test_the_audit_row_rolls_back_with_its_action(app, alice, bob, room, monkeypatch):
    """Written in the action's transaction: an action that fails leaves no record."""
    from webchat.services import rooms as rooms_module

    def broken(*args, **kwargs):
        raise RuntimeError("the broadcast could not be prepared")

    monkeypatch.setattr(rooms_module, "membership_changed", broken)
    with pytest.raises(RuntimeError):
        rooms.kick(alice, room["id"], "bob")
    assert actions() == [] and rooms.membership_of(bob.id, room["id"]).active


# --- bad input -----------------------------------------------------------------------------


def test_bans_bad_input(app, client, alice, bob, room):
    assert client.get("/api/v1/rooms/999999/bans", headers=bearer(alice)).json["error"]["code"] == "ROOM_NOT_FOUND"
    assert client.get("/api/v1/rooms/x/bans", headers=bearer(alice)).status_code == 404
    unknown = client.delete(f"/api/v1/rooms/{room['id']}/bans/nobody", headers=bearer(alice))
    assert unknown.json["error"]["code"] == "VALIDATION_ERROR"
    # Lifting a ban nobody has changes nothing and records nothing.
    assert client.delete(f"/api/v1/rooms/{room['id']}/bans/bob", headers=bearer(alice)).status_code == 200
    assert actions() == []


@pytest.mark.parametrize("query", ["before_id=x", "before_id=0", "limit=101", "limit=abc", "before_id=%EF%BC%97"])
def test_admin_paging_bad_input(app, client, root, query):
    for path in ("/api/v1/admin/users", "/api/v1/admin/rooms", "/api/v1/admin/audit"):
        response = client.get(f"{path}?{query}", headers=bearer(root))
        assert (response.status_code, response.json["error"]["code"]) == (400, "VALIDATION_ERROR"), path


def test_an_admin_deletes_over_the_socket_too(app, alice, bob, root, room, connect):
    message_id = messages.send_message(bob, room["id"], "spam")[0].id
    ack = connect(root).emit("delete_message", {"message_id": message_id}, namespace="/chat", callback=True)
    assert ack["ok"] is True
    assert db.session.scalar(sa.select(Message.deleted_by).where(Message.id == message_id)) == "moderator"
