"""The real server as a subprocess, started the way `make run` and the Procfile start it.

`LiveDatabase` is a fresh database (a SQLite file or a MariaDB schema); `LiveServer` is
one gunicorn node on it; `ServerFarm` starts both on demand and tears everything down.
The fixtures in `conftest.py` (and the browser tests' conftest) are thin over these.
Nothing here imports `wsgi.py` or the app: the server runs only in its own process.
"""
import atexit
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pymysql
import pytest
import requests

from ..support import MARIADB_SERVER_URL, free_port, require_mariadb

ROOT = Path(__file__).resolve().parents[2]
# The venv's bin directory, without resolving the interpreter's symlink out of the venv.
BIN = Path(sys.executable).parent
START_TIMEOUT = 30
STOP_TIMEOUT = 15
# Variables the server reads that must come from the test, never from the caller's shell.
SERVER_VARIABLES = (
    "DATABASE_URL", "REDIS_URL", "MESSAGE_QUEUE_URL", "ASYNC_MODE", "HOST", "PORT",
    "WEBCHAT_ENV", "WEBCHAT_INSTANCE_DIR", "WEBCHAT_NO_PATCH", "SECRET_KEY", "JWT_SECRET_KEY",
    "UPLOAD_DIR", "SOCKETIO_ALLOWED_ORIGINS", "SESSION_COOKIE_SECURE", "FLASK_APP",
    "GUNICORN_CMD_ARGS", "RATELIMIT_ENABLED", "CLUSTER_NAME",
)

# Servers still running, so a failing test can show their logs and an interrupted run
# leaves no process behind.
RUNNING = []


class LiveDatabase:
    """An empty database for one test's servers: `backend` is "sqlite" or "mariadb"."""

    def __init__(self, backend, workdir):
        if backend not in ("sqlite", "mariadb"):
            raise ValueError(f"unknown backend {backend!r}")
        self.backend = backend
        self.workdir = Path(workdir)
        self.migrated = False
        self.name = None
        if backend == "sqlite":
            self.url = f"sqlite:///{self.workdir / 'webchat.db'}"
        else:
            require_mariadb()
            self.name = f"webchat_it_{uuid.uuid4().hex[:10]}"
            with self._admin() as conn, conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
            # The plain mysql:// form an operator would write; config.py picks the driver.
            self.url = f"{MARIADB_SERVER_URL.rstrip('/')}/{self.name}"

    @staticmethod
    def _admin():
        url = urlsplit(MARIADB_SERVER_URL)
        return pymysql.connect(
            host=url.hostname or "127.0.0.1", port=url.port or 3306,
            user=url.username or "root", password=url.password or "", charset="utf8mb4",
        )

    def query(self, sql, *args):
        """Rows of `sql` (placeholders `?`), run directly on the database: for assertions
        on what the server stored, bypassing the app."""
        if self.backend == "sqlite":
            with closing(sqlite3.connect(self.workdir / "webchat.db")) as conn:
                return [tuple(row) for row in conn.execute(sql, args)]
        with self._admin() as conn, conn.cursor() as cur:
            cur.execute(f"USE `{self.name}`")
            cur.execute(sql.replace("?", "%s"), args)
            return [tuple(row) for row in cur.fetchall()]

    def drop(self):
        if self.backend == "mariadb" and self.name:
            with self._admin() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
            self.name = None

    def __repr__(self):
        return f"<LiveDatabase {self.backend} {self.url}>"


class LiveServer:
    """One gunicorn node: `start()` migrates its database (once) and waits for /healthz."""

    def __init__(self, database, workdir, *, async_mode="eventlet", redis_url=None,
                 message_queue_url=None, instance_dir=None, env=None, port=None):
        self.database = database
        self.workdir = Path(workdir)
        self.async_mode = async_mode
        self.redis_url = redis_url
        self.message_queue_url = message_queue_url
        # Nodes of one cluster share it: same secrets (sessions and tokens work on every
        # node) and same upload folder.
        self.instance_dir = Path(instance_dir) if instance_dir else self.workdir / "instance"
        self.extra_env = dict(env or {})
        self.port = port or free_port()
        self.log_path = self.workdir / "server.log"
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    def environment(self):
        env = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
        env.update(
            FLASK_APP="wsgi",
            HOST="127.0.0.1",
            PORT=str(self.port),
            DATABASE_URL=self.database.url,
            WEBCHAT_INSTANCE_DIR=str(self.instance_dir),
            ASYNC_MODE=self.async_mode,
            # Tests sign up many users from one address; the rate-limit tests switch this on.
            RATELIMIT_ENABLED="false",
            ARGON2_TIME_COST="1",
            ARGON2_MEMORY_COST="8192",
            ACCESS_LOG="-",
            PYTHONUNBUFFERED="1",
            # gunicorn 25 puts its control socket in $XDG_RUNTIME_DIR (else ~/.gunicorn):
            # one per node, or concurrent nodes take each other's.
            XDG_RUNTIME_DIR=str(self.workdir),
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        if self.message_queue_url:
            env["MESSAGE_QUEUE_URL"] = self.message_queue_url
        env.update({k: str(v) for k, v in self.extra_env.items()})
        return env

    def migrate(self):
        """`flask db upgrade`, unpatched, as `make migrate` and the Procfile's release run it."""
        env = self.environment()
        env["WEBCHAT_NO_PATCH"] = "1"
        with open(self.log_path, "ab") as log:
            log.write(b"$ flask db upgrade\n")
            log.flush()
            try:
                result = subprocess.run(
                    [str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env,
                    stdout=log, stderr=subprocess.STDOUT, timeout=120,
                )
            except subprocess.TimeoutExpired:
                pytest.fail(f"flask db upgrade timed out\n{self.log_tail()}", pytrace=False)
        if result.returncode != 0:
            pytest.fail(f"flask db upgrade failed ({result.returncode})\n{self.log_tail()}", pytrace=False)
        self.database.migrated = True

    def start(self, timeout=START_TIMEOUT):
        """Start gunicorn (again, on the same port, after `stop()` or `kill()`) and wait
        until GET /healthz answers 200."""
        if self.alive:
            return self
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        if not self.database.migrated:
            self.migrate()
        with open(self.log_path, "ab") as log:
            log.write(b"$ gunicorn -c gunicorn.conf.py wsgi:app\n")
            log.flush()
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        RUNNING.append(self)
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._forget()
                pytest.fail(
                    f"server exited with {self.process.returncode} while starting\n{self.log_tail()}",
                    pytrace=False,
                )
            try:
                response = requests.get(f"{self.url}/healthz", timeout=2)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"/healthz not 200 within {timeout}s (last: {last})\n{self.log_tail()}", pytrace=False)

    def _signal(self, sig):
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def terminate(self):
        """Ask for a graceful shutdown (SIGTERM) without waiting for it."""
        if self.alive:
            self._signal(signal.SIGTERM)

    def stop(self, timeout=STOP_TIMEOUT):
        """Graceful shutdown (SIGTERM), then SIGKILL if it lingers past `timeout`."""
        if self.process is None:
            return
        self.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def kill(self):
        """SIGKILL the master and its worker at once: a node that crashes."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._forget()

    def _forget(self):
        if self in RUNNING:
            RUNNING.remove(self)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=60):
        tail = self.log_text().splitlines()[-lines:]
        return f"--- {self.log_path} (last {len(tail)} lines) ---\n" + "\n".join(tail)

    def __repr__(self):
        return f"<LiveServer {self.url} {self.async_mode} {self.database.backend}>"


class ServerFarm:
    """Starts databases and servers on request, and stops and drops all of them on `close()`."""

    def __init__(self, tmp_path_factory):
        self.tmp = tmp_path_factory
        self.servers = []
        self.databases = []

    def database(self, backend="sqlite"):
        database = LiveDatabase(backend, self.tmp.mktemp(f"db-{backend}"))
        self.databases.append(database)
        return database

    def server(self, backend="sqlite", *, database=None, peer=None, async_mode=None,
               redis_url=None, message_queue_url=None, instance_dir=None, env=None, start=True):
        """A started `LiveServer`. `peer=` another node: share its database, secrets,
        uploads, async mode and queue (each overridable), as nodes of one cluster do."""
        if peer is not None:
            database = database or peer.database
            instance_dir = instance_dir or peer.instance_dir
            async_mode = async_mode or peer.async_mode
            redis_url = redis_url or peer.redis_url
            message_queue_url = message_queue_url or peer.message_queue_url
            env = {**peer.extra_env, **(env or {})}
        if database is None:
            database = self.database(backend)
        server = LiveServer(
            database, self.tmp.mktemp("server"), async_mode=async_mode or "eventlet",
            redis_url=redis_url, message_queue_url=message_queue_url,
            instance_dir=instance_dir, env=env,
        )
        self.servers.append(server)
        return server.start() if start else server

    def close(self):
        # gunicorn takes about two seconds to shut down: let every node do it at once.
        for server in self.servers:
            server.terminate()
        for server in reversed(self.servers):
            server.stop()
        for database in self.databases:
            database.drop()


@atexit.register
def _kill_leftovers():
    for server in list(RUNNING):
        server.kill()


def running_logs():
    """(title, tail) of every running server's log, for a failing test's report."""
    return [(f"live server {s.url} log", s.log_tail()) for s in list(RUNNING)]


class _CsrfParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.token = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.token:
            return
        if tag == "meta" and attrs.get("name") == "csrf-token":
            self.token = attrs.get("content")
        elif tag == "input" and attrs.get("name") == "csrf_token":
            self.token = attrs.get("value")


def csrf_token_in(html):
    """The CSRF token of a page: its `<meta name="csrf-token">` or hidden `csrf_token` input."""
    parser = _CsrfParser()
    parser.feed(html)
    assert parser.token, "the page carries no CSRF token"
    return parser.token


def csrf_token(session, url):
    """GET `url` with `session` (a requests.Session) and return the page's CSRF token,
    which is bound to that session's cookie."""
    response = session.get(url, timeout=10)
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return csrf_token_in(response.text)


def unique_name(prefix="user"):
    """A username no other test of a shared server uses."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"
