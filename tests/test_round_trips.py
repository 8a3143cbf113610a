"""What the hot paths cost MariaDB, counted at the driver: every command PyMySQL sends
(statements, COMMIT, ROLLBACK, PING) is one network round trip on the event loop's
time. The send path and the pool's own habits are pinned here; a change that adds a
round trip to every message has to change these numbers on purpose."""

import threading
import time

import pymysql
import pytest
import sqlalchemy as sa

from webchat import database
from webchat.database import transaction
from webchat.extensions import db
from webchat.services import rooms

# The driver's protocol is what is counted: these run on MariaDB only.
pytestmark = [pytest.mark.mariadb, pytest.mark.parametrize("backend", ["mariadb"], indirect=True)]

COM_PING = 14


@pytest.fixture
def app(app_with):
    """Unread counts sent as in production: by the fan-out task, off the sender's path."""
    return app_with(UNREAD_FANOUT_MS=250)


@pytest.fixture
def commands(monkeypatch):
    """The commands this thread sends to the database, as (kind, SQL) pairs."""
    sent, thread = [], threading.get_ident()
    real = pymysql.connections.Connection._execute_command

    def record(connection, command, sql):
        if threading.get_ident() == thread:
            text = sql.decode() if isinstance(sql, bytes | bytearray) else sql  # executemany: bytearray
            sent.append(("PING" if command == COM_PING else text.split(None, 1)[0].upper(), text))
        return real(connection, command, sql)

    monkeypatch.setattr(pymysql.connections.Connection, "_execute_command", record)
    return sent


def test_a_socket_send_is_six_round_trips(app, make_user, connect, commands):
    alice, bob = make_user(), make_user()
    room_id = rooms.create_room(alice, "Quiet")["id"]
    rooms.join_room(bob, room_id)
    sock = connect(alice)
    for n in range(3):  # warm: the pool's connection exists and has been used
        warm = sock.emit(
            "send_message",
            {"room_id": room_id, "body": f"warm {n}", "client_id": f"w{n}"},
            namespace="/chat",
            callback=True,
        )
    commands.clear()
    ack = sock.emit(
        "send_message", {"room_id": room_id, "body": "hello", "client_id": "c1"}, namespace="/chat", callback=True
    )
    assert ack["ok"] and ack["message"]["seq"] == warm["message"]["seq"] + 1
    kinds = [kind for kind, _ in commands]
    # The room's and the sender's locks, the message, its search grams, the room's
    # counters, the sender's read pointer, COMMIT. No user lookup, no duplicate
    # pre-check, no PING, no ROLLBACK.
    assert kinds == ["SELECT", "INSERT", "INSERT", "UPDATE", "UPDATE", "COMMIT"], "\n".join(t[:90] for _, t in commands)
    assert "search_grams" in commands[2][1]
    assert "FOR UPDATE" in commands[0][1] and "memberships" in commands[0][1]

    commands.clear()  # a retry of the same client_id: refused by the unique key, answered
    retry = sock.emit(
        "send_message", {"room_id": room_id, "body": "hello", "client_id": "c1"}, namespace="/chat", callback=True
    )
    assert retry["ok"] and retry["message"]["id"] == ack["message"]["id"]
    assert [kind for kind, _ in commands].count("INSERT") == 1  # refused before its grams


def test_a_connection_is_rolled_back_on_return_only_if_a_transaction_may_be_open(app, commands):
    db.session.execute(sa.text("SELECT 1"))  # the pool's connection is set up
    db.session.remove()
    commands.clear()
    with transaction():
        db.session.execute(sa.text("SELECT 1"))
    db.session.remove()
    assert [kind for kind, _ in commands] == ["SELECT", "COMMIT"]  # nothing left to reset

    commands.clear()
    db.session.execute(sa.text("SELECT 1"))  # a read, never committed
    db.session.remove()
    assert [kind for kind, _ in commands] == ["SELECT", "ROLLBACK"]

    commands.clear()  # raw DBAPI use, behind SQLAlchemy's back: assume the worst
    raw = db.engine.raw_connection()
    with raw.cursor() as cursor:
        cursor.execute("SELECT 1")
    raw.close()
    assert [kind for kind, _ in commands] == ["SELECT", "ROLLBACK"]


def test_locks_taken_before_a_failure_are_released_with_the_connection(app, make_user):
    alice = make_user()
    room_id = rooms.create_room(alice, "Locked")["id"]
    db.session.remove()
    with pytest.raises(RuntimeError):
        with transaction():
            db.session.execute(sa.text("SELECT id FROM rooms WHERE id = :id FOR UPDATE"), {"id": room_id})
            raise RuntimeError("a bug after taking the lock")
    db.session.remove()
    other = sa.create_engine(db.engine.url)
    try:
        with other.connect() as conn:
            conn.execute(sa.text("SET SESSION innodb_lock_wait_timeout = 1"))
            conn.execute(sa.text("SELECT id FROM rooms WHERE id = :id FOR UPDATE"), {"id": room_id})
    finally:
        other.dispose()


def test_only_a_connection_that_sat_idle_is_pinged(app, commands, monkeypatch):
    db.session.execute(sa.text("SELECT 1"))
    db.session.remove()
    commands.clear()
    db.session.execute(sa.text("SELECT 1"))  # in steady use: no ping
    db.session.remove()
    assert "PING" not in [kind for kind, _ in commands]

    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.05)
    time.sleep(0.1)
    commands.clear()
    db.session.execute(sa.text("SELECT 1"))
    db.session.remove()
    assert [kind for kind, _ in commands][:2] == ["PING", "SELECT"]


def test_an_idle_connection_the_server_closed_is_replaced_unseen(app, monkeypatch):
    stale = db.session.execute(sa.text("SELECT CONNECTION_ID()")).scalar_one()
    db.session.remove()
    killer = sa.create_engine(db.engine.url)
    try:
        with killer.connect() as conn:
            conn.execute(sa.text(f"KILL {int(stale)}"))
    finally:
        killer.dispose()
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.05)
    time.sleep(0.1)
    fresh = db.session.execute(sa.text("SELECT CONNECTION_ID()")).scalar_one()
    assert fresh != stale
