"""Rate limits. Per-IP limits on the HTTP login, signup and token endpoints are Flask-Limiter
decorators (`per_ip`); limits per user or username, which hold for the socket too, are
applied by the services with `check`, `refuse_if_over` and `count`, and `once_per`
coalesces what may be repeated but need not be relayed each time (typing). Both share one
storage: Redis when configured, so that a limit holds across nodes, every key under
RATELIMIT_KEY_PREFIX (the cluster's name), so that two deployments sharing a Redis keep
counters of their own. A storage outage lets requests through rather than refusing
everyone."""

import time

from flask import current_app
from limits import RateLimitItemPerSecond, parse

from . import metrics
from .errors import ChatError
from .extensions import limiter


def per_ip(setting):
    """A Flask-Limiter decorator whose limit is the config value `setting` (POST only)."""
    return limiter.limit(
        lambda: current_app.config[setting],
        methods=["POST"],
        on_breach=lambda _limit: metrics.RATE_LIMITED.labels(setting).inc(),
    )


def _apply(method, setting, keys, item=None):
    """(allowed, item, keys) for the limit named by config `setting` (or `item`), counted
    under the deployment's prefix, the setting's name and `keys`."""
    config = current_app.config
    item = item or parse(config[setting])
    keys = (config["RATELIMIT_KEY_PREFIX"], setting, *map(str, keys))
    if not config.get("RATELIMIT_ENABLED", True):
        return True, item, keys
    try:
        return getattr(limiter.limiter, method)(item, *keys), item, keys
    except Exception:  # noqa: BLE001 - the storage is down: serve rather than refuse
        current_app.logger.warning("rate limit storage unavailable", exc_info=True)
        return True, item, keys


def _refuse(item, keys):
    metrics.RATE_LIMITED.labels(keys[1]).inc()
    reset = limiter.limiter.get_window_stats(item, *keys).reset_time
    raise ChatError("RATE_LIMITED", retry_after=max(1, int(reset - time.time() + 0.999)))


def check(setting, *keys):
    """Count one action for `keys`; RATE_LIMITED when it goes over the limit."""
    allowed, item, keys = _apply("hit", setting, keys)
    if not allowed:
        _refuse(item, keys)


def refuse_if_over(setting, *keys):
    """RATE_LIMITED if `keys` are already over the limit; counts nothing."""
    allowed, item, keys = _apply("test", setting, keys)
    if not allowed:
        _refuse(item, keys)


def count(setting, *keys):
    """Count one action (a failed login, say) without refusing this one."""
    _apply("hit", setting, keys)


def once_per(setting, *keys):
    """Whether this is the first time for `keys` in the last config `setting` seconds
    (0: always): true is counted, false is not, so that at most one a period passes."""
    seconds = current_app.config[setting]
    if seconds <= 0:
        return True
    return _apply("hit", setting, keys, RateLimitItemPerSecond(1, seconds))[0]
