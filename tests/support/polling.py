"""Waiting, up to a deadline, for what another process or thread does."""

import time


def wait_until(predicate, timeout, what, interval=0.1):
    """Return once `predicate()` is true; fail, naming `what`, after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
