"""Group commit: posts to one room that arrive while its transaction runs are written
together by the first of them, in arrival order, each answered with its own message or
its own error."""

import threading
import time

import sqlalchemy as sa

from webchat.errors import ChatError
from webchat.extensions import db
from webchat.models import Membership, Message
from webchat.services import accounts, messages, posting, reads, rooms

from .support.unread import counted_by_counters, counted_by_scan


def hold_first_batch(monkeypatch, waiting):
    """Make the first transaction wait until `waiting` more posts queue behind it, so
    they must form one batch; records each batch's size."""
    real, batches, first = posting._write, [], threading.Event()

    def write(room_id, posts):
        if not first.is_set():
            first.set()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and sum(len(q.pending) for q in posting._in_flight.values()) < waiting:
                time.sleep(0.005)
        batches.append(len(posts))
        return real(room_id, posts)

    monkeypatch.setattr(posting, "_write", write)
    return batches


def post_at_once(app, calls):
    """Run (user, room_id, body, client_id) sends in threads; returns results in order:
    the message's (id, seq, body) or the error code."""
    results = [None] * len(calls)

    def run(i, user_id, room_id, body, client_id):
        with app.app_context():
            try:
                message, created = messages.send_message(accounts.get_user(user_id), room_id, body, client_id)
                results[i] = (message.id, message.seq, message.body, created)
            except ChatError as error:
                results[i] = error.code
            finally:
                db.session.remove()

    threads, deadline = [], time.monotonic() + 10
    for i, (user, room_id, body, client_id) in enumerate(calls):
        threads.append(threading.Thread(target=run, args=(i, user.id, room_id, body, client_id)))
        threads[-1].start()
        while i == 0 and not posting._in_flight and time.monotonic() < deadline:  # the first leads
            time.sleep(0.001)
    for thread in threads:
        thread.join(30)
    return results


def test_posts_that_queue_are_written_in_one_transaction_each_answered(app, make_user, monkeypatch, sent_events):
    alice, bob, outsider = make_user(), make_user(), make_user()
    room_id = rooms.create_room(alice, "Busy")["id"]
    rooms.join_room(bob, room_id)
    sent_events.clear()
    batches = hold_first_batch(monkeypatch, waiting=6)

    calls = [(alice, room_id, "first", "c-0")]
    calls += [(alice if i % 2 else bob, room_id, f"queued {i}", f"c-{i}") for i in range(1, 5)]
    calls += [(outsider, room_id, "not a member", "c-x"), (bob, room_id, "retry of queued 2", "c-2")]
    results = post_at_once(app, calls)

    assert batches[0] == 1 and sum(batches) == len(calls) and max(batches) == len(calls) - 1
    created = [r for r in results if isinstance(r, tuple) and r[3]]
    seqs = sorted(r[1] for r in created)
    assert seqs == list(range(seqs[0], seqs[0] + 5))  # gap-free
    # Of the two posts of client_id c-2, whichever queued first is stored; the other is
    # answered with that message, not stored again.
    original, retry = sorted([results[2], results[6]], key=lambda r: not r[3])
    assert original[3] is True and retry[3] is False and retry[0] == original[0]
    assert {r[2] for r in created} == {"first", "queued 1", "queued 3", "queued 4", original[2]}
    assert results[5] == "USER_NOT_IN_CHAT_ROOM"
    stored = db.session.scalars(sa.select(Message).where(Message.room_id == room_id, Message.kind == "text")).all()
    assert len(stored) == 5
    announced = [d["message"]["seq"] for e, d, _ in sent_events if e == "new_message"]
    assert announced == sorted(announced) and len(announced) == 5
    db.session.expire_all()
    assert counted_by_counters() == counted_by_scan()


def test_a_failing_batch_is_written_post_by_post(app, make_user, monkeypatch):
    alice, bob = make_user(), make_user()
    room_id = rooms.create_room(alice, "Fragile")["id"]
    rooms.join_room(bob, room_id)
    batches = hold_first_batch(monkeypatch, waiting=3)
    real_insert = posting._insert_rows
    calls = {"n": 0}

    def flaky_insert(*args, **kwargs):  # the second batch's INSERT breaks the transaction once
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("lost connection")
        return real_insert(*args, **kwargs)

    monkeypatch.setattr(posting, "_insert_rows", flaky_insert)
    results = post_at_once(
        app,
        [
            (alice, room_id, "lead", "l"),
            (bob, room_id, "one", "1"),
            (alice, room_id, "two", "2"),
            (bob, room_id, "three", "3"),
        ],
    )
    assert all(isinstance(r, tuple) and r[3] for r in results), results
    assert batches[:2] == [1, 3] and batches[2:] == [1, 1, 1]  # the batch failed, then each alone
    seqs = sorted(r[1] for r in results)
    assert seqs == list(range(seqs[0], seqs[0] + 4))


def test_a_batch_holding_a_retry_of_a_stored_message_stores_the_rest_gap_free(app, make_user, monkeypatch):
    """The retry's client_id makes the batch's INSERT fail on the unique key; the batch is
    written again without it, in the same transaction, and the retry gets the original."""
    alice, bob = make_user(), make_user()
    room_id = rooms.create_room(alice, "Retries")["id"]
    rooms.join_room(bob, room_id)
    stored, _ = messages.send_message(alice, room_id, "stored", "old")
    batches = hold_first_batch(monkeypatch, waiting=3)
    results = post_at_once(
        app,
        [
            (bob, room_id, "lead", "l"),
            (alice, room_id, "new", "n1"),
            (alice, room_id, "stored again", "old"),
            (bob, room_id, "new too", "n2"),
        ],
    )
    assert batches == [1, 3]
    assert results[2] == (stored.id, stored.seq, "stored", False)
    assert sorted(r[1] for r in results if r[3]) == [stored.seq + 1, stored.seq + 2, stored.seq + 3]
    db.session.expire_all()
    assert counted_by_counters() == counted_by_scan()


def test_a_batch_moves_each_senders_read_pointer_and_no_one_elses(app, make_user, monkeypatch):
    """Three senders in one batch (their pointer UPDATE has four slots, one unused):
    each has read up to their own last message; the members who only listened have not."""
    senders, listeners = [make_user() for _ in range(3)], [make_user() for _ in range(2)]
    room_id = rooms.create_room(senders[0], "Pointers")["id"]
    for user in senders[1:] + listeners:
        rooms.join_room(user, room_id)
    before = {m.user_id: m.last_read_seq for m in db.session.scalars(sa.select(Membership).filter_by(room_id=room_id))}
    batches = hold_first_batch(monkeypatch, waiting=5)

    calls = [(senders[0], room_id, "first", "p-0")]
    calls += [(senders[i % 3], room_id, f"queued {i}", f"p-{i}") for i in range(1, 6)]
    results = post_at_once(app, calls)
    assert batches == [1, 5]  # the second batch holds all three senders: one slot unused

    last_seq_of = {}
    for (user, *_), (_id, seq, _body, _created) in zip(calls, results, strict=True):
        last_seq_of[user.id] = max(seq, last_seq_of.get(user.id, 0))
    db.session.expire_all()
    pointers = {
        m.user_id: m.last_read_seq for m in db.session.scalars(sa.select(Membership).filter_by(room_id=room_id))
    }
    assert {user.id: pointers[user.id] for user in senders} == last_seq_of
    assert {user.id: pointers[user.id] for user in listeners} == {user.id: before[user.id] for user in listeners}
    assert counted_by_counters() == counted_by_scan()


def test_batches_of_every_size_share_a_few_statements(app, make_user):
    """The pointer UPDATE is built for powers of two only: batches of 1 to 100 senders
    keep 8 statements, not 100 (each a CASE per column, alive for the process's life)."""
    alice = make_user()
    room_id = rooms.create_room(alice, "Sizes")["id"]
    message = db.session.scalars(sa.select(Message).filter_by(room_id=room_id)).first()
    reads._pointer_update.cache_clear()
    for senders in range(1, 101):
        pointers = dict.fromkeys(range(10000, 10000 + senders), (message, 0))  # no such members
        reads.point_senders(room_id, pointers)
    assert reads._pointer_update.cache_info().currsize == 8  # 1, 2, 4, ..., 128
    db.session.rollback()
