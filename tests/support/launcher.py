"""Servers as subprocesses: webchat started the way the Procfile starts it, or any command
that answers GET /healthz, each in its own process group, stopped with SIGTERM and then
SIGKILL. The integration tests (through `live.py`) and the benchmarks (`bench/run.py`)
both start their servers here, so the bench measures the server the tests check.

Nothing here imports pytest, `wsgi.py` or the app: a failure raises `LaunchError`.
"""

import atexit
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
# The venv's bin directory, without resolving the interpreter's symlink out of the venv.
BIN = Path(sys.executable).parent
# Variables a server reads that must come from its launcher, never from the caller's
# shell (as must every GUNICORN_* one).
SERVER_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "MESSAGE_QUEUE_URL",
    "ASYNC_MODE",
    "HOST",
    "PORT",
    "WEBCHAT_ENV",
    "WEBCHAT_INSTANCE_DIR",
    "WEBCHAT_NO_PATCH",
    "SECRET_KEY",
    "JWT_SECRET_KEY",
    "UPLOAD_DIR",
    "SOCKETIO_ALLOWED_ORIGINS",
    "SESSION_COOKIE_SECURE",
    "FLASK_APP",
    "RATELIMIT_ENABLED",
    "CLUSTER_NAME",
    "SMTP_URL",
    "PUBLIC_URL",
    "METRICS_ENABLED",
    "METRICS_TOKEN",
    "METRICS_ALLOW",
    "PROMETHEUS_MULTIPROC_DIR",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "TRUSTED_PROXIES",
    "HSTS_SECONDS",
)

# Servers still running, so a failure can show their logs and an interrupted run leaves
# no process behind.
RUNNING = []


class LaunchError(RuntimeError):
    """A server that exited or never answered /healthz, or a migration that failed; the
    message ends with the tail of the server's log."""


def free_port():
    """A port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_environment(port, workdir):
    """The caller's environment without what a server must not inherit, set to listen on
    127.0.0.1:`port`."""
    env = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES and not k.startswith("GUNICORN_")}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        PYTHONUNBUFFERED="1",
        # gunicorn 25 puts its control socket in $XDG_RUNTIME_DIR (else ~/.gunicorn): one
        # per server, or servers running at once take each other's.
        XDG_RUNTIME_DIR=str(workdir),
    )
    return env


class ServerProcess:
    """One server command (a gunicorn master and its worker, or node) in its own process
    group, writing to `log_path`. `start()` again after `stop()` or `kill()` reuses the port."""

    def __init__(self, name, cmd, env, *, port, log_path, cwd=ROOT):
        self.name, self.cmd, self.env, self.port, self.cwd = name, cmd, env, port, cwd
        self.log_path = Path(log_path)
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    @property
    def worker_pid(self):
        """The process that holds the sockets: gunicorn's one worker, or node itself."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        return int(children[0]) if children else pid

    def start(self, timeout=30):
        """Start the command and wait until GET /healthz answers 200."""
        if self.alive:
            return self
        with open(self.log_path, "ab") as log:
            log.write(f"$ {shlex.join(self.cmd)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.cmd,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
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
                raise LaunchError(
                    f"{self.name} exited with {self.process.returncode} while starting\n{self.log_tail()}"
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
        raise LaunchError(f"{self.name}: /healthz not 200 within {timeout}s (last: {last})\n{self.log_tail()}")

    def _signal(self, sig):
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def terminate(self):
        """Ask for a graceful shutdown (SIGTERM) without waiting for it."""
        if self.alive:
            self._signal(signal.SIGTERM)

    def stop(self, timeout=15):
        """Graceful shutdown (SIGTERM), then SIGKILL if it lingers past `timeout`."""
        if self.process is None:
            return
        self.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        # The group may outlive its leader (a worker still exiting): make sure it is gone.
        self.kill()

    def kill(self):
        """SIGKILL the whole group at once: a server that crashes."""
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
        return f"<{type(self).__name__} {self.name} {self.url}>"


class WebchatServer(ServerProcess):
    """webchat from the checkout `root` as the Procfile runs it: `migrate()` is the release
    phase (`flask db upgrade`, unpatched), `start()` the web process (`gunicorn -c
    gunicorn.conf.py wsgi:app`). Without a `database_url` it keeps the app's default, as
    `make run` does (SQLite in the instance folder). `env` adds to or overrides the
    settings below."""

    def __init__(
        self,
        database_url,
        workdir,
        *,
        name="webchat",
        async_mode="eventlet",
        instance_dir=None,
        env=None,
        port=None,
        root=ROOT,
        log_path=None,
    ):
        self.workdir = Path(workdir)
        self.async_mode = async_mode
        # Nodes of one cluster share it: same secrets (sessions and tokens work on every
        # node) and same upload folder.
        self.instance_dir = Path(instance_dir) if instance_dir else self.workdir / "instance"
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        environment = base_environment(port, self.workdir)
        environment.update(
            FLASK_APP="wsgi",
            WEBCHAT_INSTANCE_DIR=str(self.instance_dir),
            ASYNC_MODE=async_mode,
            # Tests and the bench sign up many users from one address (the rate-limit
            # tests switch this on), with cheap password hashing.
            RATELIMIT_ENABLED="false",
            ARGON2_TIME_COST="1",
            ARGON2_MEMORY_COST="8192",
            # The suite runs on several pytest-xdist workers sharing one Redis and RabbitMQ:
            # each worker's servers are a cluster of their own unless a test names one.
            CLUSTER_NAME=f"webchat-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}",
        )
        if database_url:
            environment["DATABASE_URL"] = database_url
        environment.update({k: str(v) for k, v in (env or {}).items()})
        super().__init__(
            name,
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            environment,
            port=port,
            log_path=log_path or self.workdir / "server.log",
            cwd=root,
        )

    def environment(self):
        """A copy of the server's environment, for a `flask` command run beside it."""
        return dict(self.env)

    def flask(self, *args, timeout=60):
        """Run `flask <args>` (unpatched, as the CLI runs) against this server's database
        and queue; returns the CompletedProcess."""
        env = {**self.env, "WEBCHAT_NO_PATCH": "1"}
        return subprocess.run(
            [str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )

    def migrate(self, timeout=180):
        """`flask db upgrade`, unpatched, as `make migrate` and the Procfile's release run it."""
        with open(self.log_path, "ab") as log:
            log.write(b"$ flask db upgrade\n")
            log.flush()
            try:
                result = subprocess.run(
                    [str(BIN / "flask"), "db", "upgrade"],
                    cwd=self.cwd,
                    env=dict(self.environment(), WEBCHAT_NO_PATCH="1"),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                raise LaunchError(f"{self.name}: flask db upgrade timed out\n{self.log_tail()}") from None
        if result.returncode != 0:
            raise LaunchError(f"{self.name}: flask db upgrade failed ({result.returncode})\n{self.log_tail()}")


@atexit.register
def _kill_leftovers():
    for server in list(RUNNING):
        server.kill()
