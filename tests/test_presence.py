"""Presence shared through a real Redis: who is online stays true under a burst of
sockets and after a moment when Redis refused a write."""

import uuid

import pytest
import redis

from webchat import ratelimit
from webchat.realtime.presence import Connection, RedisPresence

from .support.concurrency import at_once
from .support.services import REDIS_URL, require_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def presence():
    require_redis()
    prefix = f"test-presence-{uuid.uuid4().hex[:8]}"
    registry = RedisPresence(REDIS_URL, prefix=prefix)
    yield registry
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def connection(user_id):
    return Connection(uuid.uuid4().hex, user_id, f"user{user_id}", 1e12)


def test_a_burst_of_sockets_waits_for_redis_rather_than_falling_back(presence, caplog):
    """Hundreds of sockets connecting at once (a restart) each register in Redis. They
    wait for a pooled connection; none is turned away to this node's local view, which
    would leave Redis and the other nodes wrong."""
    sockets = [connection(user_id) for user_id in range(1, 301)]
    at_once(presence.add, sockets)
    assert "Redis unavailable" not in caplog.text
    assert presence.online_among(range(1, 301)) == set(range(1, 301))

    at_once(lambda c: presence.remove(c.sid), sockets)
    assert "Redis unavailable" not in caplog.text
    assert presence.online_among(range(1, 301)) == set()


def test_the_heartbeat_repairs_what_redis_missed(presence, monkeypatch):
    """A disconnect whose Redis write failed left the socket registered, so its user
    looked online to every node; the next heartbeat takes it out (and writes back a
    socket whose registration was missed)."""
    gone, staying = connection(1), connection(2)
    presence.add(gone)
    pipeline = presence.redis.pipeline
    monkeypatch.setattr(presence.redis, "pipeline", lambda: (_ for _ in ()).throw(redis.ConnectionError("down")))
    assert presence.remove(gone.sid) == (gone, True)  # answered from this node's view
    presence.add(staying)  # registered here only
    monkeypatch.setattr(presence.redis, "pipeline", pipeline)
    assert presence.online_among([1, 2]) == {1}, "Redis still has the old socket and not the new"

    presence.heartbeat()
    assert presence.online_among([1, 2]) == {2}
    assert presence.redis.hkeys(presence._user(2)) == [staying.sid.encode()]


def test_a_burst_of_rate_limit_checks_waits_for_redis(app_with, caplog):
    """The same holds for rate limits: a check turned away by a full pool would let the
    action through unlimited."""
    require_redis()
    app = app_with(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=f"test-limits-{uuid.uuid4().hex[:8]}",
    )

    def check(user_id):
        with app.app_context():
            ratelimit.check("RATELIMIT_MESSAGES_PER_USER", user_id)

    at_once(check, range(300))
    assert "rate limit storage unavailable" not in caplog.text
