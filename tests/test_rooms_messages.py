"""The chat rules in the service layer: rooms, membership access, seq, idempotency,
history paging, broadcast after commit."""

import threading

import pytest
import sqlalchemy as sa

from webchat import realtime
from webchat.database import transaction
from webchat.errors import ChatError
from webchat.extensions import db
from webchat.models import Message
from webchat.services import messages, rooms


def codes_of(call, *args, **kwargs):
    with pytest.raises(ChatError) as excinfo:
        call(*args, **kwargs)
    return excinfo.value.code


def seqs(room_id):
    return db.session.scalars(sa.select(Message.seq).where(Message.room_id == room_id).order_by(Message.seq)).all()


def test_create_room_makes_owner_and_created_notice(app, alice):
    room = rooms.create_room(alice, "  General   chat ", "public")
    assert room["name"] == "General chat"
    assert room["owner_id"] == alice.id and room["member_count"] == 1 and room["unread_count"] == 0
    assert room["last_message"]["kind"] == "system"
    assert room["last_message"]["event"] == {
        "type": "created",
        "user": {"id": alice.id, "username": "alice"},
        "by": None,
    }
    assert room["last_read_message_id"] == room["last_message"]["id"]
    assert [m["role"] for m in rooms.members(room["id"])] == ["owner"]


@pytest.mark.parametrize(
    "name, kind, field",
    [
        ("", "public", "name"),
        ("   ", "public", "name"),
        ("x" * 81, "public", "name"),
        (None, "public", "name"),
        ("ok", "secret", "type"),
        ("ok", "direct", "type"),
    ],
)
def test_create_room_validation(app, alice, name, kind, field):
    with pytest.raises(ChatError) as excinfo:
        rooms.create_room(alice, name, kind)
    assert excinfo.value.code == "VALIDATION_ERROR" and field in excinfo.value.fields


def test_join_public_room_posts_joined_and_is_idempotent(app, alice, bob):
    room = rooms.create_room(alice, "General")
    joined = rooms.join_room(bob, room["id"])
    assert joined["member_count"] == 2 and joined["unread_count"] == 0
    rooms.join_room(bob, room["id"])  # again: nothing new
    events = [m.event["type"] for m in db.session.scalars(sa.select(Message).where(Message.kind == "system"))]
    assert events == ["created", "joined"]
    assert seqs(room["id"]) == [1, 2]


def test_private_room_is_invisible_to_outsiders(app, alice, bob):
    room = rooms.create_room(alice, "Secret", "private")
    assert codes_of(rooms.join_room, bob, room["id"]) == "ROOM_NOT_FOUND"
    assert codes_of(messages.history, bob, room["id"]) == "ROOM_NOT_FOUND"
    assert codes_of(messages.send_message, bob, room["id"], "hi") == "ROOM_NOT_FOUND"
    assert room["id"] not in [r["id"] for r in rooms.public_rooms(bob)]


def test_non_member_of_public_room(app, alice, bob):
    room = rooms.create_room(alice, "General")
    assert codes_of(messages.send_message, bob, room["id"], "hi") == "USER_NOT_IN_CHAT_ROOM"
    assert codes_of(messages.history, bob, room["id"]) == "USER_NOT_IN_CHAT_ROOM"
    assert codes_of(rooms.join_room, bob, 999999) == "ROOM_NOT_FOUND"


@pytest.mark.parametrize(
    "body, code",
    [
        ("", "MESSAGE_EMPTY"),
        ("  \n\t ", "MESSAGE_EMPTY"),
        ("x" * 4001, "MESSAGE_TOO_LONG"),
        (None, "VALIDATION_ERROR"),
        (42, "VALIDATION_ERROR"),
        (["x"], "VALIDATION_ERROR"),
    ],
)
def test_message_body_rules(app, alice, body, code):
    room = rooms.create_room(alice, "General")
    assert codes_of(messages.send_message, alice, room["id"], body) == code
    assert seqs(room["id"]) == [1]  # nothing stored, no seq spent


def test_body_is_trimmed_and_limit_counts_after_trimming(app, alice):
    room = rooms.create_room(alice, "General")
    message, created = messages.send_message(alice, room["id"], "  " + "가" * 4000 + "\n ")
    assert created and message.body == "가" * 4000


@pytest.mark.parametrize("room_id", ["abc", None, -1, 0, 2**40, True, {"a": 1}, 1.5])
def test_bad_room_ids(app, alice, room_id):
    assert codes_of(messages.send_message, alice, room_id, "hi") == "VALIDATION_ERROR"


def test_send_is_idempotent_on_client_id(app, alice):
    room = rooms.create_room(alice, "General")
    first, created = messages.send_message(alice, room["id"], "hello", "c-1")
    again, created_again = messages.send_message(alice, room["id"], "hello", "c-1")
    assert created and not created_again and again.id == first.id
    assert seqs(room["id"]) == [1, 2]
    other = rooms.create_room(alice, "Other")
    assert codes_of(messages.send_message, alice, other["id"], "hello", "c-1") == "VALIDATION_ERROR"


def test_sending_moves_the_senders_read_pointer(app, alice, bob):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    message, _ = messages.send_message(alice, room["id"], "hi")
    assert rooms.room_view(alice, room["id"])["last_read_message_id"] == message.id
    assert rooms.room_view(alice, room["id"])["unread_count"] == 0
    assert rooms.room_view(bob, room["id"])["unread_count"] == 1


def test_history_pages_back_to_seq_1_and_catches_up(app, alice):
    room = rooms.create_room(alice, "General")
    for i in range(120):
        messages.send_message(alice, room["id"], f"m{i}")
    page, more = messages.history(alice, room["id"])
    assert [m.seq for m in page] == list(range(72, 122)) and more
    collected = list(page)
    while more:
        page, more = messages.history(alice, room["id"], before_seq=collected[0].seq, limit=100)
        collected = page + collected
    assert [m.seq for m in collected] == list(range(1, 122))
    page, more = messages.history(alice, room["id"], after_seq=100, limit=10)
    assert [m.seq for m in page] == list(range(101, 111)) and more
    page, more = messages.history(alice, room["id"], after_seq=115)
    assert [m.seq for m in page] == list(range(116, 122)) and not more


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"before_seq": "x"},
        {"after_seq": -1},
        {"before_seq": 5, "after_seq": 1},
    ],
)
def test_history_validation(app, alice, kwargs):
    room = rooms.create_room(alice, "General")
    assert codes_of(messages.history, alice, room["id"], **kwargs) == "VALIDATION_ERROR"


def test_concurrent_senders_get_gap_free_seq(app, make_user):
    """Writers racing into one room: seq is 1..N, no gap, no duplicate, in commit order."""
    users = [make_user() for _ in range(4)]
    room = rooms.create_room(users[0], "Busy")
    for user in users[1:]:
        rooms.join_room(user, room["id"])
    start = threading.Barrier(len(users))
    errors = []

    def sender(user_id):
        with app.app_context():
            from webchat.services.accounts import get_user

            user = get_user(user_id)
            start.wait()
            try:
                for i in range(25):
                    messages.send_message(user, room["id"], f"{user_id}-{i}", f"{user_id}-{i}")
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sender, args=(u.id,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stored = db.session.execute(
        sa.select(Message.seq, Message.id).where(Message.room_id == room["id"]).order_by(Message.seq)
    ).all()
    assert [s for s, _ in stored] == list(range(1, 4 + 100 + 1))
    ids = [i for _, i in stored]
    assert ids == sorted(ids), "seq must follow commit (insert) order"


def test_broadcast_happens_only_after_commit(app, alice, sent_events):
    room = rooms.create_room(alice, "General")
    sent_events.clear()
    with pytest.raises(RuntimeError):
        with transaction():
            realtime.emit_after_commit("new_message", {"x": 1}, to="room:1")
            raise RuntimeError("rolled back")
    assert sent_events == []
    messages.send_message(alice, room["id"], "hi")
    assert sent_events[0][0] == "new_message"
    # A failing send (validation inside the transaction) announces nothing.
    sent_events.clear()
    with pytest.raises(ChatError):
        messages.send_message(alice, 999999, "hi")
    assert sent_events == []


def test_my_rooms_lists_unread_and_last_message(app, alice, bob):
    general = rooms.create_room(alice, "General")
    quiet = rooms.create_room(alice, "Quiet")
    rooms.join_room(bob, general["id"])
    rooms.join_room(bob, quiet["id"])
    for text in ("one", "two", "three"):
        messages.send_message(alice, general["id"], text)
    messages.send_message(bob, general["id"], "mine")
    listed = {r["name"]: r for r in rooms.my_rooms(bob)}
    # bob's own send moved his pointer past alice's messages.
    assert listed["General"]["unread_count"] == 0
    messages.send_message(alice, general["id"], "four")
    listed = {r["name"]: r for r in rooms.my_rooms(bob)}
    assert listed["General"]["unread_count"] == 1
    assert listed["General"]["last_message"]["body"] == "four"
    assert listed["Quiet"]["unread_count"] == 0
    assert [r["name"] for r in rooms.my_rooms(bob)][0] == "General"


def test_room_list_counts_active_and_online_members_and_shows_last_message_as_history_does(app, alice, bob, make_user):
    import io

    from webchat.payloads import message_payload
    from webchat.realtime import Connection, current_presence
    from webchat.services import files

    carol, dave = make_user("carol"), make_user("dave")
    busy = rooms.create_room(alice, "Busy")
    files_room = rooms.create_room(alice, "Files")
    for user in (bob, carol):
        rooms.join_room(user, busy["id"])
    rooms.join_room(dave, files_room["id"])
    rooms.leave(carol, busy["id"])  # an inactive membership counts for nothing
    presence = current_presence()
    presence.add(Connection("s-bob", bob.id, bob.username, float("inf")))
    presence.add(Connection("s-carol", carol.id, carol.username, float("inf")))
    try:
        sent, _created = messages.send_message(bob, busy["id"], "gone soon")
        messages.delete_message(bob, sent.id)
        files.upload(dave, files_room["id"], io.BytesIO(b"hello"), "notes.txt")
        listed = {r["name"]: r for r in rooms.my_rooms(alice)}
        assert (listed["Busy"]["member_count"], listed["Busy"]["online_count"]) == (2, 1)
        assert (listed["Files"]["member_count"], listed["Files"]["online_count"]) == (2, 0)
        assert rooms.room_views(alice, [busy["id"], 999999]) == [listed["Busy"]]
        assert rooms.room_views(alice, []) == [] and rooms.room_views(carol, [busy["id"]]) == []
    finally:
        presence.remove("s-bob")
        presence.remove("s-carol")
    for name, room in listed.items():
        last = db.session.scalar(sa.select(Message).where(Message.room_id == room["id"]).order_by(Message.seq.desc()))
        assert room["last_message"] == message_payload(last), name
    assert listed["Busy"]["last_message"]["deleted"] and listed["Busy"]["last_message"]["body"] == ""
    assert listed["Files"]["last_message"]["file"]["name"] == "notes.txt"
    assert listed["Files"]["last_message"]["sender"] == {"id": dave.id, "username": "dave"}
