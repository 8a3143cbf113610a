"""`GET /metrics` in the app: off by default (404), then only for the bearer token or
an allowed address; what it serves parses with prometheus_client's own parser; the
request id and the error counter. The load on a real server is
tests/integration/test_server_metrics.py."""

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from webchat import metrics
from webchat.errors import ChatError
from webchat.services import accounts, messages, rooms

from .support.accounts import PASSWORD

TOKEN = "metrics-test-token"


def families(text):
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample_value(text, name, **labels):
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_off_by_default_is_404(client):
    assert client.get("/metrics").status_code == 404


def test_token_required(app_with):
    client = app_with(METRICS_ENABLED=True, METRICS_TOKEN=TOKEN).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 403
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    names = families(response.get_data(as_text=True))
    for name in (
        "webchat_connected_sockets",
        "webchat_users_online",
        "webchat_messages_stored",
        "webchat_send_latency_seconds",
        "webchat_event_loop_lag_seconds",
        "webchat_db_pool_in_use",
        "webchat_queue_publish_seconds",
        "webchat_round_seconds",
        "webchat_rate_limit_refusals",
        "webchat_errors",
    ):
        assert name in names, name
    assert names["webchat_send_latency_seconds"].type == "histogram"
    assert names["webchat_messages_stored"].type == "counter"


def test_allow_list(app_with):
    client = app_with(METRICS_ENABLED=True, METRICS_ALLOW="10.1.0.0/16, 192.0.2.7").test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.2.0.1"}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403


def test_enabled_without_token_or_list_lets_nobody_in(app_with):
    client = app_with(METRICS_ENABLED=True).test_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_errors_are_counted_by_code(app_with):
    client = app_with(METRICS_ENABLED=True, METRICS_TOKEN=TOKEN).test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = sample_value(
        client.get("/metrics", headers=auth).get_data(as_text=True), "webchat_errors_total", code="NOT_FOUND"
    )
    assert client.get("/api/v1/no-such-thing").status_code == 404
    after = sample_value(
        client.get("/metrics", headers=auth).get_data(as_text=True), "webchat_errors_total", code="NOT_FOUND"
    )
    assert after == before + 1


def test_request_id_is_kept_or_made(client):
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "not a sane id <script>"})
    assert made.headers["X-Request-ID"] not in ("", "not a sane id <script>")
    assert len(made.headers["X-Request-ID"]) == 32


def test_headline_figures(app_with):
    app_with()  # the figures count with /metrics off too
    before = metrics.headline()
    assert set(before) >= {"connected_sockets", "users_online", "messages_stored", "mean_send_seconds", "errors"}
    assert all(value is None or isinstance(value, (int, float)) for value in before.values())
    alice = accounts.signup("alice", PASSWORD)
    room = rooms.create_room(alice, "General")
    messages.send_message(alice, room["id"], "one")
    messages.send_message(alice, room["id"], "two")
    with pytest.raises(ChatError):
        messages.send_message(alice, room["id"], "")
    after = metrics.headline()
    assert after["messages_stored"] == before["messages_stored"] + 2


def test_per_ip_refusals_are_counted_by_limit(app_with):
    app = app_with(METRICS_ENABLED=True, RATELIMIT_ENABLED=True, RATELIMIT_LOGIN_PER_IP="1 per minute")
    client = app.test_client()

    def refusals():
        labels = {"limit": "RATELIMIT_LOGIN_PER_IP"}
        return REGISTRY.get_sample_value("webchat_rate_limit_refusals_total", labels) or 0

    before = refusals()
    body = {"username": "nobody", "password": "wrong password"}
    assert client.post("/api/v1/auth/token", json=body).status_code == 401
    assert client.post("/api/v1/auth/token", json=body).status_code == 429
    assert client.post("/api/v1/auth/token", json=body).status_code == 429
    assert refusals() == before + 2
