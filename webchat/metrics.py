"""What the operator watches: Prometheus metrics, served at `GET /metrics` when
METRICS_ENABLED is on, to a bearer token (METRICS_TOKEN) or an address on the allow-list
(METRICS_ALLOW), and the headline figures the admin area shows (`headline()`).

The figures are prometheus_client's own metric objects, module-wide like its default
registry: counting is an add under a lock held for microseconds, never across I/O.
One small sampler task per process wakes every second, notes how late it woke (the
event-loop lag) and sets the gauges of the process's state (sockets, users online, pooled
connections in use), which each scrape sets afresh too.

Several workers on one host: with PROMETHEUS_MULTIPROC_DIR set (an empty directory, one
per host, before the workers start), prometheus_client keeps each process's figures in
files there and a scrape of any worker adds them up (gauges as the live processes' sum,
see `multiprocess_mode`). Without it every process counts for itself, which is
right for the Procfile's one worker.

Nothing here imports the services, the adapters or the delivery layer: they call in.
"""

import hmac
import ipaddress
import os
import time

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from .extensions import db, socketio

SAMPLE_SECONDS = 1.0
# Socket.IO events and queue publishes take milliseconds; a slow one takes seconds.
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

SOCKETS = Gauge(
    "webchat_connected_sockets",
    "Sockets connected to this process (summed over a host's workers).",
    multiprocess_mode="livesum",
)
USERS_ONLINE = Gauge(
    "webchat_users_online",
    "Users with at least one socket on this process (a user on two workers counts twice).",
    multiprocess_mode="livesum",
)
DB_POOL_IN_USE = Gauge(
    "webchat_db_pool_in_use", "Database connections checked out of this process's pool.", multiprocess_mode="livesum"
)
LOOP_LAG = Histogram(
    "webchat_event_loop_lag_seconds",
    "How late the sampler wakes from each one-second sleep: time the event loop was held up.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
MESSAGES_STORED = Counter("webchat_messages_stored", "Messages stored (text and file messages), after commit.")
SEND_LATENCY = Histogram(
    "webchat_send_latency_seconds",
    "send_message, from its arrival to its ack, for sends answered ok.",
    buckets=FAST_BUCKETS,
)
QUEUE_PUBLISH = Histogram(
    "webchat_queue_publish_seconds", "One publish to the message queue (Redis or RabbitMQ).", buckets=FAST_BUCKETS
)
ROUND_SECONDS = Histogram(
    "webchat_round_seconds",
    "One coalesced round (unread counts, online counts, ...), read and sent.",
    ["round"],
    buckets=FAST_BUCKETS,
)
RATE_LIMITED = Counter("webchat_rate_limit_refusals", "Actions refused by a rate limit, by its setting.", ["limit"])
ERRORS = Counter("webchat_errors", "Error answers by catalogue code, over HTTP or a socket ack.", ["code", "transport"])

bp = Blueprint("metrics", __name__)
_SAMPLER = "webchat.metrics.sampler"
_ALLOW = "webchat.metrics.allow"
_last = {"lag": None}  # this process's latest loop lag, for the headline


def init_app(app):
    """Serve /metrics when the setting says so; start the sampler with the first request."""
    if not app.config.get("METRICS_ENABLED"):
        return
    allow = app.config.get("METRICS_ALLOW") or ""
    app.extensions[_ALLOW] = parse_allow_list(allow if isinstance(allow, str) else ",".join(allow))
    app.register_blueprint(bp)
    app.before_request(lambda: start_sampler(app))


def headline():
    """This process's (or, in multiprocess mode, this host's) headline figures, for the
    admin area, in an app context: a dict of numbers (None where nothing was measured
    yet). The figures count whether or not METRICS_ENABLED serves them."""
    sample()
    values = {}
    for family in _registry().collect():
        for s in family.samples:
            values[s.name] = values.get(s.name, 0) + s.value
    sends, send_sum = (
        values.get("webchat_send_latency_seconds_count", 0),
        values.get("webchat_send_latency_seconds_sum", 0),
    )
    return {
        "connected_sockets": int(values.get("webchat_connected_sockets", 0)),
        "users_online": int(values.get("webchat_users_online", 0)),
        "messages_stored": int(values.get("webchat_messages_stored_total", 0)),
        "mean_send_seconds": send_sum / sends if sends else None,
        "event_loop_lag_seconds": _last["lag"],
        "db_pool_in_use": int(values.get("webchat_db_pool_in_use", 0)),
        "rate_limit_refusals": int(values.get("webchat_rate_limit_refusals_total", 0)),
        "errors": int(values.get("webchat_errors_total", 0)),
    }


def _registry():
    """The default registry, or in multiprocess mode one that reads every process's files."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


@bp.get("/metrics")
def scrape():
    if not _allowed():
        # No credentials where a token would do: 401; a wrong one, or an address off the list: 403.
        asked_for_token = current_app.config.get("METRICS_TOKEN") and not request.headers.get("Authorization")
        abort(401 if asked_for_token else 403)
    sample()
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def _allowed():
    """The bearer token matches METRICS_TOKEN, or the caller's address is in METRICS_ALLOW.
    With neither set, nobody is: an enabled endpoint is never open by accident."""
    token = current_app.config.get("METRICS_TOKEN")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in current_app.extensions[_ALLOW])


def sample():
    """Set the state gauges from this process (in an app context)."""
    realtime = current_app.extensions.get("webchat.realtime")
    if realtime is not None:
        sockets, users = realtime.presence.counts()
        SOCKETS.set(sockets)
        USERS_ONLINE.set(users)
    checkedout = getattr(db.engine.pool, "checkedout", None)
    if checkedout is not None:
        DB_POOL_IN_USE.set(checkedout())


def start_sampler(app):
    """Start this process's sampler task once per app (when metrics are on)."""
    if not app.config.get("METRICS_ENABLED") or app.extensions.get(_SAMPLER):
        return
    app.extensions[_SAMPLER] = True
    socketio.start_background_task(_sample_forever, app)


def _sample_forever(app):
    """Sleep a second, note how late the wake-up came (the event loop was busy for that
    long), sample the gauges; for as long as the Socket.IO server it started with."""
    server = socketio.server
    while socketio.server is server:
        asleep = time.monotonic()
        socketio.sleep(SAMPLE_SECONDS)
        lag = max(0.0, time.monotonic() - asleep - SAMPLE_SECONDS)
        LOOP_LAG.observe(lag)
        _last["lag"] = lag
        with app.app_context():
            try:
                sample()
            except Exception:  # noqa: BLE001 - a sampling hiccup must not end the task
                app.logger.warning("metrics sampling failed", exc_info=True)


def socket_event_done(event, code, seconds):
    """A socket event answered: `code` None for ok. Times stored sends."""
    if event == "send_message" and code is None:
        SEND_LATENCY.observe(seconds)


def error_answered(code, transport):
    ERRORS.labels(code, transport).inc()


def parse_allow_list(value):
    """METRICS_ALLOW: comma-separated addresses or networks (127.0.0.1, 10.0.0.0/8)."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip())
