"""The message queue carries a transaction's events, and a chunk of an unread round, as
one message.

Against a real Redis: a subscriber on the deployment's channel sees what other nodes
would receive. (tests/integration/test_cluster.py delivers batches between real nodes.)
"""

import json
import logging
import threading
import time
import uuid

import pytest
import redis

from webchat import realtime
from webchat.database import transaction
from webchat.extensions import socketio
from webchat.realtime.managers import RedisQueue
from webchat.realtime.redis_pool import SOCKET_TIMEOUT_SECONDS

from .support.concurrency import at_once
from .support.services import REDIS_URL, require_redis

pytestmark = pytest.mark.redis


@pytest.fixture
def queued_app(app_with):
    """An app on a queue channel of its own, and a subscriber to that channel."""
    require_redis()
    cluster = f"test-mq-{uuid.uuid4().hex[:8]}"
    app = app_with(MESSAGE_QUEUE_URL=REDIS_URL, CLUSTER_NAME=cluster)
    subscriber = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    subscriber.subscribe(f"{cluster}-socketio")
    yield app, subscriber
    subscriber.close()


def received(subscriber, count, timeout=5):
    """The next `count` messages on the channel, decoded."""
    messages, deadline = [], time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        message = subscriber.get_message(timeout=0.1)
        if message is not None:
            messages.append(json.loads(message["data"]))
    assert len(messages) == count, f"expected {count} queue messages, got {messages}"
    assert subscriber.get_message(timeout=0.3) is None, "no more than that"
    return messages


def test_the_app_uses_the_batching_queue(queued_app):
    assert isinstance(socketio.server.manager, RedisQueue)


def test_a_transactions_emits_are_one_queue_message_in_order(queued_app):
    app, subscriber = queued_app
    marker = redis.Redis.from_url(REDIS_URL)
    channel = f"{app.config['CLUSTER_NAME']}-socketio"
    with transaction():
        realtime.emit_after_commit("new_message", {"n": 1}, to="room:1")
        realtime.emit_after_commit("new_message", {"n": 2}, to=["user:1", "user:2"], skip_sid="sid-x")
        # Another kind of action between them keeps its place: the emits before it go
        # first, the ones after it later.
        realtime.after_commit(lambda: marker.publish(channel, json.dumps({"method": "marker"})))
        realtime.emit_after_commit("unread", {"n": 3}, to="user:3")
    first, between, last = received(subscriber, 3)
    assert first["method"] == "emit" and first["namespace"] == realtime.NAMESPACE
    assert first["batch"] == [
        ["new_message", {"n": 1}, "room:1", None],
        ["new_message", {"n": 2}, ["user:1", "user:2"], "sid-x"],
    ]
    assert between == {"method": "marker"}
    assert last["batch"] == [["unread", {"n": 3}, "user:3", None]]
    assert first["host_id"] == last["host_id"] == socketio.server.manager.host_id


def test_a_rolled_back_transaction_sends_nothing(queued_app):
    _app, subscriber = queued_app
    with pytest.raises(RuntimeError), transaction():
        realtime.emit_after_commit("new_message", {"n": 1}, to="room:1")
        raise RuntimeError("rolled back")
    received(subscriber, 0)


def test_a_chunk_of_an_unread_round_is_one_queue_message(queued_app):
    _app, subscriber = queued_app
    realtime.emit_each("unread", [(["user:1"], {"unread_count": 1}), (["user:2", "user:3"], {"unread_count": 2})])
    (message,) = received(subscriber, 1)
    assert message["batch"] == [
        ["unread", {"unread_count": 1}, ["user:1"], None],
        ["unread", {"unread_count": 2}, ["user:2", "user:3"], None],
    ]


@pytest.fixture
def queue_and_subscriber():
    """A bare RedisQueue (no server) on a channel of its own, and a subscriber to it."""
    require_redis()
    channel = f"test-mq-{uuid.uuid4().hex[:8]}"
    queue = RedisQueue(REDIS_URL, channel=channel, logger=logging.getLogger("test.queue"))
    subscriber = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    subscriber.subscribe(channel)
    yield queue, subscriber
    subscriber.close()


def test_publishers_wait_for_a_connection_rather_than_being_refused(queue_and_subscriber, caplog):
    """Hundreds of green threads may publish at once (a busy minute in many rooms).
    Each waits for a pooled connection: none is refused into a retry or lost."""
    queue, subscriber = queue_and_subscriber
    at_once(lambda n: queue._publish({"method": "emit", "n": n}), range(300))
    assert "Cannot publish" not in caplog.text
    assert sorted(message["n"] for message in received(subscriber, 300)) == list(range(300))


def test_the_listener_waits_out_a_quiet_spell(queue_and_subscriber, caplog):
    """The subscriber shares the publishers' pool, whose commands time out after
    SOCKET_TIMEOUT_SECONDS; its blocking read does not: a cluster quiet for longer
    neither drops the subscription nor misses the next message."""
    queue, _subscriber = queue_and_subscriber
    heard = []
    listener = threading.Thread(target=lambda: heard.append(next(queue._listen())), daemon=True)
    listener.start()
    time.sleep(SOCKET_TIMEOUT_SECONDS + 1)
    assert "Cannot receive" not in caplog.text
    queue._publish({"method": "emit", "after": "quiet"})
    listener.join(timeout=5)
    assert heard and json.loads(heard[0]) == {"method": "emit", "after": "quiet"}
    assert "Cannot receive" not in caplog.text
