"""`GET /healthz`: is the database reachable, and the message queue if there is one."""

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from .extensions import db
from .realtime.redis_pool import is_redis, redis_client

bp = Blueprint("health", __name__)


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


def check_queue():
    url = current_app.config.get("MESSAGE_QUEUE_URL")
    if not url:
        return "none"
    try:
        if is_redis(url):
            client = redis_client(url)  # through Sentinel, a ping of the current primary
            try:
                client.ping()
            finally:
                client.connection_pool.disconnect()
        else:
            import kombu

            with kombu.Connection(url, connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=1)
        return "ok"
    except Exception:
        current_app.logger.warning("health check: message queue unreachable", exc_info=True)
        return "unavailable"


@bp.get("/healthz")
def healthz():
    status = {"status": "ok", "db": check_database(), "queue": check_queue()}
    healthy = status["db"] == "ok" and status["queue"] in ("ok", "none")
    if not healthy:
        status["status"] = "unavailable"
    return jsonify(status), 200 if healthy else 503
