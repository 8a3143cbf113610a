"""Which local services the tests may use: their addresses, and the require_* helpers
that skip a test on a machine without one (and fail it under CI=true)."""

import os
import shutil
import socket

import pytest

CI = os.environ.get("CI", "").lower() == "true"
MARIADB_HOST, MARIADB_PORT = "127.0.0.1", 3306
MARIADB_SERVER_URL = os.environ.get("TEST_MARIADB_URL", f"mysql://root@{MARIADB_HOST}:{MARIADB_PORT}")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


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


def require_rabbitmq():
    require(port_open("127.0.0.1", 5672), "RabbitMQ at 127.0.0.1:5672")


def require_chromium():
    require(os.path.exists(CHROMIUM), f"Chromium at {CHROMIUM} (apt-get install chromium)")


def require_nginx():
    require(os.path.exists(NGINX), f"nginx at {NGINX} (apt-get install nginx-light)")
