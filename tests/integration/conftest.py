"""Fixtures for the tests against the real server (gunicorn + eventlet by default), as a
subprocess. `live_server` and `live_database` (tests/conftest.py) start servers and
databases on demand; here:

- `server`: one running node per test module, on SQLite and then on MariaDB.
- `clients`: python-socketio clients connected to a server, closed after the test.

A module that wants its own long-lived servers builds them with `live.ServerFarm`.
"""

import pytest

from ..support import live
from ..support.chat_client import ChatClient


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def server(request, tmp_path_factory):
    """A running eventlet node shared by a module's tests (they use unique usernames)."""
    with live.ServerFarm(tmp_path_factory) as farm:
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
