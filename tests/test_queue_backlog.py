"""What a node publishes while Redis is down waits, in order, and goes out once Redis is
back and the other nodes listen again (`RedisQueue`'s backlog), against a Redis of the
test's own that it stops and starts. tests/integration/test_sentinel.py and
tests/browser/test_sentinel_failover_ui.py show the same across a Sentinel failover."""

import json
import time

import pytest
import redis
import socketio

from webchat.realtime.managers import RedisQueue

from .support.polling import wait_until
from .support.throwaway import ThrowawayRedis

pytestmark = pytest.mark.redis


def subscribers(client, channel):
    return dict(client.pubsub_numsub(channel))[channel.encode()]


def next_message(listener, timeout=5):
    """The next message on the channel, decoded (None if none came)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = listener.get_message(timeout=0.2)
        if message is not None:
            return json.loads(message["data"])
    return None


def test_what_could_not_be_published_goes_out_in_order_once_redis_is_back(tmp_path):
    server = ThrowawayRedis(tmp_path).start()
    channel = "backlog-test"
    queue = RedisQueue(server.url, channel=channel)
    try:
        socketio.Server(client_manager=queue, async_mode="threading")
        queue.initialize()  # starts its listener, as the first connection would
        other_node = redis.Redis(port=server.port)
        wait_until(lambda: subscribers(other_node, channel) == 1, 10, "the queue's listener to subscribe")
        listener = other_node.pubsub(ignore_subscribe_messages=True)
        listener.subscribe(channel)
        queue._publish({"n": 0})
        assert next_message(listener) == {"n": 0}

        server.stop()
        for n in (1, 2, 3):
            queue._publish({"n": n})  # returns at once: kept for later
        assert len(queue._backlog) == 3
        server.start()  # the same port, empty: nobody subscribed yet
        time.sleep(0.5)  # longer than the backlog's retry: it waits for the listeners
        assert len(queue._backlog) == 3, "published before the other nodes listened again"
        listener = redis.Redis(port=server.port).pubsub(ignore_subscribe_messages=True)
        listener.subscribe(channel)  # the other node is back; so, soon, is the queue's own listener
        got = [next_message(listener, timeout=15) for _ in range(3)]
        queue._publish({"n": 4})  # after the backlog, as usual
        got.append(next_message(listener))
        assert got == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
        # A kept message leaves the backlog just after it is sent (never before: nothing lost).
        wait_until(lambda: not queue._backlog, 5, "the backlog to empty")
    finally:
        queue.pubsub.close() if queue.pubsub else None
        server.stop()
