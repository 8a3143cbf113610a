"""Helpers the fixtures and tests share: which local services are up, free ports, and
running service calls at the same moment."""
import os
import socket
import threading

import pytest

from webchat.errors import ChatError
from webchat.extensions import db
from webchat.services import accounts

CI = os.environ.get("CI", "").lower() == "true"
MARIADB_HOST, MARIADB_PORT = "127.0.0.1", 3306
MARIADB_SERVER_URL = os.environ.get("TEST_MARIADB_URL", f"mysql://root@{MARIADB_HOST}:{MARIADB_PORT}")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def port_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require(available, what):
    """Skip with a reason on a laptop without `what`; under CI=true its absence fails."""
    if available:
        return
    if CI:
        pytest.fail(f"{what} is required when CI=true but is not available")
    pytest.skip(f"{what} is not available on this machine")


def require_mariadb():
    require(port_open(MARIADB_HOST, MARIADB_PORT), f"MariaDB at {MARIADB_HOST}:{MARIADB_PORT}")


def require_redis():
    require(port_open("127.0.0.1", 6379), "Redis at 127.0.0.1:6379")


def require_chromium():
    require(os.path.exists(CHROMIUM), f"Chromium at {CHROMIUM} (apt-get install chromium)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_together(app, *calls):
    """Run calls at the same moment in threads with their own app contexts; returns
    each outcome ("ok" or the error code)."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call, args):
        with app.app_context():
            users = [accounts.get_user(a.id) if hasattr(a, "username") else a for a in args]
            barrier.wait()
            try:
                call(*users)
                outcomes[i] = "ok"
            except ChatError as error:
                outcomes[i] = error.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c[0], c[1:])) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def at_once(function, items):
    """Call `function(item)` for every item, each in a thread, all released together."""
    items = list(items)
    start = threading.Barrier(len(items))

    def run(item):
        start.wait()
        function(item)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
