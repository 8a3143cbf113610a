"""`GET /healthz`: 200 when the database (and the queue, if any) answer, 503 naming the
failing part otherwise."""

import pytest

from .support.services import require_redis

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
