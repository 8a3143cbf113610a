"""Database plumbing shared by the services: engine options per backend and the one
way to write, `transaction()`."""

import logging
import threading
import time
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from .errors import ChatError
from .extensions import db

# SQLite allows one writer at a time and waits for the lock by sleeping inside C, which
# would block the whole eventlet/gevent hub. Writers therefore queue here first: this
# lock is created after monkey-patching (wsgi.py patches before importing the package),
# so under eventlet or gevent it is a green lock and waiting on it yields to other sockets.
_sqlite_write_lock = threading.RLock()

# Room locks within this process, striped by room id. Held from the room's row lock until
# after the commit's events are sent, so one node emits a room's messages in seq order
# (the row lock alone is released at COMMIT, before the events leave).
_ROOM_STRIPES = [threading.Lock() for _ in range(64)]
_HELD = "webchat.held_room_stripes"


def hold_room_stripe(room_id):
    """Take this process's lock for `room_id` until the current `transaction()` ends."""
    held = db.session.info.setdefault(_HELD, [])
    stripe = _ROOM_STRIPES[room_id % len(_ROOM_STRIPES)]
    if stripe not in held:
        stripe.acquire()
        held.append(stripe)


def _release_room_stripes(session):
    for stripe in session.info.pop(_HELD, []):
        stripe.release()


LOOPBACK = (None, "localhost", "127.0.0.1", "::1")  # None: the server's Unix socket


def engine_options(uri, options, pool_size=None, max_overflow=None):
    """Engine options for the configured backend, applied by create_app."""
    options = dict(options)
    if uri.startswith("sqlite"):
        options.pop("pool_recycle", None)
        options.setdefault("connect_args", {})["check_same_thread"] = False
    elif uri.startswith("mysql"):
        # Each statement sees what has committed: the seq allocation and idempotency
        # checks rely on it after taking the room's row lock.
        options.setdefault("isolation_level", "READ COMMITTED")
        options.setdefault("pool_reset_on_return", None)  # configure_mariadb resets instead
        if pool_size is not None:
            options.setdefault("pool_size", pool_size)
        if max_overflow is not None:
            options.setdefault("max_overflow", max_overflow)
        url = sa.engine.make_url(uri)
        if url.host in LOOPBACK and not any(key.startswith("ssl") for key in url.query):
            # PyMySQL otherwise builds a TLS context for every new connection, in case the
            # server offers TLS: 20 ms of CPU that blocks the event loop, for a link that
            # never leaves this machine. A URL with ssl_* options still gets TLS.
            options.setdefault("connect_args", {}).setdefault("ssl_disabled", True)
    return options


def configure_sqlite(engine):
    """WAL lets readers go on while one writer writes; the busy timeout is a last resort.
    synchronous=FULL syncs the WAL at every commit: an acknowledged message survives a
    power loss (NORMAL could lose the last commits, the database staying consistent)."""

    @sa.event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


# A pooled connection that sat idle this long is pinged before it is handed out.
IDLE_PING_SECONDS = 10

# MariaDB refusing a write because the server is read-only: ER_OPTION_PREVENTS_STATEMENT
# (1290, "running with the --read-only option"; also used for other options) and
# ER_READ_ONLY_MODE (1836).
READ_ONLY_ERRORS = (1290, 1836)

log = logging.getLogger(__name__)


def is_read_only_error(error):
    """Whether the DBAPI `error` says the server is read-only."""
    code = error.args[0] if getattr(error, "args", None) else None
    return code == 1836 or (code == 1290 and "read-only" in str(error).lower())


def configure_mariadb(engine):
    """Keep the pool's own round trips off the busy path: a send is a handful of
    statements, and a ping before each and a ROLLBACK after each cost two more.

    - Ping only a connection that has sat idle (the server may have restarted or closed
      it meanwhile). A connection in steady use is not pinged: if the server went away,
      its next statement fails, SQLAlchemy discards the pool's connections, and that one
      caller gets SERVICE_UNAVAILABLE, which clients retry safely.
    - Roll back a returned connection only if a transaction may still be open on it: one
      that ended with COMMIT or ROLLBACK has nothing to reset.
    """

    @sa.event.listens_for(engine, "checkin")
    def note_idle(_dbapi_connection, record):
        record.info["webchat.idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, _proxy):
        # Until a transaction is seen to end, assume one may be open (raw DBAPI use).
        record.info["webchat.in_transaction"] = True
        idle_since = record.info.get("webchat.idle_since")
        if idle_since is not None and time.monotonic() - idle_since > IDLE_PING_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as exc:  # noqa: BLE001 - any failure means: not usable
                raise sa.exc.DisconnectionError() from exc  # the pool retries with a new one

    @sa.event.listens_for(engine, "begin")
    def began(connection):
        connection.info["webchat.in_transaction"] = True

    @sa.event.listens_for(engine, "commit")
    @sa.event.listens_for(engine, "rollback")
    def ended(connection):
        if not connection.invalidated:  # an invalidated connection is discarded, not reset
            connection.info["webchat.in_transaction"] = False

    @sa.event.listens_for(engine, "reset")
    def reset(dbapi_connection, record, state):
        if not state.terminate_only and record.info.get("webchat.in_transaction", True):
            dbapi_connection.rollback()

    @sa.event.listens_for(engine, "handle_error")
    def read_only_is_a_disconnect(context):
        """A read-only server is handled as one that went away: the write fails with
        SERVICE_UNAVAILABLE (an OperationalError, as before) and the pool drops every
        connection, so that the next ones reconnect through DATABASE_URL, which after a
        failover leads to the new primary, rather than staying on the demoted one."""
        if is_read_only_error(context.original_exception):
            log.warning("database is read-only, writes refused: %s", context.original_exception)
            context.is_disconnect = True


def is_sqlite():
    return db.engine.dialect.name == "sqlite"


@contextmanager
def transaction():
    """Run the block as one transaction: commit at the end, roll back on any error.

    Events queued with `realtime` during the block are sent only after the commit.
    A database that cannot be reached surfaces as SERVICE_UNAVAILABLE.
    """
    session = db.session()
    lock = _sqlite_write_lock if is_sqlite() else None
    if lock:
        lock.acquire()
    try:
        try:
            # On SQLite a read transaction left open by earlier queries would pin an old
            # snapshot and then refuse to write: end it so the write starts fresh. MariaDB
            # runs at READ COMMITTED, where every statement sees what has committed: the
            # write goes on on the same connection.
            if lock and session.in_transaction():
                session.commit()
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    except (OperationalError, InterfaceError) as exc:
        raise ChatError("SERVICE_UNAVAILABLE") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise ChatError("SERVICE_UNAVAILABLE") from exc
        raise
    finally:
        _release_room_stripes(session)
        if lock:
            lock.release()
