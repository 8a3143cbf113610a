"""Redis connection pools that make a burst of callers wait for a connection.

redis-py's default pool refuses the 101st concurrent caller outright
(MaxConnectionsError). Under eventlet or gevent hundreds of green threads can reach
Redis at once (a restart's reconnects, a busy minute's rate-limit checks), and a refused
call is a presence write lost, a rate limit skipped or a queue publish retried on a new
connection. These pools queue them instead: presence, rate limits and the message queue
each have one (webchat/message_queue.py).
"""

import redis

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
