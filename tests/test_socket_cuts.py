"""Issue 16: no client event reaches the connection handlers, and the cuts (kick, logout,
password change, expiry, a revoked token family) reach every socket of their target
whatever the socket sent before; the periodic reconciliation repairs what a cut missed."""

import time

import pytest
import sqlalchemy as sa

from webchat.chat.namespace import RESERVED_EVENTS, ChatNamespace
from webchat.chat.reconcile import reconcile
from webchat.extensions import db, socketio
from webchat.models import Membership, User
from webchat.realtime import current_presence
from webchat.services import accounts, rooms

from .support.accounts import PASSWORD

NS = "/chat"


def emit(sock, event, *args):
    return sock.emit(event, *args, namespace=NS, callback=True)


def sid_of(sock):
    return socketio.server.manager.sid_from_eio_sid(sock.eio_sid, NS)


def channels_of(sock):
    return set(socketio.server.manager.get_rooms(sid_of(sock), NS))


def names(sock):
    return [event["name"] for event in sock.get_received(NS)]


def wait_until(condition, seconds=3.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def fake_disconnect(sock):
    """The attack: an ordinary event named "disconnect". It must be refused and change nothing."""
    before = (current_presence().get(sid_of(sock)), channels_of(sock))
    ack = emit(sock, "disconnect", {})
    assert ack["ok"] is False and ack["error"]["code"] == "VALIDATION_ERROR", ack
    assert sock.is_connected(NS)
    assert (current_presence().get(sid_of(sock)), channels_of(sock)) == before


@pytest.fixture
def private_room(app, alice, bob):
    room = rooms.create_room(alice, "Secret", "private")
    rooms.invite(alice, room["id"], "bob")
    return room


@pytest.mark.parametrize("event", sorted(RESERVED_EVENTS))
def test_every_reserved_name_is_refused_and_changes_nothing(app, alice, bob, connect, event):
    sock = connect(alice)
    sid, before = sid_of(sock), channels_of(sock)
    bobs_token = {"token": accounts.issue_access_token(bob)["access_token"]}
    for args in ((), ({},), (bobs_token,), ({}, bobs_token), ("x", bobs_token)):
        ack = emit(sock, event, *args)
        assert ack["ok"] is False and ack["error"]["code"] == "VALIDATION_ERROR", (event, args, ack)
        assert "reserved" in ack["error"]["fields"]["event"]
    assert sock.is_connected(NS)
    assert current_presence().get(sid).user_id == alice.id
    assert channels_of(sock) == before
    assert current_presence().online_among([alice.id, bob.id]) == {alice.id}


def test_names_that_are_not_client_events_are_refused(app, alice, connect):
    """Methods of the namespace that are not `@event` handlers are out of reach by name."""
    sock = connect(alice)
    for event in ("_admit", "_announce_presence", "housekeeping", "trigger_event", "auth_", ""):
        ack = emit(sock, event, {})
        assert ack["ok"] is False and ack["error"]["code"] == "VALIDATION_ERROR", (event, ack)
    assert sock.is_connected(NS) and current_presence().get(sid_of(sock)) is not None


def test_a_fake_connect_with_another_users_token_is_refused(app, alice, bob, connect):
    sock = connect(alice)
    ack = emit(sock, "connect", {"token": accounts.issue_access_token(bob)["access_token"]})
    assert ack["error"]["code"] == "VALIDATION_ERROR"
    assert current_presence().online_among([bob.id]) == set()
    assert f"user:{bob.id}" not in channels_of(sock)
    # Alice's socket is in no channel of Bob's: Bob's logout cuts only his own.
    b = connect(bob)
    accounts.logout(bob)
    assert not b.is_connected(NS) and sock.is_connected(NS)


def test_fake_disconnect_then_kick(app, alice, bob, private_room, connect):
    hidden = connect(bob)
    assert emit(hidden, "open_room", {"room_id": private_room["id"]})["ok"]
    fake_disconnect(hidden)
    hidden.get_received(NS)
    rooms.kick(alice, private_room["id"], "bob")
    a = connect(alice)
    emit(a, "open_room", {"room_id": private_room["id"]})
    emit(a, "send_message", {"room_id": private_room["id"], "body": "after the kick"})
    emit(a, "typing", {"room_id": private_room["id"]})
    got = names(hidden)
    assert "new_message" not in got and "typing" not in got, got
    assert f"room:{private_room['id']}" not in channels_of(hidden)


@pytest.mark.parametrize("cut", ["logout", "password change"])
def test_fake_disconnect_then_logout_or_password_change(app, alice, bob, private_room, connect, cut):
    hidden = connect(bob)
    emit(hidden, "open_room", {"room_id": private_room["id"]})
    fake_disconnect(hidden)
    if cut == "logout":
        accounts.logout(db.session.get(User, bob.id))
    else:
        accounts.change_password(db.session.get(User, bob.id), PASSWORD, "a brand new password 2")
    assert not hidden.is_connected(NS)
    assert current_presence().online_among([bob.id]) == set()


def test_fake_disconnect_then_expiry(app, alice, bob, private_room, connect):
    hidden = connect(bob)
    fake_disconnect(hidden)
    current_presence().get(sid_of(hidden)).expires_at = 0
    assert sid_of(hidden) in current_presence().expired()
    ack = emit(hidden, "open_room", {"room_id": private_room["id"]})
    assert ack["error"]["code"] == "TOKEN_EXPIRED" and not hidden.is_connected(NS)


def test_a_logout_between_the_token_check_and_registration_is_not_missed(app, alice, monkeypatch, connect):
    """The race without tricks: the logout commits after the socket's token check, and its
    cut runs before the socket is in its user's channel. The check after registering
    refuses it."""
    real_admit, calls = ChatNamespace._admit, []

    def admit_then_logout(token):
        result = real_admit(token)
        calls.append(token)
        if len(calls) == 1:
            accounts.logout(db.session.get(User, alice.id))
        return result

    monkeypatch.setattr(ChatNamespace, "_admit", staticmethod(admit_then_logout))
    sock = connect(alice)
    assert not sock.is_connected(NS)
    assert current_presence().online_among([alice.id]) == set()
    assert not current_presence().connections()


def test_a_cut_aimed_at_a_socket_still_connecting_lands_once_it_connects(app, alice, monkeypatch, connect):
    """The cut runs while the socket is in its channel but not yet connected (where a
    disconnect is a no-op in python-socketio): it is deferred until the handshake ends."""
    real_ensure = ChatNamespace._ensure_housekeeping

    def logout_during_connect(self):
        real_ensure(self)
        user = db.session.get(User, alice.id)
        accounts.logout(user)
        db.session.remove()

    monkeypatch.setattr(ChatNamespace, "_ensure_housekeeping", logout_during_connect)
    sock = connect(alice)
    assert wait_until(lambda: not sock.is_connected(NS))
    assert current_presence().online_among([alice.id]) == set()


def api_tokens(client):
    response = client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    return response.get_json()


def test_a_reused_refresh_token_kills_its_familys_access_tokens_and_sockets(app, alice, bob, client, connect):
    first = api_tokens(client)
    other_login = api_tokens(client)
    sock = connect(auth={"token": first["access_token"]})
    other = connect(auth={"token": other_login["access_token"]})
    assert sock.is_connected(NS) and other.is_connected(NS)
    rotated = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {first['refresh_token']}"})
    assert rotated.status_code == 200
    # A thief replays the spent refresh token: the family is revoked.
    reused = client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {first['refresh_token']}"})
    assert reused.get_json()["error"]["code"] == "TOKEN_REUSED"

    assert not sock.is_connected(NS)
    for token in (first["access_token"], rotated.get_json()["access_token"]):
        response = client.get("/api/v1/rooms", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "TOKEN_INVALID"
        minted = client.post("/api/v1/auth/socket-token", headers={"Authorization": f"Bearer {token}"})
        assert minted.status_code == 403 and "access_token" not in minted.text
        assert not connect(auth={"token": token}).is_connected(NS)
    # Another login of the same user is another family: untouched.
    assert other.is_connected(NS)
    assert (
        client.get("/api/v1/rooms", headers={"Authorization": f"Bearer {other_login['access_token']}"}).status_code
        == 200
    )


def test_auth_renewal_moves_the_socket_to_its_new_family(app, alice, client, connect):
    first, second = api_tokens(client), api_tokens(client)
    sock = connect(auth={"token": first["access_token"]})
    assert emit(sock, "auth", {"token": second["access_token"]})["ok"]
    family = accounts.decode(second["access_token"], "access")["fam"]
    assert current_presence().get(sid_of(sock)).family == family
    assert f"family:{family}" in channels_of(sock)
    assert f"family:{accounts.decode(first['access_token'], 'access')['fam']}" not in channels_of(sock)
    # The first family dying no longer concerns this socket; its current one does.
    client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {first['refresh_token']}"})
    client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {first['refresh_token']}"})
    assert sock.is_connected(NS)
    client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {second['refresh_token']}"})
    client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {second['refresh_token']}"})
    assert not sock.is_connected(NS)


# --- the periodic reconciliation ------------------------------------------------------


def run_reconcile():
    return reconcile(socketio.server, NS, current_presence())


def test_reconcile_leaves_alone_what_is_right(app, alice, bob, private_room, connect):
    a, b = connect(alice), connect(bob)
    emit(b, "open_room", {"room_id": private_room["id"]})
    assert run_reconcile() == (0, 0)
    assert a.is_connected(NS) and b.is_connected(NS)
    assert f"room:{private_room['id']}" in channels_of(b)


def test_reconcile_disconnects_a_socket_the_registry_lost(app, alice, bob, connect):
    lost, kept = connect(bob), connect(alice)
    current_presence().remove(sid_of(lost))  # a registry slip, however it happened
    assert run_reconcile() == (1, 0)
    assert not lost.is_connected(NS) and kept.is_connected(NS)


def test_reconcile_disconnects_revoked_credentials(app, alice, bob, client, connect):
    by_generation, kept = connect(bob), connect(alice)
    by_family = connect(auth={"token": api_tokens(client)["access_token"]})
    # Revocations whose cut never ran (another node crashed before it, say).
    db.session.execute(sa.update(User).where(User.id == bob.id).values(token_generation=User.token_generation + 1))
    family = current_presence().get(sid_of(by_family)).family
    from webchat.models import DeviceSession, utcnow

    # The family's session ended (issue 24: the family's one source of truth).
    db.session.execute(sa.update(DeviceSession).where(DeviceSession.family == family).values(ended_at=utcnow()))
    db.session.commit()
    assert run_reconcile() == (2, 0)
    assert not by_generation.is_connected(NS) and not by_family.is_connected(NS)
    assert kept.is_connected(NS)


def test_reconcile_takes_a_former_member_out_of_the_rooms_channel(app, alice, bob, private_room, connect):
    b = connect(bob)
    emit(b, "open_room", {"room_id": private_room["id"]})
    # The membership ends without its cut (the race with open_room, a lost queue message).
    db.session.execute(sa.update(Membership).where(Membership.user_id == bob.id).values(active=False))
    db.session.commit()
    assert run_reconcile() == (0, 1)
    assert b.is_connected(NS) and f"room:{private_room['id']}" not in channels_of(b)
