"""Unread counts as counters (rooms.counted_messages - memberships.counted_read): they
must always equal the count of the messages that count after each read pointer, through
any mix of sends, deletes, reads, joins, leaves and notices; and the coalesced fan-out
of `unread` events."""

import time
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webchat import realtime
from webchat.errors import ChatError
from webchat.extensions import db, socketio
from webchat.models import Message
from webchat.services import accounts, messages, reads, rooms

from .support.accounts import PASSWORD
from .support.concurrency import run_together
from .support.unread import counted_by_counters, counted_by_scan


def latest_own(user, room_id):
    return db.session.scalar(
        sa.select(Message.id)
        .where(Message.room_id == room_id, Message.sender_id == user.id, Message.deleted_at.is_(None))
        .order_by(Message.seq.desc())
    )


def some_message(room_id, back):
    ids = db.session.scalars(sa.select(Message.id).where(Message.room_id == room_id).order_by(Message.seq.desc())).all()
    return ids[min(back, len(ids) - 1)] if ids else None


OPS = st.lists(
    st.tuples(
        st.sampled_from(["send", "send", "send", "delete", "delete", "read", "read", "join", "leave", "announce"]),
        st.integers(0, 2),
        st.integers(0, 1),
        st.integers(0, 6),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_counters_equal_the_scan_through_any_history(app, make_user, ops):
    if not hasattr(app, "_unread_cast"):  # one cast per app: examples build on each other's history
        people = [make_user() for _ in range(3)]
        owned = [rooms.create_room(people[0], "Alpha")["id"], rooms.create_room(people[1], "Beta")["id"]]
        for user in people:
            for room_id in owned:
                rooms.join_room(user, room_id)
        app._unread_cast = people, owned
    people, owned = app._unread_cast
    for op, who, which, back in ops:
        user, room_id = people[who], owned[which]
        try:
            if op == "send":
                messages.send_message(user, room_id, f"{op} {who} {back}")
            elif op == "delete" and (message_id := latest_own(user, room_id)):
                messages.delete_message(user, message_id)
            elif op == "read" and (message_id := some_message(room_id, back)):
                reads.mark_read(user, room_id, message_id)
            elif op == "join":
                rooms.join_room(user, room_id)
            elif op == "leave":
                rooms.leave(user, room_id)
            elif op == "announce":
                messages.announce(room_id, "maintenance at noon")
        except ChatError:
            db.session.rollback()  # not a member, room gone, ...: the counters must still hold
        db.session.expire_all()
        assert counted_by_counters() == counted_by_scan(), (op, who, which, back)
    for user in people:
        listed = {view["id"]: view["unread_count"] for view in rooms.my_rooms(user)}
        expected = {room_id: count for (room_id, uid), count in counted_by_scan().items() if uid == user.id}
        assert listed == expected


def test_reads_and_deletes_at_the_same_moment_keep_counts_exact(app, make_user):
    """A read and a delete of a message before the new pointer race; whichever commits
    first, the count stays the scan's (on MariaDB the room's shared lock orders them)."""
    alice, bob = make_user(), make_user()
    room_id = rooms.create_room(alice, "Race")["id"]
    rooms.join_room(bob, room_id)
    for round_ in range(6):
        sent = [messages.send_message(alice, room_id, f"m{round_}.{i}")[0].id for i in range(3)]
        outcomes = run_together(
            app, (messages.delete_message, alice, sent[0]), (reads.mark_read, bob, room_id, sent[-1])
        )
        assert outcomes == ["ok", "ok"]
        db.session.expire_all()
        assert counted_by_counters() == counted_by_scan()
    assert rooms.room_view(bob, room_id)["unread_count"] == 0


def test_migration_fills_the_counters_from_history(app, make_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    room_id = rooms.create_room(alice, "History")["id"]
    rooms.join_room(bob, room_id)
    rooms.join_room(carol, room_id)
    ids = [messages.send_message(alice, room_id, f"hello {i}")[0].id for i in range(5)]
    messages.delete_message(alice, ids[1])
    reads.mark_read(bob, room_id, ids[2])
    messages.announce(room_id, "not counted")
    messages.send_message(alice, room_id, "more")
    messages.send_message(bob, room_id, "bob's own")
    expected = counted_by_scan()
    assert [expected[(room_id, u.id)] for u in (alice, bob, carol)] == [1, 0, 6]
    db.session.remove()
    downgrade(revision="d1fdf524ef21")
    upgrade()
    db.session.expire_all()
    assert counted_by_counters() == expected


@pytest.fixture
def coalescing(app_with):
    """An app whose unread fan-out is coalesced; `people(n)` signs users up and
    `socket(user)` connects one, closed after the test. A test client's connect ends the
    session the users were loaded in: `people.reload(*users)` loads them again."""
    app = app_with(UNREAD_FANOUT_MS=400)
    sockets = []

    def people(n):
        return [accounts.signup(f"user{uuid.uuid4().hex[:8]}", PASSWORD) for _ in range(n)]

    people.reload = lambda *users: [accounts.get_user(user.id) for user in users]

    def socket(user):
        token = accounts.issue_access_token(user)["access_token"]
        sock = socketio.test_client(app, namespace="/chat", auth={"token": token})
        sock.get_received("/chat")
        sockets.append(sock)
        return sock

    yield people, socket
    for sock in sockets:
        sock.disconnect("/chat")


def unread_events(sock):
    return [p["args"][0] for p in sock.get_received("/chat") if p["name"] == "unread"]


def wait_for_unread(sock, until, timeout=10):
    """Collect `unread` events until one satisfies `until` (or fail after `timeout`)."""
    events, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        events += unread_events(sock)
        if events and until(events[-1]):
            return events
        time.sleep(0.02)
    pytest.fail(f"no matching unread event; got {events}")


def test_fanout_sends_a_quiet_rooms_count_at_once_and_coalesces_a_busy_one(coalescing):
    people, socket = coalescing
    alice, bob = people(2)
    bob_socket = socket(bob)
    alice, bob = people.reload(alice, bob)
    room_id = rooms.create_room(alice, "Busy")["id"]
    rooms.join_room(bob, room_id)

    first = messages.send_message(alice, room_id, "first")[0]
    events = wait_for_unread(bob_socket, lambda e: e["unread_count"] == 1)
    assert events[-1]["room_id"] == room_id and events[-1]["last_message"]["id"] == first.id

    started = time.monotonic()
    for i in range(30):
        last = messages.send_message(alice, room_id, f"burst {i}")[0]
    events = wait_for_unread(bob_socket, lambda e: e["unread_count"] == 31)
    elapsed = time.monotonic() - started
    # One round per interval at most (plus the one a burst's first message starts), each
    # with the counts as they stood: never one event per message.
    assert len(events) <= 2 + elapsed / 0.4
    assert [e["unread_count"] for e in events] == sorted(e["unread_count"] for e in events)
    assert events[-1]["last_message"]["id"] == last.id


def test_a_rounds_events_go_out_in_chunks_and_reach_every_member(coalescing, monkeypatch):
    """Where every member has posted, each has a count of their own: a round is one
    event per member, sent a chunk at a time with a pause between chunks (the event loop
    serves sends meanwhile), and every member gets theirs."""
    people, socket = coalescing
    users = people(5)
    sockets = [socket(user) for user in users]
    users = people.reload(*users)
    room_id = rooms.create_room(users[0], "Everyone posts")["id"]
    for user in users[1:]:
        rooms.join_room(user, room_id)
    for user in users:
        last = messages.send_message(user, room_id, f"from {user.username}")[0]
    expected = [len(users) - 1 - n for n in range(len(users))]  # messages after their own
    for sock, count in zip(sockets, expected, strict=True):
        wait_for_unread(sock, lambda e, count=count: e["unread_count"] == count)
    time.sleep(0.5)  # past the fan-out's interval: no round pending
    for sock in sockets:
        sock.get_received("/chat")

    monkeypatch.setattr(realtime.rounds, "ROUND_CHUNK", 2)
    steps, emit_each, sleep = [], realtime.rounds.emit_each, socketio.sleep

    def chunk(event, events):
        steps.append(len(events))
        emit_each(event, events)

    def pause(seconds):
        if seconds == realtime.rounds.ROUND_PAUSE_SECONDS:  # not the fan-out task's own rest
            steps.append("pause")
        sleep(seconds)

    monkeypatch.setattr(realtime.rounds, "emit_each", chunk)
    monkeypatch.setattr(socketio, "sleep", pause)
    realtime.current().rounds["unread"].send(room_id)  # the app's own round
    assert steps == [2, "pause", 2, "pause", 1]
    for sock, count in zip(sockets, expected, strict=True):
        assert [(e["room_id"], e["unread_count"], e["last_message"]["id"]) for e in unread_events(sock)] == [
            (room_id, count, last.id)
        ]


def test_fanout_reaches_every_member_and_survives_a_failed_round(coalescing, monkeypatch):
    people, socket = coalescing
    alice, bob, carol = people(3)
    sockets = {user.id: socket(user) for user in (alice, bob, carol)}
    alice, bob, carol = people.reload(alice, bob, carol)
    room_id = rooms.create_room(alice, "Everyone")["id"]
    rooms.join_room(bob, room_id)
    rooms.join_room(carol, room_id)

    unread_rounds = realtime.current().rounds["unread"]
    real = unread_rounds.deliveries_of
    calls = []

    def fail_once(room_id):
        calls.append(room_id)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(room_id)

    monkeypatch.setattr(unread_rounds, "deliveries_of", fail_once)
    messages.send_message(alice, room_id, "lost round")
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.02)
    messages.send_message(alice, room_id, "next round")
    for user in (bob, carol):
        events = wait_for_unread(sockets[user.id], lambda e: e["unread_count"] == 2)
        assert events[-1]["room_id"] == room_id
    assert wait_for_unread(sockets[alice.id], lambda e: e["unread_count"] == 0)


def test_a_round_sends_one_event_per_distinct_count(app, make_user):
    """Members who share a count share one event, sent to all their channels at once."""
    alice, bob, carol, dave = (make_user() for _ in range(4))
    room_id = rooms.create_room(alice, "Shared counts")["id"]
    for user in (bob, carol, dave):
        rooms.join_room(user, room_id)
    first = messages.send_message(alice, room_id, "one")[0]
    messages.send_message(alice, room_id, "two")
    reads.mark_read(carol, room_id, first.id)

    events = reads.unread_deliveries(room_id)
    channels_by_count = {payload["unread_count"]: sorted(channels) for channels, payload in events}
    assert channels_by_count == {
        0: [realtime.user_channel(alice.id)],
        1: [realtime.user_channel(carol.id)],
        2: sorted([realtime.user_channel(bob.id), realtime.user_channel(dave.id)]),
    }
    assert len(events) == 3
