"""Health, unauthenticated, for balancers and supervisors.

- `GET /healthz/live`: liveness, the process answers; no I/O at all, so a database or
  queue outage never makes a supervisor restart healthy processes.
- `GET /healthz`: readiness, whether this node should get traffic: the database and the
  message queue answer (through the pools the node already holds: no new connection per
  call), and the node is not draining before a stop (webchat/realtime/lifecycle.py).
"""

import threading

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from . import realtime
from .extensions import db
from .realtime.redis_pool import is_redis, redis_client

bp = Blueprint("health", __name__)

_PROBES = "webchat.health"
AMQP_TIMEOUT_SECONDS = 2


def check_database():
    try:
        db.session.execute(sa.text("SELECT 1"))
        return "ok"
    except Exception:  # any failure means "not healthy"; the reason goes to the log
        current_app.logger.warning("health check: database unreachable", exc_info=True)
        db.session.rollback()
        return "unavailable"
    finally:
        db.session.rollback()


class RedisProbe:
    """PING through one blocking pool kept for the app's life (redis_pool): a connection
    is reused from one check to the next, and through Sentinel it follows the primary."""

    def __init__(self, url):
        self.client = redis_client(url)

    def check(self):
        self.client.ping()


class AmqpProbe:
    """One kombu connection kept for the app's life; each check opens and closes a
    channel on it, a round trip to the broker that a dead connection fails (it is then
    made anew at the next check)."""

    def __init__(self, url):
        import kombu

        self.connection = kombu.Connection(url, connect_timeout=AMQP_TIMEOUT_SECONDS)
        self.lock = threading.Lock()  # one check at a time on the shared connection

    def check(self):
        with self.lock:
            try:
                self.connection.ensure_connection(max_retries=1, timeout=AMQP_TIMEOUT_SECONDS)
                self.connection.channel().close()
            except Exception:
                self.connection.collect()  # a broken connection is dropped, not reused
                raise


def _probe(url):
    """The app's probe for queue `url`, made at its first check."""
    probes = current_app.extensions.setdefault(_PROBES, {})
    if url not in probes:
        probes[url] = RedisProbe(url) if is_redis(url) else AmqpProbe(url)
    return probes[url]


def check_queue():
    url = current_app.config.get("MESSAGE_QUEUE_URL")
    if not url:
        return "none"
    try:
        _probe(url).check()
        return "ok"
    except Exception:
        current_app.logger.warning("health check: message queue unreachable", exc_info=True)
        return "unavailable"


@bp.get("/healthz/live")
def live():
    return jsonify({"status": "ok"})


@bp.get("/healthz")
def healthz():
    status = {"status": "ok", "db": check_database(), "queue": check_queue()}
    healthy = status["db"] == "ok" and status["queue"] in ("ok", "none")
    if realtime.draining():
        status["status"] = "draining"
    elif not healthy:
        status["status"] = "unavailable"
    return jsonify(status), 200 if status["status"] == "ok" else 503
