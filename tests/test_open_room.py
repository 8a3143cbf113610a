"""`open_room`: a kick that races the open is refused; the latest page comes from this
process's copy (services/page_cache.py): the page a socket gets is the one the database
would give after every kind of change, the copy is used while nothing changed, and
PAGE_CACHE_SECONDS / PAGE_CACHE_ROOMS bound it."""

import pytest
import sqlalchemy as sa

from webchat.chat import namespace
from webchat.extensions import db
from webchat.services import admin, edits, messages, page_cache, reactions, rooms

NS = "/chat"


def open_room(sock, room_id):
    ack = sock.emit("open_room", {"room_id": room_id}, namespace=NS, callback=True)
    assert ack["ok"], ack
    return ack


@pytest.fixture
def page_reads(app):
    """How many statements read the messages table since the last call."""
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT") and "FROM messages" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)

    def reads():
        n = len(seen)
        seen.clear()
        return n

    yield reads
    sa.event.remove(engine, "before_cursor_execute", count)


@pytest.fixture
def room(app, alice, bob):
    room = rooms.create_room(alice, "Cached")
    rooms.join_room(bob, room["id"])
    return room


def page_of(ack):
    return [(m["seq"], m["body"], m["deleted"], [r["emoji"] for r in m["reactions"]]) for m in ack["messages"]]


def test_a_kick_committed_before_the_socket_joins_the_stream_is_refused(app, alice, bob, connect, monkeypatch):
    """The namespace checks the membership, joins the room's stream, then `open_room`
    reads the room's view: a kick committed between the check and the join (its cut ran
    before the socket was in the stream) is refused there, and the socket leaves the
    stream, so the room's next message does not reach it."""
    private = rooms.create_room(alice, "Kicked", "private")
    rooms.invite(alice, private["id"], "bob")
    sock = connect(bob)
    join = namespace.join_room

    def kick_then_join(channel):
        with app.app_context():
            rooms.kick(alice, private["id"], "bob")
        join(channel)

    monkeypatch.setattr(namespace, "join_room", kick_then_join)
    ack = sock.emit("open_room", {"room_id": private["id"]}, namespace=NS, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "USER_NOT_IN_CHAT_ROOM"
    sock.get_received(NS)
    messages.send_message(alice, private["id"], "비밀 회의록", "c1")
    assert [p for p in sock.get_received(NS) if p["name"] == "new_message"] == []


def test_the_room_in_the_ack_is_the_room_lists_view(app, alice, bob, room, connect):
    """The ack's room is read without its last message (the page ends with it): it is
    the room list's view all the same, empty, with a reply, after a delete."""
    sock = connect(bob)
    direct = rooms.create_direct(bob, ["alice"])

    def same(room_id):
        listed = next(r for r in rooms.my_rooms(bob) if r["id"] == room_id)
        assert open_room(sock, room_id)["room"] == listed

    same(direct["id"])  # nothing posted yet
    first, _ = messages.send_message(alice, room["id"], "회의 10시", "c1")
    messages.send_message(bob, room["id"], "네 👍", "c2", reply_to=first.id)
    same(room["id"])
    last, _ = messages.send_message(alice, room["id"], "취소합니다", "c3")
    messages.delete_message(alice, last.id)
    same(room["id"])


def test_every_change_is_in_the_next_page(app, alice, bob, room, connect, page_reads):
    sock = connect(bob)
    first = open_room(sock, room["id"])
    page_reads()
    assert open_room(sock, room["id"])["messages"] == first["messages"]
    assert page_reads() == 0, "an unchanged room is served from the copy"

    def reopened():
        """The page after a change, and that it was read from the database."""
        page_reads()
        ack = open_room(sock, room["id"])
        assert page_reads() == 1, "a changed room is read again"
        return page_of(ack)[-1]

    message, _ = messages.send_message(alice, room["id"], "점심 먹었어요?", "c1")
    assert reopened() == (message.seq, "점심 먹었어요?", False, [])
    edits.edit_message(alice, message.id, "점심 먹었어요? 🍜")
    assert reopened()[1] == "점심 먹었어요? 🍜"
    reactions.react(bob, message.id, "👍", add=True)
    assert reopened()[3] == ["👍"]
    messages.delete_message(alice, message.id)
    assert reopened()[2] is True


def test_the_copy_is_the_same_for_every_member(app, alice, bob, room, connect, page_reads):
    messages.send_message(alice, room["id"], "hello", "c1")
    page = open_room(connect(alice), room["id"])["messages"]
    page_reads()
    assert open_room(connect(bob), room["id"])["messages"] == page
    assert page_reads() == 0


def test_a_deactivated_sender_shows_once_the_copy_is_old(app, alice, bob, make_user, room, connect, monkeypatch):
    """The one change no rev records: it shows after PAGE_CACHE_SECONDS at most."""
    site_admin = make_user()
    admin.grant(site_admin.username)
    messages.send_message(alice, room["id"], "bye", "c1")
    sock = connect(bob)
    open_room(sock, room["id"])
    admin.deactivate(site_admin, alice.id)
    now = page_cache.time.monotonic()
    monkeypatch.setattr(page_cache.time, "monotonic", lambda: now + app.config["PAGE_CACHE_SECONDS"] + 1)
    assert open_room(sock, room["id"])["messages"][-1]["sender"].get("deactivated") is True


def configured(app, **settings):
    app.config.update(settings)
    page_cache.init_app(app)


def test_no_copy_when_switched_off(app, alice, room, connect, page_reads):
    configured(app, PAGE_CACHE_SECONDS=0)
    sock = connect(alice)
    page_reads()
    for _ in range(3):
        open_room(sock, room["id"])
    assert page_reads() == 3


def test_the_copy_holds_page_cache_rooms_rooms(app, alice, connect, page_reads):
    configured(app, PAGE_CACHE_ROOMS=2)
    ids = [rooms.create_room(alice, f"Room {i}")["id"] for i in range(3)]
    sock = connect(alice)
    for room_id in ids:
        open_room(sock, room_id)
    page_reads()
    open_room(sock, ids[2])
    open_room(sock, ids[1])
    assert page_reads() == 0
    open_room(sock, ids[0])  # the least recently used, dropped for the third
    assert page_reads() == 1
