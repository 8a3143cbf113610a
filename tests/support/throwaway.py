"""Private MariaDB and Redis servers that a fault test may stop and start at will,
without touching the machine's shared ones. Each runs from the installed binaries in a
temporary directory, on a free port of 127.0.0.1."""

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pymysql
import redis

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
    """`redis-server` on a free port, keeping nothing on disk; a replica of the Redis on
    port `replica_of` if given."""

    def __init__(self, workdir, replica_of=None):
        require(shutil.which("redis-server") is not None, "redis-server")
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.replica_of = replica_of
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
                *(["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else []),
            ],
            stdout=open(self.dir / "redis.log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: port_open("127.0.0.1", self.port), 30, "the throwaway Redis to come up")
        return self


class ThrowawaySentinels:
    """A Redis primary, one replica and three sentinels watching them (quorum 2), each on
    a free port: the setup webchat's `redis+sentinel://` URL is for. A primary the
    sentinels cannot reach for `down_after_ms` is failed over to the replica."""

    SERVICE = "webchat"

    def __init__(self, workdir, down_after_ms=1000):
        require(shutil.which("redis-server") is not None, "redis-server")
        self.dir = Path(workdir)
        self.primary = ThrowawayRedis(self.dir / "primary")
        self.replica = ThrowawayRedis(self.dir / "replica", replica_of=self.primary.port)
        self.down_after_ms = down_after_ms
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels = []

    @property
    def url(self):
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.SERVICE}/0"

    def start(self):
        self.primary.start()
        self.replica.start()
        for index, port in enumerate(self.sentinel_ports):
            workdir = self.dir / f"sentinel{index}"
            workdir.mkdir(parents=True, exist_ok=True)
            conf = workdir / "sentinel.conf"  # the sentinel rewrites it with what it learns
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
                f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {self.SERVICE} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.SERVICE} 10000\n"
                f"sentinel parallel-syncs {self.SERVICE} 1\n"
            )
            self.sentinels.append(
                subprocess.Popen(
                    ["redis-server", str(conf), "--sentinel"],  # what redis-sentinel runs
                    stdout=open(workdir / "sentinel.log", "ab"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        wait_until(self._ready, 30, "the sentinels to see the replica and each other")
        return self

    def ask(self, index, *command):
        """A command to sentinel `index`, e.g. `ask(0, "SENTINEL", "MASTERS")`."""
        return redis.Redis(port=self.sentinel_ports[index], socket_timeout=2, decode_responses=True).execute_command(
            *command
        )

    def _ready(self):
        try:
            for index in range(3):
                master = self.ask(index, "SENTINEL", "MASTER", self.SERVICE)
                master = dict(zip(master[::2], master[1::2], strict=True)) if isinstance(master, list) else master
                if int(master["num-slaves"]) < 1 or int(master["num-other-sentinels"]) < 2:
                    return False
            return True
        except (redis.RedisError, OSError):
            return False

    def primary_port(self, index=0):
        """The primary's port as sentinel `index` sees it now."""
        return int(self.ask(index, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.SERVICE)[1])

    def stop(self):
        for process in self.sentinels:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
        self.sentinels = []
        self.primary.stop()
        self.replica.stop()
