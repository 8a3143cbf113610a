"""What the operator watches, on the real server (gunicorn + eventlet): /metrics under a
small load, parsed with prometheus_client's own parser, in the one-process mode and in
the multiprocess mode (PROMETHEUS_MULTIPROC_DIR) over a Redis queue; who may scrape it;
and the logs, plain text by default and one JSON object per line with LOG_FORMAT=json."""

import json
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, unique_name
from ..support.polling import wait_until
from ..support.services import REDIS_URL, require_redis

pytestmark = pytest.mark.integration

TOKEN = "scrape-" + uuid.uuid4().hex
METRICS = {"METRICS_ENABLED": "true", "METRICS_TOKEN": TOKEN}
SENDERS, SENDS = 3, 4


def scrape(server):
    response = requests.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            key = (s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "pid")))
            samples[key] = samples.get(key, 0) + s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def load(server, clients, *, refused_sends=0):
    """SENDERS users in one room, each connected and sending SENDS messages; the last
    sends `refused_sends` more than the rate limit allows. Returns the room's id."""
    users = [api_user(server, unique_name("m")) for _ in range(SENDERS)]
    room = api(server, users[0][1], "POST", "/rooms", json={"name": "Metrics " + uuid.uuid4().hex[:6]}).json()["room"]
    for _user, token in users[1:]:
        assert api(server, token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    sockets = [clients(server, token) for _user, token in users]
    for sock in sockets:
        assert sock.call("open_room", {"room_id": room["id"]})["ok"]
    for i in range(SENDS):
        for n, sock in enumerate(sockets):
            ack = sock.call("send_message", {"room_id": room["id"], "body": f"m{n}-{i}", "client_id": f"c{n}-{i}"})
            assert ack["ok"], ack
    for i in range(refused_sends):
        ack = sockets[-1].call("send_message", {"room_id": room["id"], "body": "over", "client_id": f"x{i}"})
        assert ack["error"]["code"] == "RATE_LIMITED"
    # Every member's unread round has run once the last sender's partner saw everything.
    sockets[0].wait_for(lambda: len(sockets[0].messages(room["id"])) == SENDERS * SENDS, what="all the messages")
    return room["id"]


@pytest.fixture
def clients():
    opened = []

    def open_client(server, token):
        client = ChatClient(server, token).connect()
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


@pytest.mark.parametrize(
    "backend, async_mode",
    [("sqlite", "eventlet"), pytest.param("mariadb", "eventlet", marks=pytest.mark.mariadb), ("sqlite", "gevent")],
)
def test_metrics_under_load(live_server, clients, backend, async_mode):
    # SENDS per sender fit the limit; the two more the last sender tries are refused.
    server = live_server(
        backend,
        async_mode=async_mode,
        env={**METRICS, "RATELIMIT_ENABLED": "true", "RATELIMIT_MESSAGES_PER_USER": f"{SENDS} per minute"},
    )
    before = scrape(server)
    assert value(before, "webchat_messages_stored_total") == 0
    load(server, clients, refused_sends=2)
    # The gauges are sampled at each scrape; the loop lag once a second by the sampler.
    wait_until(lambda: value(scrape(server), "webchat_connected_sockets") == SENDERS, 10, "the sockets gauge")
    after = scrape(server)
    assert value(after, "webchat_messages_stored_total") == SENDERS * SENDS
    assert value(after, "webchat_send_latency_seconds_count") == SENDERS * SENDS
    assert 0 < value(after, "webchat_send_latency_seconds_sum") < 30
    assert value(after, "webchat_send_latency_seconds_bucket", le="+Inf") == SENDERS * SENDS
    assert value(after, "webchat_users_online") == SENDERS
    assert value(after, "webchat_rate_limit_refusals_total", limit="RATELIMIT_MESSAGES_PER_USER") == 2
    assert value(after, "webchat_errors_total", code="RATE_LIMITED", transport="socket") == 2
    assert value(after, "webchat_round_seconds_count", round="unread") > 0
    assert value(after, "webchat_round_seconds_count", round="members") > 0
    # The sampler wakes once a second and notes how late it woke.
    wait_until(lambda: value(scrape(server), "webchat_event_loop_lag_seconds_count") >= 2, 10, "two loop-lag samples")
    lag = scrape(server)
    assert value(lag, "webchat_event_loop_lag_seconds_bucket", le="5.0") == value(
        lag, "webchat_event_loop_lag_seconds_count"
    )
    assert ("webchat_db_pool_in_use", ()) in after
    # One process, no queue: nothing was published.
    assert value(after, "webchat_queue_publish_seconds_count") == 0


def test_scrapes_need_the_token_or_an_allowed_address(live_server):
    server = live_server(env={**METRICS, "METRICS_ALLOW": "192.0.2.0/24"})
    url = f"{server.url}/metrics"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 403
    listed = live_server(peer=server, env={"METRICS_TOKEN": "", "METRICS_ALLOW": "127.0.0.0/8"})
    assert requests.get(f"{listed.url}/metrics", timeout=10).status_code == 200
    off = live_server(peer=server, env={"METRICS_ENABLED": "false"})
    assert (
        requests.get(f"{off.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).status_code == 404
    )


@pytest.mark.redis
def test_multiprocess_mode_over_a_queue(live_server, clients, tmp_path):
    require_redis()
    shared = tmp_path / "prometheus"
    shared.mkdir()
    server = live_server(
        redis_url=REDIS_URL, env={**METRICS, "PROMETHEUS_MULTIPROC_DIR": shared, "CLUSTER_NAME": unique_name("mp")}
    )
    load(server, clients)
    assert any(shared.glob("*.db")), "each process writes its figures to the shared directory"
    samples = scrape(server)
    assert value(samples, "webchat_messages_stored_total") == SENDERS * SENDS
    assert value(samples, "webchat_send_latency_seconds_count") == SENDERS * SENDS
    assert value(samples, "webchat_queue_publish_seconds_count") > 0
    assert value(samples, "webchat_connected_sockets") == SENDERS


def get(server, token, path, request_id):
    headers = {"Authorization": f"Bearer {token}", "X-Request-ID": request_id, "Accept": "application/json"}
    return requests.get(f"{server.url}{path}", headers=headers, timeout=10)


def access_lines(server):
    return [line for line in server.log_text().splitlines() if line.startswith("{")]


def test_json_logs(live_server, clients):
    server = live_server(env={"LOG_FORMAT": "json", "ACCESS_LOG": ""})
    user, token = api_user(server, unique_name("j"))
    response = get(server, token, "/api/v1/rooms", "trace-42")
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "trace-42"
    assert get(server, token, "/nope", "trace-43").status_code == 404
    sock = clients(server, token)
    assert sock.call("open_room", {"room_id": 999999})["error"]["code"] in ("ROOM_NOT_FOUND", "USER_NOT_IN_CHAT_ROOM")
    assert sock.call("typing", {"room_id": "x"})["error"]["code"] == "VALIDATION_ERROR"
    wait_until(lambda: any('"event": "typing"' in line for line in access_lines(server)), 10, "the typing line")
    records = [json.loads(line) for line in access_lines(server)]  # each line is one object
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    http = next(r for r in records if r.get("request_id") == "trace-42")
    assert http["user_id"] == user["id"] and http["method"] == "GET"
    assert http["route"] == "/api/v1/rooms" and http["status"] == 200 and http["duration_ms"] >= 0
    signup = next(r for r in records if r.get("route") == "/api/v1/auth/signup")
    assert signup["status"] == 201 and len(signup["request_id"]) == 32
    opened = next(r for r in records if r.get("event") == "open_room")
    assert opened["user_id"] == user["id"] and opened["status"] == "error"
    assert opened["code"] in ("ROOM_NOT_FOUND", "USER_NOT_IN_CHAT_ROOM") and opened["duration_ms"] >= 0
    missing = next(r for r in records if r.get("route") == "/nope")
    assert missing["status"] == 404 and missing["code"] == "NOT_FOUND"


def test_text_logs_by_default(live_server, clients):
    server = live_server(env={"ACCESS_LOG": ""})
    user, token = api_user(server, unique_name("t"))
    assert get(server, token, "/api/v1/rooms", "plain-7").status_code == 200
    sock = clients(server, token)
    assert sock.call("typing", {"room_id": "x"})["error"]["code"] == "VALIDATION_ERROR"
    wait_until(lambda: "socket typing VALIDATION_ERROR" in server.log_text(), 10, "the typing line")
    text = server.log_text()
    assert "GET /api/v1/rooms 200 - " in text and f"user={user['id']} request_id=plain-7" in text
    assert not access_lines(server)
