"""Layered fixtures: backend -> app -> client -> users -> socket clients.

Every test that uses `app` runs twice, on SQLite and on MariaDB, against a schema built
by the project's own migrations.
"""
import contextvars
import shutil
import uuid

import pymysql
import pytest
import sqlalchemy as sa

from flask.testing import FlaskClient

from config import TestConfig, database_uri
from webchat import create_app
from webchat.extensions import db, socketio
from webchat.services import accounts

from .support import MARIADB_SERVER_URL, require_mariadb

PASSWORD = "correct horse battery"


def config_for(uri, tmp_path):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = uri
        UPLOAD_DIR = str(tmp_path / "uploads")

    return Config


def _migrate(uri, tmp_path):
    from flask_migrate import upgrade

    app = create_app(config_for(uri, tmp_path))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _mysql_admin():
    url = sa.engine.make_url(database_uri(MARIADB_SERVER_URL))
    return pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "")


class Backend:
    """A migrated database for the session; `fresh(tmp_path)` gives each test an empty one."""

    def __init__(self, name, tmp_path_factory):
        self.name = name
        self.tmp = tmp_path_factory.mktemp(f"db-{name}")
        if name == "sqlite":
            self.template = self.tmp / "template.db"
            _migrate(f"sqlite:///{self.template}", self.tmp)
        else:
            self.database = f"webchat_test_{uuid.uuid4().hex[:10]}"
            with _mysql_admin() as conn, conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {self.database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            self.url = database_uri(f"{MARIADB_SERVER_URL.rstrip('/')}/{self.database}")
            _migrate(self.url, self.tmp)

    def fresh(self, tmp_path):
        if self.name == "sqlite":
            target = tmp_path / "webchat.db"
            shutil.copy(self.template, target)
            return f"sqlite:///{target}"
        engine = sa.create_engine(self.url)
        with engine.begin() as conn:
            conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(sa.text(f"DELETE FROM {table.name}"))
            conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))
        engine.dispose()
        return self.url

    def drop(self):
        if self.name == "mariadb":
            with _mysql_admin() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {self.database}")


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
    for app, context in reversed(apps):
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


def login(client, user, password=PASSWORD):
    """Log `client` in through the real form."""
    response = client.post("/auth/login", data={"username": user.username, "password": password})
    assert response.status_code == 302, response.text
    return client


@pytest.fixture
def alice_client(app, alice):
    return login(app.test_client(), alice)


def bearer(user):
    """An Authorization header with a fresh access token for `user`."""
    return {"Authorization": f"Bearer {accounts.issue_access_token(user)['access_token']}"}


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
