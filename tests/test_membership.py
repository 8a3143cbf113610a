"""Membership and read state: private rooms, invite, kick, leave, direct rooms, read
pointers, unread counts and timed delete, including the races."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from webchat import realtime
from webchat.errors import ChatError
from webchat.extensions import db
from webchat.models import Membership, Message, Room
from webchat.services import accounts, messages, reads, rooms

from .support.accounts import PASSWORD
from .support.concurrency import run_together


def code_of(call, *args):
    with pytest.raises(ChatError) as excinfo:
        call(*args)
    return excinfo.value


@pytest.fixture
def carol(make_user):
    return make_user("carol")


def test_any_member_may_invite_into_a_private_room(app, alice, bob, carol, sent_events):
    room = rooms.create_room(alice, "Secret", "private")
    rooms.invite(alice, room["id"], "bob")
    sent_events.clear()
    rooms.invite(bob, room["id"], "CAROL")  # a plain member, name in any case
    assert {m["username"] for m in rooms.members(room["id"])} == {"alice", "bob", "carol"}
    notice = next(d["message"] for e, d, _ in sent_events if e == "new_message")
    assert notice["event"]["type"] == "invited"
    assert notice["event"]["user"]["username"] == "carol" and notice["event"]["by"]["username"] == "bob"
    added = [(d["room"]["id"], to) for e, d, to in sent_events if e == "room_added"]
    assert added == [(room["id"], realtime.user_channel(carol.id))]
    assert rooms.room_view(carol, room["id"])["unread_count"] == 0


def test_invite_rules(app, alice, bob, carol):
    room = rooms.create_room(alice, "Secret", "private")
    assert code_of(rooms.invite, bob, room["id"], "carol").code == "ROOM_NOT_FOUND"  # outsider
    error = code_of(rooms.invite, alice, room["id"], "nobody")
    assert error.code == "VALIDATION_ERROR" and "username" in error.fields
    rooms.invite(alice, room["id"], "bob")
    rooms.invite(alice, room["id"], "bob")  # already in: nothing new
    assert db.session.scalar(sa.select(sa.func.count()).where(Message.room_id == room["id"])) == 2


def test_kick_is_for_the_owner_and_takes_effect_at_once(app, alice, bob, carol, sent_events):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    rooms.join_room(carol, room["id"])
    assert code_of(rooms.kick, bob, room["id"], "carol").code == "FORBIDDEN"
    assert code_of(rooms.kick, alice, room["id"], "alice").code == "FORBIDDEN"
    sent_events.clear()
    rooms.kick(alice, room["id"], "bob")
    removed = [(d, to) for e, d, to in sent_events if e == "room_removed"]
    assert removed == [({"room_id": room["id"], "reason": "kicked"}, realtime.user_channel(bob.id))]
    notice = next(d["message"] for e, d, _ in sent_events if e == "new_message")
    assert notice["event"]["type"] == "kicked" and notice["event"]["by"]["id"] == alice.id
    for call, args in [
        (messages.send_message, (bob, room["id"], "hi")),
        (messages.history, (bob, room["id"])),
        (reads.mark_read, (bob, room["id"], 1)),
        (rooms.invite, (bob, room["id"], "carol")),
        (rooms.leave, (bob, room["id"])),
    ]:
        assert code_of(call, *args).code == "USER_NOT_IN_CHAT_ROOM"
    assert code_of(rooms.kick, alice, room["id"], "bob").code == "USER_NOT_IN_CHAT_ROOM"


def test_kicked_from_private_room_sees_not_in_room(app, alice, bob):
    room = rooms.create_room(alice, "Secret", "private")
    rooms.invite(alice, room["id"], "bob")
    rooms.kick(alice, room["id"], "bob")
    assert code_of(messages.send_message, bob, room["id"], "hi").code == "USER_NOT_IN_CHAT_ROOM"
    assert code_of(rooms.join_room, bob, room["id"]).code == "ROOM_NOT_FOUND"


def test_leave_posts_left_and_hands_ownership_to_longest_standing(app, alice, bob, carol, sent_events):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    rooms.join_room(carol, room["id"])
    sent_events.clear()
    rooms.leave(alice, room["id"])
    assert db.session.get(Room, room["id"]).owner_id == bob.id
    roles = {m["username"]: m["role"] for m in rooms.members(room["id"])}
    assert roles == {"bob": "owner", "carol": "member"}
    events = [e for e, _, _ in sent_events]
    assert "new_message" in events and "members" in events
    assert ({"room_id": room["id"], "reason": "left"}, realtime.user_channel(alice.id)) in [
        (d, to) for e, d, to in sent_events if e == "room_removed"
    ]
    assert room["id"] not in [r["id"] for r in rooms.my_rooms(alice)]


def test_last_member_out_deletes_the_room_and_its_messages(app, alice, bob):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    messages.send_message(bob, room["id"], "bye")
    rooms.leave(alice, room["id"])
    rooms.leave(bob, room["id"])
    assert db.session.get(Room, room["id"]) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.room_id == room["id"])) == 0
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Membership).where(Membership.room_id == room["id"]))
        == 0
    )


def test_rejoining_a_public_room_after_leaving(app, alice, bob):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    rooms.leave(bob, room["id"])
    again = rooms.join_room(bob, room["id"])
    assert again["member_count"] == 2
    assert [m["role"] for m in rooms.members(room["id"]) if m["username"] == "bob"] == ["member"]


def test_two_joins_at_once_make_one_membership(app, alice, bob):
    room = rooms.create_room(alice, "General")
    outcomes = run_together(app, (rooms.join_room, bob, room["id"]), (rooms.join_room, bob, room["id"]))
    assert outcomes == ["ok", "ok"]
    notices = db.session.scalars(
        sa.select(Message).where(Message.room_id == room["id"], Message.kind == "system")
    ).all()
    assert [n.event["type"] for n in notices] == ["created", "joined"]
    assert len(rooms.members(room["id"])) == 2


def test_last_two_members_leaving_at_once(app, alice, bob):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    outcomes = run_together(app, (rooms.leave, alice, room["id"]), (rooms.leave, bob, room["id"]))
    assert outcomes == ["ok", "ok"]
    db.session.expire_all()
    assert db.session.get(Room, room["id"]) is None


def test_direct_room_is_unique_per_participant_set(app, alice, bob, carol, sent_events):
    room = rooms.create_direct(alice, ["bob"])
    assert room["type"] == "direct" and room["member_count"] == 2
    assert sorted(to for e, _, to in sent_events if e == "room_added") == sorted(
        [realtime.user_channel(alice.id), realtime.user_channel(bob.id)]
    )
    # A direct room starts with its first message: no "created" notice.
    assert "new_message" not in [e for e, _, _ in sent_events]
    assert db.session.get(Room, room["id"]).last_seq == 0 and room["last_message"] is None
    error = code_of(rooms.create_direct, bob, ["ALICE"])
    assert error.code == "DUPLICATE_DIRECT_ROOM" and error.to_dict()["room_id"] == room["id"]
    group = rooms.create_direct(carol, ["bob", "alice", "bob"])
    assert group["id"] != room["id"] and group["member_count"] == 3
    assert code_of(rooms.create_direct, bob, ["carol", "alice"]).to_dict()["room_id"] == group["id"]


@pytest.mark.parametrize("usernames", [[], None, "bob", ["nobody"], ["alice"], [1]])
def test_direct_room_validation(app, alice, bob, usernames):
    assert code_of(rooms.create_direct, alice, usernames).code == "VALIDATION_ERROR"


def test_no_invite_or_kick_in_direct_rooms(app, alice, bob, carol):
    room = rooms.create_direct(alice, ["bob"])
    assert code_of(rooms.invite, alice, room["id"], "carol").code == "FORBIDDEN"
    assert code_of(rooms.kick, alice, room["id"], "bob").code == "FORBIDDEN"
    assert code_of(rooms.join_room, carol, room["id"]).code == "ROOM_NOT_FOUND"


def test_direct_room_after_leaving_reopens_the_same_room(app, alice, bob):
    room = rooms.create_direct(alice, ["bob"])
    rooms.leave(alice, room["id"])
    error = code_of(rooms.create_direct, alice, ["bob"])
    assert error.to_dict()["room_id"] == room["id"]
    assert room["id"] in [r["id"] for r in rooms.my_rooms(alice)]


def test_two_direct_creations_at_once_make_one_room(app, alice, bob):
    outcomes = run_together(app, (rooms.create_direct, alice, ["bob"]), (rooms.create_direct, bob, ["alice"]))
    assert sorted(outcomes) == ["DUPLICATE_DIRECT_ROOM", "ok"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Room).where(Room.type == "direct")) == 1


def test_read_pointer_only_moves_forward(app, alice, bob, sent_events):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    first, _ = messages.send_message(alice, room["id"], "one")
    second, _ = messages.send_message(alice, room["id"], "two")
    assert rooms.room_view(bob, room["id"])["unread_count"] == 2
    sent_events.clear()
    assert reads.mark_read(bob, room["id"], second.id) == second.id
    receipt = [(d, to) for e, d, to in sent_events if e == "read_receipt"]
    assert receipt == [
        (
            {"room_id": room["id"], "user_id": bob.id, "last_read_message_id": second.id},
            realtime.room_channel(room["id"]),
        )
    ]
    unread = [(d["unread_count"], to) for e, d, to in sent_events if e == "unread"]
    assert unread == [(0, realtime.user_channel(bob.id))]
    sent_events.clear()
    assert reads.mark_read(bob, room["id"], first.id) == second.id  # backwards: unchanged
    assert sent_events == []
    other = rooms.create_room(alice, "Other")
    elsewhere, _ = messages.send_message(alice, other["id"], "x")
    assert code_of(reads.mark_read, bob, room["id"], elsewhere.id).code == "MESSAGE_NOT_FOUND"
    assert code_of(reads.mark_read, bob, room["id"], 10**9).code == "MESSAGE_NOT_FOUND"


def test_unread_counts_exclude_own_system_and_deleted(app, alice, bob):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    kept, _ = messages.send_message(alice, room["id"], "kept")
    gone, _ = messages.send_message(alice, room["id"], "gone")
    messages.send_message(bob, room["id"], "mine")  # moves bob's pointer to the end
    assert rooms.room_view(bob, room["id"])["unread_count"] == 0
    messages.send_message(alice, room["id"], "new 1")
    last, _ = messages.send_message(alice, room["id"], "new 2")
    rooms.invite(alice, room["id"], accounts.signup("dave", PASSWORD).username)  # a system message
    assert rooms.room_view(bob, room["id"])["unread_count"] == 2
    messages.delete_message(alice, last.id)
    assert rooms.room_view(bob, room["id"])["unread_count"] == 1


def test_room_list_counts_unread_for_many_rooms_in_fixed_queries(app, alice, bob):
    ids = []
    for i in range(12):
        room = rooms.create_room(alice, f"Room {i}")
        rooms.join_room(bob, room["id"])
        for j in range(i):
            messages.send_message(alice, room["id"], f"m{j}")
        ids.append(room["id"])
    statements = []
    engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        counts = {view["id"]: view["unread_count"] for view in rooms.my_rooms(bob)}
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert counts == {room_id: i for i, room_id in enumerate(ids)}
    assert len(statements) == 2  # the rooms' members (for presence), then one row per room


def test_timed_delete(app, alice, bob, sent_events):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    message, _ = messages.send_message(alice, room["id"], "oops")
    assert code_of(messages.delete_message, bob, message.id).code == "FORBIDDEN"
    sent_events.clear()
    messages.delete_message(alice, message.id)
    assert (
        "message_deleted",
        {"room_id": room["id"], "message_id": message.id},
        realtime.room_channel(room["id"]),
    ) in sent_events
    page, _ = messages.history(bob, room["id"])
    tombstone = next(m for m in page if m.id == message.id)
    from webchat.payloads import message_payload

    shown = message_payload(tombstone)
    assert shown["deleted"] is True and shown["body"] == "" and shown["seq"] == message.seq
    assert db.session.scalar(sa.select(Message.body).where(Message.id == message.id)) == ""

    late, _ = messages.send_message(alice, room["id"], "too late")
    late.created_at -= timedelta(seconds=app.config["MESSAGE_DELETE_WINDOW_SECONDS"] + 1)
    db.session.commit()
    assert code_of(messages.delete_message, alice, late.id).code == "MESSAGE_DELETE_TIME_EXPIRED"
    assert code_of(messages.delete_message, alice, 10**9).code == "MESSAGE_NOT_FOUND"
    notice = db.session.scalar(sa.select(Message).where(Message.kind == "system"))
    assert code_of(messages.delete_message, alice, notice.id).code == "FORBIDDEN"


def test_outsider_cannot_delete_or_probe_messages(app, alice, bob):
    room = rooms.create_room(alice, "Secret", "private")
    message, _ = messages.send_message(alice, room["id"], "secret")
    assert code_of(messages.delete_message, bob, message.id).code == "MESSAGE_NOT_FOUND"


def test_user_search(app, alice, bob, make_user):
    make_user("bobby")
    make_user("b_o")
    assert [u["username"] for u in rooms.search_users(alice, "BO")] == ["bob", "bobby"]
    assert [u["username"] for u in rooms.search_users(alice, "b_")] == ["b_o"]
    assert rooms.search_users(alice, "") == []
    assert [u["username"] for u in rooms.search_users(bob, "bob")] == ["bobby"]  # never oneself
