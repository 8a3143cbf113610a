"""The `redis+sentinel://` URL form that REDIS_URL and MESSAGE_QUEUE_URL accept, and how
it reaches each consumer (tests/integration/test_sentinel.py runs it against real
sentinels)."""

import pytest

from webchat.realtime.managers import RedisQueue, client_manager
from webchat.realtime.redis_pool import SentinelTarget, is_redis, limiter_storage, parse_sentinel_url


def test_sentinel_url_parts():
    target = parse_sentinel_url("redis+sentinel://ops:p%40ss@10.0.0.5:26380,10.0.0.6,sentinel-3:5000/chat/2")
    assert target == SentinelTarget(
        (("10.0.0.5", 26380), ("10.0.0.6", 26379), ("sentinel-3", 5000)), "chat", 2, "ops", "p@ss"
    )
    assert parse_sentinel_url("redis+sentinel://h:1/webchat") == SentinelTarget((("h", 1),), "webchat", 0)


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://h:1",  # no service
        "redis+sentinel://h:1/",
        "redis+sentinel://h:1/svc/zero",
        "redis+sentinel://h:1/svc/0/extra",
        "redis+sentinel://h:port/svc",
        "redis+sentinel://:1/svc",
    ],
)
def test_malformed_sentinel_urls_are_refused(url):
    with pytest.raises(ValueError):
        parse_sentinel_url(url)


def test_the_limiter_gets_the_limits_librarys_form():
    """`limits` reads the whole path as the service name and would read from replicas."""
    uri, options = limiter_storage("redis+sentinel://:pw@a:1,b:2/chat/3")
    assert uri == "redis+sentinel://a:1,b:2/chat"
    assert options["db"] == 3 and options["password"] == "pw" and options["use_replicas"] is False
    assert options["sentinel_kwargs"]["password"] is None  # the sentinels are asked without it
    uri, options = limiter_storage("redis://r:6379/1")
    assert uri == "redis://r:6379/1" and set(options) == {"connection_pool"}


def test_a_sentinel_url_is_a_redis_queue():
    assert is_redis("redis+sentinel://h:1/svc") and not is_redis("amqp://h")
    assert isinstance(client_manager("redis+sentinel://127.0.0.1:1/svc", "webchat-socketio"), RedisQueue)
