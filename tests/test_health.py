"""`GET /healthz` (readiness): 200 when the database (and the queue, if any) answer and
the node is not draining, 503 naming the failing part otherwise. `GET /healthz/live`
(liveness): 200 whenever the process answers."""

import pytest

from webchat.realtime import lifecycle

from .support.services import require_rabbitmq, require_redis

AMQP = "amqp://guest:guest@127.0.0.1:5672//"

UNREACHABLE_MARIADB = "mysql+pymysql://root@127.0.0.1:1/x?charset=utf8mb4"


def healthz(app):
    return app.test_client().get("/healthz")


def test_healthy_without_a_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok", "db": "ok", "queue": "none"}


def test_health_needs_no_login(client):
    response = client.get("/healthz", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "Location" not in response.headers


def test_unreachable_database_is_503(app_with):
    response = healthz(app_with(SQLALCHEMY_DATABASE_URI=UNREACHABLE_MARIADB))
    assert response.status_code == 503
    body = response.get_json()
    assert body["db"] != "ok"
    assert body["status"] != "ok"
    assert body["queue"] == "none"


@pytest.mark.redis
def test_reachable_queue_is_ok(app_with):
    require_redis()
    response = healthz(app_with(MESSAGE_QUEUE_URL="redis://127.0.0.1:6379/15"))
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "db": "ok", "queue": "ok"}


def test_unreachable_queue_is_503(app_with):
    response = healthz(app_with(MESSAGE_QUEUE_URL="redis://127.0.0.1:1/0"))
    assert response.status_code == 503
    body = response.get_json()
    assert body["queue"] != "ok" and body["queue"] != "none"
    assert body["db"] == "ok"
    assert body["status"] != "ok"


def test_liveness_does_no_io(app_with):
    response = app_with(SQLALCHEMY_DATABASE_URI=UNREACHABLE_MARIADB, MESSAGE_QUEUE_URL="redis://127.0.0.1:1/0")
    response = response.test_client().get("/healthz/live")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_a_draining_node_is_not_ready_but_alive(app, client):
    lifecycle.of(app).draining = True
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "draining", "db": "ok", "queue": "none"}
    assert client.get("/healthz/live").status_code == 200


@pytest.mark.redis
def test_checks_reuse_one_pooled_redis_connection(app_with):
    require_redis()
    app = app_with(MESSAGE_QUEUE_URL="redis://127.0.0.1:6379/15")
    client = app.test_client()
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    (probe,) = app.extensions["webchat.health"].values()
    # redis-py's pool keeps every connection it made: one, however many checks.
    assert len(probe.client.connection_pool._connections) == 1


def test_checks_reuse_one_amqp_connection_and_survive_its_loss(app_with):
    require_rabbitmq()
    app = app_with(MESSAGE_QUEUE_URL=AMQP)
    client = app.test_client()
    assert client.get("/healthz").get_json()["queue"] == "ok"
    (probe,) = app.extensions["webchat.health"].values()
    first = probe.connection.connection
    assert client.get("/healthz").get_json()["queue"] == "ok"
    assert probe.connection.connection is first
    first.sock.close()  # the broker connection dies under the probe
    assert client.get("/healthz").status_code == 503
    assert client.get("/healthz").get_json()["queue"] == "ok"  # made anew
