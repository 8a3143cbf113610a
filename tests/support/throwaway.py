"""Private MariaDB and Redis servers that a fault test may stop and start at will,
without touching the machine's shared ones. Each runs from the installed binaries in a
temporary directory, on a free port of 127.0.0.1."""

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pymysql

from .launcher import free_port
from .polling import wait_until
from .services import port_open, require


class _Throwaway:
    """A server process of the test's own, in `self.process`."""

    def stop(self):
        """Kill it, as a crash or an operator would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        self.process = None


class ThrowawayMariaDB(_Throwaway):
    """`mariadbd` on its own data directory; `stop()` kills it, `start()` brings it back
    with the same data."""

    BINARY, INSTALL = "/usr/sbin/mariadbd", shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"

    def __init__(self, workdir):
        require(os.path.exists(self.BINARY) and os.path.exists(self.INSTALL), "mariadbd and mariadb-install-db")
        self.dir = Path(workdir)
        self.data = self.dir / "data"
        self.port = free_port()
        self.process = None
        self.backend, self.migrated = "mariadb", False  # what LiveServer needs of a database
        subprocess.run(
            [
                self.INSTALL,
                "--no-defaults",
                f"--datadir={self.data}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    @property
    def url(self):
        return f"mysql://root@127.0.0.1:{self.port}/webchat"

    def start(self):
        self.process = subprocess.Popen(
            [
                self.BINARY,
                "--no-defaults",
                f"--datadir={self.data}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.dir / 'mysqld.sock'}",
                f"--pid-file={self.dir / 'mysqld.pid'}",
                "--user=root",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_bin",
            ],
            stdout=open(self.dir / "mariadb.log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: port_open("127.0.0.1", self.port), 60, "the throwaway MariaDB to come up")
        with pymysql.connect(host="127.0.0.1", port=self.port, user="root") as conn, conn.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS webchat CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        return self

    def query(self, sql, *args):
        with pymysql.connect(host="127.0.0.1", port=self.port, user="root", database="webchat") as conn:
            with conn.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), args)
                return [tuple(r) for r in cur.fetchall()]


class ThrowawayRedis(_Throwaway):
    """`redis-server` on a free port, keeping nothing on disk."""

    def __init__(self, workdir):
        require(shutil.which("redis-server") is not None, "redis-server")
        self.dir = Path(workdir)
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=open(self.dir / "redis.log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: port_open("127.0.0.1", self.port), 30, "the throwaway Redis to come up")
        return self
