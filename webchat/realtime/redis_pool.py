"""Redis connection pools that make a burst of callers wait for a connection.

redis-py's default pool refuses the 101st concurrent caller outright
(MaxConnectionsError). Under eventlet or gevent hundreds of green threads can reach
Redis at once (a restart's reconnects, a busy minute's rate-limit checks), and a refused
call is a presence write lost, a rate limit skipped or a queue publish retried on a new
connection. These pools queue them instead: presence, rate limits and the message queue
each have one (webchat/message_queue.py).
"""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import redis
from redis.sentinel import Sentinel, SentinelConnectionPool

POOL_SIZE = 50  # connections per pool, per process
POOL_WAIT_SECONDS = 10  # how long a caller waits for a free one before failing
SOCKET_TIMEOUT_SECONDS = 2  # a command's reply; also how long a connect may take


def blocking_pool(url):
    """A stalled command fails after SOCKET_TIMEOUT_SECONDS; a subscriber's blocking
    read (PubSub.listen) is not cut short by it."""
    return redis.BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_SIZE,
        timeout=POOL_WAIT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
    )


# Redis through Sentinel: `redis+sentinel://[user:password@]host:port[,host:port…]/service[/db]`
# names the sentinels (port 26379 when left out), the service (the primary's name in
# their configuration) and the database (0 by default). The user and password are the
# Redis servers'; the sentinels are asked without them. Every client follows the primary:
# a connection asks the sentinels where it is each time it (re)connects, and one left on a
# demoted primary is dropped at its next reply (redis-py's SentinelManagedConnection).
SENTINEL_SCHEME = "redis+sentinel://"
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple  # ((host, port), …)
    service_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None

    def connection_options(self):
        """The keyword arguments of a connection to the primary."""
        return {
            "db": self.db,
            "username": self.username,
            "password": self.password,
            "socket_timeout": SOCKET_TIMEOUT_SECONDS,
            "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
        }


def is_sentinel(url):
    return bool(url) and url.startswith(SENTINEL_SCHEME)


def is_redis(url):
    """Whether `url` names Redis (directly or through Sentinel)."""
    return bool(url) and url.startswith(("redis://", "rediss://", "unix://", SENTINEL_SCHEME))


def parse_sentinel_url(url):
    """The `SentinelTarget` of a `redis+sentinel://` URL; ValueError when malformed."""
    parsed = urlsplit(url)
    hosts = parsed.netloc.rpartition("@")[2]
    sentinels = []
    for location in hosts.split(","):
        host, colon, port = location.strip().rpartition(":")
        if not colon:
            host, port = location.strip(), str(DEFAULT_SENTINEL_PORT)
        if not host or not port.isdigit():
            raise ValueError(f"bad sentinel address {location!r} in {SENTINEL_SCHEME} URL")
        sentinels.append((host, int(port)))
    parts = [unquote(part) for part in parsed.path.split("/") if part]
    if not 1 <= len(parts) <= 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise ValueError(f"a {SENTINEL_SCHEME} URL ends with /service_name or /service_name/db")
    return SentinelTarget(
        tuple(sentinels),
        parts[0],
        int(parts[1]) if len(parts) == 2 else 0,
        unquote(parsed.username) if parsed.username else None,
        unquote(parsed.password) if parsed.password else None,
    )


class SentinelBlockingPool(SentinelConnectionPool, redis.BlockingConnectionPool):
    """Sentinel's pool (connections find the primary), waiting for a free connection under
    a burst like `blocking_pool`."""


def sentinel_for(target):
    """A Sentinel client for `target`'s sentinels, with the same timeouts as the servers."""
    timeouts = {"socket_timeout": SOCKET_TIMEOUT_SECONDS, "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS}
    return Sentinel(list(target.sentinels), sentinel_kwargs=timeouts)


def redis_client(url):
    """A Redis client for `url` (`redis://`, `rediss://`, `unix://` or `redis+sentinel://`)
    on a blocking pool of its own."""
    if not is_sentinel(url):
        return redis.Redis(connection_pool=blocking_pool(url))
    target = parse_sentinel_url(url)
    return sentinel_for(target).master_for(
        target.service_name,
        connection_pool_class=SentinelBlockingPool,
        max_connections=POOL_SIZE,
        timeout=POOL_WAIT_SECONDS,
        **target.connection_options(),
    )


def limiter_storage(url):
    """Flask-Limiter's (storage URI, storage options) for Redis at `url`. The `limits`
    library's sentinel URI has no database in its path (it takes one option), and reads
    from replicas unless told not to: a lagging replica would let a burst past a limit."""
    if not is_sentinel(url):
        return url, {"connection_pool": blocking_pool(url)}
    target = parse_sentinel_url(url)
    locations = ",".join(f"{host}:{port}" for host, port in target.sentinels)
    options = target.connection_options()
    sentinel_options = {
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
        "username": None,  # limits would send the servers' credentials to the sentinels too
        "password": None,
    }
    return f"{SENTINEL_SCHEME}{locations}/{target.service_name}", {
        **options,
        "use_replicas": False,
        "sentinel_kwargs": sentinel_options,
    }
