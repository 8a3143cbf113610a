"""The real server for the integration and browser tests, started by `launcher.py` the
way `make run` and the Procfile start it.

`LiveDatabase` is a fresh database (a SQLite file or a MariaDB schema); `LiveServer` is
one gunicorn node on it; `ServerFarm` starts both on demand and tears everything down.
The fixtures in tests/conftest.py and the integration and browser conftests are thin
over these. Nothing here imports `wsgi.py` or the app: the server runs only in its own
process.
"""

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import pymysql
import pytest

from . import launcher
from .services import MARIADB_SERVER_URL, require_mariadb

START_TIMEOUT = 30


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
            host=url.hostname or "127.0.0.1",
            port=url.port or 3306,
            user=url.username or "root",
            password=url.password or "",
            charset="utf8mb4",
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

    def execute(self, sql, *args):
        """Run one write (placeholders `?`) directly on the database and commit it: for a
        test that needs stored data the API cannot make (a message sent days ago)."""
        if self.backend == "sqlite":
            with closing(sqlite3.connect(self.workdir / "webchat.db")) as conn, conn:
                conn.execute(sql, args)
            return
        with self._admin() as conn, conn.cursor() as cur:
            cur.execute(f"USE `{self.name}`")
            cur.execute(sql.replace("?", "%s"), args)
            conn.commit()

    def execute_many(self, sql, rows):
        """Run one write (placeholders `?`) for each of `rows` in one transaction: for a
        test that needs a long history faster than sending it would take."""
        if self.backend == "sqlite":
            with closing(sqlite3.connect(self.workdir / "webchat.db")) as conn, conn:
                conn.executemany(sql, rows)
            return
        with self._admin() as conn, conn.cursor() as cur:
            cur.execute(f"USE `{self.name}`")
            cur.executemany(sql.replace("?", "%s"), rows)
            conn.commit()

    def drop(self):
        if self.backend == "mariadb" and self.name:
            with self._admin() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
            self.name = None

    def __repr__(self):
        return f"<LiveDatabase {self.backend} {self.url}>"


class LiveServer(launcher.WebchatServer):
    """One gunicorn node on a `LiveDatabase` (or anything with its `url` and `migrated`):
    `start()` migrates the database once, whichever node starts first, and fails the test
    with the server's log if the node does not come up."""

    def __init__(
        self,
        database,
        workdir,
        *,
        async_mode="eventlet",
        redis_url=None,
        message_queue_url=None,
        instance_dir=None,
        env=None,
        port=None,
    ):
        self.database = database
        self.redis_url = redis_url
        self.message_queue_url = message_queue_url
        self.extra_env = dict(env or {})
        settings = {"ACCESS_LOG": "-"}
        if redis_url:
            settings["REDIS_URL"] = redis_url
        if message_queue_url:
            settings["MESSAGE_QUEUE_URL"] = message_queue_url
        super().__init__(
            database.url,
            workdir,
            async_mode=async_mode,
            instance_dir=instance_dir,
            env={**settings, **self.extra_env},
            port=port,
        )

    def start(self, timeout=START_TIMEOUT):
        """Start gunicorn (again, on the same port, after `stop()` or `kill()`) and wait
        until GET /healthz answers 200."""
        try:
            if not self.database.migrated:
                self.migrate()
                self.database.migrated = True
            return super().start(timeout)
        except launcher.LaunchError as error:
            pytest.fail(str(error), pytrace=False)

    def __repr__(self):
        return f"<LiveServer {self.url} {self.async_mode} {self.database.backend}>"


class ServerFarm:
    """Starts databases and servers on request, and stops and drops all of them on `close()`
    (or at the end of its `with` block)."""

    def __init__(self, tmp_path_factory):
        self.tmp = tmp_path_factory
        self.servers = []
        self.databases = []

    def database(self, backend="sqlite"):
        database = LiveDatabase(backend, self.tmp.mktemp(f"db-{backend}"))
        self.databases.append(database)
        return database

    def server(
        self,
        backend="sqlite",
        *,
        database=None,
        peer=None,
        async_mode=None,
        redis_url=None,
        message_queue_url=None,
        instance_dir=None,
        env=None,
        start=True,
    ):
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
            database,
            self.tmp.mktemp("server"),
            async_mode=async_mode or "eventlet",
            redis_url=redis_url,
            message_queue_url=message_queue_url,
            instance_dir=instance_dir,
            env=env,
        )
        self.servers.append(server)
        return server.start() if start else server

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    def close(self):
        # gunicorn takes about two seconds to shut down: let every node do it at once.
        for server in self.servers:
            server.terminate()
        for server in reversed(self.servers):
            server.stop()
        for database in self.databases:
            database.drop()


def running_logs():
    """(title, tail) of every running server's log, for a failing test's report."""
    return [(f"live server {s.url} log", s.log_tail()) for s in list(launcher.RUNNING)]
