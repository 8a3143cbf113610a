"""Fixtures that run the real server (gunicorn + eventlet by default) as a subprocess.

- `live_server(backend="sqlite", *, database=, peer=, async_mode=, redis_url=,
  message_queue_url=, instance_dir=, env=, start=True)`: a factory; every server it
  starts is stopped, and every database it creates dropped, after the test.
- `live_database(backend)`: a factory for a fresh database to start several nodes on.
- `server`: one running node per test module, on SQLite and then on MariaDB.

A module that wants its own long-lived servers builds them with `live.ServerFarm`.
"""
from contextlib import contextmanager

import pytest

from . import live
from .chat_client import ChatClient


@contextmanager
def server_farm(tmp_path_factory):
    farm = live.ServerFarm(tmp_path_factory)
    try:
        yield farm
    finally:
        farm.close()


@pytest.fixture
def live_server(tmp_path_factory):
    with server_farm(tmp_path_factory) as farm:
        yield farm.server


@pytest.fixture
def live_database(tmp_path_factory):
    with server_farm(tmp_path_factory) as farm:
        yield farm.database


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def server(request, tmp_path_factory):
    """A running eventlet node shared by a module's tests (they use unique usernames)."""
    with server_farm(tmp_path_factory) as farm:
        yield farm.server(request.param)


@pytest.fixture
def clients():
    """Open a connected `ChatClient(server, token, **kwargs)`; closed after the test."""
    opened = []

    def open_client(server, token, **kwargs):
        client = ChatClient(server, token, **kwargs).connect()
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test shows the tail of every running server's log."""
    report = yield
    if report.failed:
        for title, tail in live.running_logs():
            report.sections.append((title, tail))
    return report
