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


def per_ip(setting, exempt_when=None):
    """A Flask-Limiter decorator whose limit is the config value `setting` (POST only);
    requests for which `exempt_when()` is true are not limited nor counted."""
    return limiter.limit(
        lambda: current_app.config[setting],
        methods=["POST"],
        on_breach=lambda _limit: metrics.RATE_LIMITED.labels(setting).inc(),
        exempt_when=exempt_when,
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


# Growing delays after repeated failures (wrong passwords): the first LOGIN_FREE_FAILURES
# failures of a key cost nothing; each one after starts a wait of LOGIN_DELAY_SECONDS that
# doubles with each further failure, up to LOGIN_DELAY_MAX_SECONDS. The count is
# forgotten a day after the key's first failure, or at once on a success (`succeeded`).
FAILURES_MEMORY_SECONDS = 86400


def _delay_keys(scope, keys):
    base = ":".join((current_app.config["RATELIMIT_KEY_PREFIX"], "delay", scope, *map(str, keys)))
    return base + ":failures", base + ":wait"


def _delay_storage(scope, keys, action):
    """`action(storage, failures_key, wait_key)`, or None when limits are off or the
    storage is down (served rather than refused, as for every limit)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    try:
        return action(limiter.storage, *_delay_keys(scope, keys))
    except Exception:  # noqa: BLE001 - the storage is down: serve rather than refuse
        current_app.logger.warning("rate limit storage unavailable", exc_info=True)
        return None


def wait_seconds(scope, *keys):
    """How long `keys` must still wait after their failures (0: not at all)."""

    def remaining(storage, _failures, wait):
        return max(0, int(storage.get_expiry(wait) - time.time() + 0.999)) if storage.get(wait) else 0

    return _delay_storage(scope, keys, remaining) or 0


def failed(scope, *keys):
    """Count one failure for `keys`; past the free ones, start their (doubled) wait."""

    def count_failure(storage, failures, wait):
        config = current_app.config
        over = storage.incr(failures, FAILURES_MEMORY_SECONDS) - config["LOGIN_FREE_FAILURES"]
        if over > 0:
            delay = min(config["LOGIN_DELAY_SECONDS"] * 2 ** min(over - 1, 32), config["LOGIN_DELAY_MAX_SECONDS"])
            storage.clear(wait)
            storage.incr(wait, delay)

    _delay_storage(scope, keys, count_failure)


def succeeded(scope, *keys):
    """Forget the failures of `keys` (the right password was given)."""

    def forget(storage, failures, wait):
        storage.clear(failures)
        storage.clear(wait)

    _delay_storage(scope, keys, forget)


def refuse_while_waiting(scope, *keys, message=None):
    """RATE_LIMITED, with `retry_after`, while `keys` wait after their failures."""
    if seconds := wait_seconds(scope, *keys):
        metrics.RATE_LIMITED.labels(f"delay:{scope}").inc()
        raise ChatError("RATE_LIMITED", message(seconds) if message else None, retry_after=seconds)
