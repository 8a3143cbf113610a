"""Layered fixtures: backend -> app -> client -> users -> socket clients, what realtime
sends, and the real servers that the integration and browser tests share.

Every test that uses `app` runs twice, on SQLite and on MariaDB, against a schema built
by the project's own migrations. Helpers live in tests/support/, never here.
"""

import contextvars
import uuid

import pytest
from flask.testing import FlaskClient

from webchat import create_app, realtime
from webchat.extensions import db, socketio
from webchat.services import accounts

from .support import live
from .support.accounts import PASSWORD, login
from .support.databases import Backend, config_for
from .support.services import require_mariadb


@pytest.fixture(scope="session", params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def backend(request, tmp_path_factory):
    if request.param == "mariadb":
        require_mariadb()
    backend = Backend(request.param, tmp_path_factory)
    yield backend
    backend.drop()


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, as under a real server.

    The `app` fixture keeps an app context pushed for the whole test, and Flask would reuse
    it for requests: `g` (where Flask-Login caches the current user) would then carry one
    client's login into any other client's next request."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app_with(backend, tmp_path):
    """Build the test app with config overrides: `app_with(RATELIMIT_ENABLED=True)`."""
    apps = []

    def build(**overrides):
        config = type("OverriddenConfig", (config_for(backend.fresh(tmp_path), tmp_path),), overrides)
        app = create_app(config)
        app.test_client_class = IsolatedClient
        context = app.app_context()
        context.push()
        apps.append((app, context))
        return app

    yield build
    for _app, context in reversed(apps):
        db.session.remove()
        db.engine.dispose()
        context.pop()


@pytest.fixture
def app(app_with):
    return app_with()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Create a user (password PASSWORD); the name is unique unless given."""

    def make(username=None, password=PASSWORD):
        return accounts.signup(username or f"user{uuid.uuid4().hex[:8]}", password)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def alice_client(app, alice):
    return login(app.test_client(), alice)


@pytest.fixture
def connect(app):
    """Open a /chat socket for a user (or with explicit auth); closed after the test."""
    sockets = []

    def open_socket(user=None, auth=None):
        if auth is None:
            auth = {"token": accounts.issue_access_token(user)["access_token"]}
        sock = socketio.test_client(app, namespace="/chat", auth=auth)
        sockets.append(sock)
        return sock

    yield open_socket
    for sock in sockets:
        if sock.is_connected("/chat"):
            sock.disconnect("/chat")


@pytest.fixture
def sent_events(monkeypatch):
    """Every event realtime sends from now on, as (event, data, to), instead of emitting
    it: with no message queue (TestConfig has none) every emit goes through `emit_now`."""
    events = []
    monkeypatch.setattr(
        realtime.events, "emit_now", lambda event, data, to, skip_sid=None: events.append((event, data, to))
    )
    return events


@pytest.fixture
def live_server(tmp_path_factory):
    """Start a real server: `live_server(backend="sqlite", *, database=, peer=, async_mode=,
    redis_url=, message_queue_url=, instance_dir=, env=, start=True)`; every server it
    starts is stopped, and every database it creates dropped, after the test."""
    with live.ServerFarm(tmp_path_factory) as farm:
        yield farm.server


@pytest.fixture
def live_database(tmp_path_factory):
    """Create a fresh database (`live_database(backend)`) to start several nodes on."""
    with live.ServerFarm(tmp_path_factory) as farm:
        yield farm.database


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test shows the tail of every running server's log."""
    report = yield
    if report.failed:
        for title, tail in live.running_logs():
            report.sections.append((title, tail))
    return report
