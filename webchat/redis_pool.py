"""Redis connection pools that make a burst of callers wait for a connection.

redis-py's default pool refuses the 101st concurrent caller outright
(MaxConnectionsError). Under eventlet or gevent hundreds of green threads can reach
Redis at once (a restart's reconnects, a busy minute's rate-limit checks), and a refused
call is a presence write lost or a rate limit skipped. These pools queue them instead.
"""
import redis

POOL_SIZE = 50  # connections per pool, per process
POOL_WAIT_SECONDS = 10  # how long a caller waits for a free one before failing


def blocking_pool(url):
    return redis.BlockingConnectionPool.from_url(url, max_connections=POOL_SIZE, timeout=POOL_WAIT_SECONDS,
                                                 socket_timeout=2, socket_connect_timeout=2)
