"""`make bench`: start webchat and its peers one after another, drive each with the Node
load generator (bench/loadgen.js), measure history and room-list queries on MariaDB, and
write one JSON line per result to bench/results/<run>.jsonl. `bench/report.py` turns a
results file into BENCHMARKS.md's tables and bench/plots/*.png.

Every server is started by the launcher the integration tests use
(tests/support/launcher.py), in its own process group, and stopped (SIGTERM, then SIGKILL)
when its turn ends, on any error, on Ctrl-C and at exit. Everything listens on 127.0.0.1,
on free ports. Sizes and repetitions come from the environment (see `Settings`);
`BENCH_QUICK=1` is a smoke run of a few minutes.

Issue 25 item 4, the two-node check: the target webchat-2nodes (`Cluster`: two webchat
nodes behind a real nginx) and the scenario `relay` (every member of the rooms on one
node, so that the other node's CPU is the Redis queue's relay cost), beside the single node:
`BENCH_SCENARIOS=relay,capacity BENCH_TARGETS=webchat-eventlet,webchat-2nodes
BENCH_CAPACITY_N=250,500 BENCH_CAPACITY_PAST_BREAK=1 BENCH_REPS=2`. During every
webchat target's run `QueueCounter` counts what its Socket.IO channel carries.
"""

import atexit
import bisect
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pymysql
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import Config  # noqa: E402
from tests.support.launcher import BIN, RUNNING, ServerProcess, WebchatServer, base_environment, free_port  # noqa: E402
from tests.support.nginx import Nginx  # noqa: E402

BENCH = ROOT / "bench"
NODE = shutil.which("node") or "node"
MARIADB = dict(host="127.0.0.1", port=3306, user="root", password="")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
MARIADB_SOCKET = os.environ.get("BENCH_MARIADB_SOCKET")  # e.g. /run/mysqld/mysqld.sock
# The webchat checkout to serve (default: this one). Another worktree (same venv) measures
# a proposed change before it lands: BENCH_WEBCHAT_DIR=/tmp/wc-fix make bench.
WEBCHAT_DIR = Path(os.environ.get("BENCH_WEBCHAT_DIR") or ROOT).resolve()
# The checkout the target webchat-eventlet-base serves: the code before a change, measured
# in the same run as the change (BENCH_BASE_DIR=/work/wt-pre19), repetitions interleaved.
BASE_DIR = Path(os.environ["BENCH_BASE_DIR"]).resolve() if os.environ.get("BENCH_BASE_DIR") else None


def env_list(name, default, cast=int):
    value = os.environ.get(name)
    return [cast(v) for v in value.split(",") if v.strip()] if value else default


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name, default):
    value = os.environ.get(name)
    return float(value) if value else default


class Settings:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false")
    reps = env_int("BENCH_REPS", 1 if quick else 3)
    targets = env_list(
        "BENCH_TARGETS",
        [
            "bare-eventlet",
            "bare-gevent",
            "node",
            "webchat-eventlet",
            "webchat-gevent",
            "webchat-sqlite",
        ],
        str,
    )
    idle_counts = env_list("BENCH_IDLE_N", [1000] if quick else [1000, 5000, 10000])
    idle_users = env_int("BENCH_IDLE_USERS", 200)
    layouts = [
        tuple(int(x) for x in v.split("x"))
        for v in env_list("BENCH_LAYOUTS", ["1x100"] if quick else ["1x100", "10x20"], str)
    ]
    step_s = env_float("BENCH_STEP_S", 1.5 if quick else 4)
    drain_s = env_float("BENCH_DRAIN_S", 3 if quick else 5)
    # After a step, what has not arrived within drain_s + lost_wait_s counts as lost.
    lost_wait_s = env_float("BENCH_LOST_WAIT_S", 10 if quick else 20)
    # Offered sends/s, stepped up until p99 > 200 ms or anything is lost.
    rates = {
        100: env_list("BENCH_RATES_100", [10, 25, 50, 75, 100, 150, 200, 300, 400, 600, 800, 1200]),
        20: env_list("BENCH_RATES_20", [25, 50, 100, 200, 300, 400, 600, 800, 1200, 1600, 2400, 3200, 4800]),
    }
    fixed_rates = env_list("BENCH_FIXED_RATES", [50, 200])
    # p50/p99 at the fixed rates come from steps of their own this long, in the layouts
    # named (a 4 s ladder step at 50 sends/s holds 200 sends: its p99 is the second worst).
    latency_step_s = env_float("BENCH_LATENCY_STEP_S", 0 if quick else 20)
    latency_layouts = env_list("BENCH_LATENCY_LAYOUTS", ["1x100"], str)
    rtt_count = env_int("BENCH_RTT_COUNT", 300 if quick else 2000)
    rtt_max_s = env_float("BENCH_RTT_MAX_S", 5 if quick else 15)
    history_sizes = env_list("BENCH_HISTORY_SIZES", [1000, 100_000] if quick else [1000, 1_000_000])
    # Issue 19: this many changes (reactions, edits, deletes) spread over each history room,
    # then GET /changes from before the first of them, a page of each of these sizes.
    changes = env_int("BENCH_CHANGES", 1000)
    changes_limits = env_list("BENCH_CHANGES_LIMITS", [50, 100, 500])
    roomlist_sizes = env_list("BENCH_ROOMLIST_SIZES", [10, 200])
    # Issue 21: bench/search_cost.py at each size (messages), each query timed this often.
    search_sizes = env_list("BENCH_SEARCH_SIZES", [1000, 100_000] if quick else [1000, 1_000_000])
    search_runs = env_int("BENCH_SEARCH_RUNS", 50 if quick else 200)
    http_repeats = env_int("BENCH_HTTP_REPEATS", 20 if quick else 100)
    scenarios = env_list("BENCH_SCENARIOS", ["idle", "fanout", "rtt", "history", "roomlist"], str)
    # Issue 25, `BENCH_SCENARIOS=capacity` (webchat targets only; bench/loadgen.js documents
    # the user behaviour and its mix): users held, stepped up through these counts until a
    # step breaks the bar; each step this long, users idle this long between actions on
    # average (exponentially distributed), after the new users' connects settle this long.
    capacity_counts = env_list("BENCH_CAPACITY_N", [50, 100] if quick else [250, 500, 1000, 2000, 4000, 8000, 16000])
    capacity_step_s = env_float("BENCH_CAPACITY_STEP_SECONDS", 15 if quick else 60)
    capacity_idle_s = env_float("BENCH_CAPACITY_IDLE_S", 5 if quick else 20)
    capacity_settle_s = env_float("BENCH_CAPACITY_SETTLE_S", 3 if quick else 5)
    # Steps after the one that broke the bar, to show the trend (none by default).
    capacity_past_break = env_int("BENCH_CAPACITY_PAST_BREAK", 0)
    # Issue 25 item 4, `BENCH_SCENARIOS=relay` (webchat targets; bench/loadgen.js's (5)):
    # sends at these fixed rates into rooms of this layout whose members are all on one
    # node, each step this long, after a window this long without sends (the nodes' idle
    # CPU, subtracted). On webchat-2nodes the other node's CPU is the relay cost.
    relay_layout = tuple(int(x) for x in os.environ.get("BENCH_RELAY_LAYOUT", "10x20").split("x"))
    relay_rates = env_list("BENCH_RELAY_RATES", [20, 60] if quick else [25, 100])
    relay_step_s = env_float("BENCH_RELAY_STEP_S", 6 if quick else 20)
    relay_idle_s = env_float("BENCH_RELAY_IDLE_S", 5 if quick else 15)
    # Issue 25, `BENCH_SCENARIOS=login_storm` (webchat targets, a server of its own with the
    # production argon2 parameters; bench/loadgen.js documents it): this many background
    # users of the capacity mix (idle capacity_idle_s on average) are measured for a quiet
    # window this long, then this many other users (accounts made before, see
    # bench/storm_users.py) all log in at once, connect and open a room of storm_room_size.
    storm_users = env_int("BENCH_STORM_USERS", 100 if quick else 1000)
    storm_background = env_int("BENCH_STORM_BACKGROUND", 50 if quick else 250)
    storm_quiet_s = env_float("BENCH_STORM_QUIET_S", 15 if quick else 60)
    storm_room_size = env_int("BENCH_STORM_ROOM_SIZE", 50)
    # A storm user not connected with its room open by then has failed.
    storm_timeout_s = env_float("BENCH_STORM_TIMEOUT_S", 600)
    # py-spy records the webchat worker during its socket scenarios (BENCH_PROFILE=1; =all:
    # the bare peers too), collapsed stacks in bench/profiles/ (see bench/pyspy_top.py),
    # BENCH_PROFILE_RATE samples a second (50).
    profile = os.environ.get("BENCH_PROFILE", "") not in ("", "0", "false")
    profile_all = os.environ.get("BENCH_PROFILE", "") == "all"  # the bare peers too
    out = os.environ.get("BENCH_OUT")
    # No single target may run longer than this (a wedged server must not hang the run).
    target_deadline_s = env_int("BENCH_TARGET_DEADLINE_S", 900 if quick else 2400)


S = Settings
# py-spy processes still recording, stopped with the servers on any exit.
PROFILERS = []


def log(*args):
    print("[bench]", *args, file=sys.stderr, flush=True)


def raise_nofile():
    """Enough descriptors for 10,000 sockets on each side (the servers inherit this)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@atexit.register
def _kill_all():
    for profiler in list(PROFILERS):
        stop_profiler(profiler)
    for server in list(RUNNING):
        server.stop(timeout=5)


def _on_signal(signum, _frame):
    _kill_all()
    sys.exit(128 + signum)


# ------------------------------------------------------------------ databases and queues


def mariadb(db=None):
    return pymysql.connect(**MARIADB, database=db, charset="utf8mb4", autocommit=True)


class Resources:
    """The MariaDB schemas and Redis key prefixes a run creates, dropped at its end."""

    def __init__(self):
        self.schemas, self.prefixes = [], []

    def schema(self):
        name = f"webchat_bench_{uuid.uuid4().hex[:10]}"
        with mariadb() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        self.schemas.append(name)
        return name

    def prefix(self):
        name = f"bench{uuid.uuid4().hex[:8]}"
        self.prefixes.append(name)
        return name

    def drop(self):
        for name in self.schemas:
            try:
                with mariadb() as conn, conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            except pymysql.MySQLError as exc:
                log(f"could not drop {name}: {exc}")
        self.schemas.clear()
        try:
            import redis

            r = redis.Redis.from_url(REDIS_URL)
            for prefix in self.prefixes:
                keys = list(r.scan_iter(f"{prefix}*", count=1000))
                for i in range(0, len(keys), 500):
                    r.delete(*keys[i : i + 500])
        except Exception as exc:  # noqa: BLE001 - cleanup is best effort
            log(f"could not clean Redis keys: {exc}")
        self.prefixes.clear()


# ------------------------------------------------------------------ targets

WEBCHAT = {
    # name: (ASYNC_MODE, backend, message queue)
    "webchat-eventlet": ("eventlet", "mariadb", True),
    "webchat-gevent": ("gevent", "mariadb", True),
    "webchat-sqlite": ("eventlet", "sqlite", False),
    "webchat-eventlet-base": ("eventlet", "mariadb", True),  # served from BASE_DIR
    "webchat-eventlet-mentions": ("eventlet", "mariadb", True),  # @room in every 10th send
    "webchat-eventlet-noindex": ("eventlet", "mariadb", True),  # SEARCH_INDEX_ENABLED=false
    "webchat-2nodes": ("eventlet", "mariadb", True),  # two of webchat-eventlet behind nginx (Cluster)
}
# Issue 25 item 4: targets of several nodes behind nginx, and how many.
CLUSTERS = {"webchat-2nodes": 2}
# Settings of a target's own (issue 21: the send path without the search index).
TARGET_ENV = {"webchat-eventlet-noindex": {"SEARCH_INDEX_ENABLED": "false"}}
# Issue 20: the target whose sends carry `@room` (with confirm) once in this many.
MENTION_EVERY = {"webchat-eventlet-mentions": 10}
PEER_WORKERS = {
    "bare-eventlet": ("eventlet", "eventlet"),
    "bare-gevent": ("gevent", "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"),
}
DESCRIPTIONS = {
    "bare-eventlet": "bare Flask-SocketIO app, gunicorn eventlet worker, 1 worker, 10,000 worker connections",
    "bare-gevent": "bare Flask-SocketIO app, gunicorn GeventWebSocketWorker, 1 worker, 10,000 worker connections",
    "node": "Node socket.io 4 server, one process",
    "webchat-eventlet": "webchat full stack: gunicorn -c gunicorn.conf.py (eventlet), MariaDB, Redis queue",
    "webchat-gevent": "webchat full stack, ASYNC_MODE=gevent (GeventWebSocketWorker), MariaDB, Redis queue",
    "webchat-sqlite": "webchat as `make run` serves it: gunicorn -c gunicorn.conf.py (eventlet), SQLite, no Redis",
    "webchat-eventlet-base": "webchat-eventlet served from BENCH_BASE_DIR (the code before a change)",
    "webchat-eventlet-mentions": "webchat-eventlet, with `@room` (confirm: true) in every 10th message sent",
    "webchat-eventlet-noindex": "webchat-eventlet with SEARCH_INDEX_ENABLED=false (no search grams written)",
    "webchat-2nodes": "two webchat-eventlet nodes (one MariaDB schema, one Redis queue) behind nginx "
    "(deploy/nginx.conf, sticky by a per-user cookie instead of ip_hash)",
}


def make_server(name, workdir, res, settings=None):
    """The target's server, not started yet; a webchat target's database is migrated.
    `settings` adds to webchat's environment."""
    port, log_path = free_port(), Path(workdir) / f"{name}.log"
    if name == "node":
        return ServerProcess(
            name,
            [NODE, str(BENCH / "peers" / "node_server.js")],
            base_environment(port, workdir),
            port=port,
            log_path=log_path,
        )
    if name in PEER_WORKERS:
        mode, worker = PEER_WORKERS[name]
        cmd = [
            str(BIN / "gunicorn"),
            "-k",
            worker,
            "-w",
            "1",
            "--worker-connections",
            "10000",
            "-b",
            f"127.0.0.1:{port}",
            "--chdir",
            str(BENCH / "peers"),
            "--log-level",
            "warning",
            "bare_app:app",
        ]
        return ServerProcess(
            name, cmd, dict(base_environment(port, workdir), ASYNC_MODE=mode), port=port, log_path=log_path
        )
    mode, backend, queue = WEBCHAT[name]
    instance = Path(workdir) / f"instance-{name}"
    # Tokens that outlive the run; the launcher switches rate limits off and makes password
    # hashing cheap, as for the integration tests.
    env = {"ACCESS_TOKEN_SECONDS": "7200", "CLUSTER_NAME": res.prefix(), **TARGET_ENV.get(name, {}), **(settings or {})}
    schema = database_url = None  # SQLite in the instance folder, as `make run` serves it
    if backend == "mariadb":
        schema = res.schema()
        database_url = f"mysql://root@127.0.0.1:3306/{schema}"
        if MARIADB_SOCKET:  # the server's Unix socket instead of TCP on loopback
            database_url = f"mysql://root@localhost/{schema}?unix_socket={MARIADB_SOCKET}"
    if queue:
        env["REDIS_URL"] = env["MESSAGE_QUEUE_URL"] = REDIS_URL
    # Experiments: BENCH_WEBCHAT_ENV="UNREAD_FANOUT_MS=0,DB_POOL_SIZE=5" overrides settings.
    for pair in filter(None, os.environ.get("BENCH_WEBCHAT_ENV", "").split(",")):
        key, _, value = pair.partition("=")
        env[key.strip()] = value.strip()
    server = WebchatServer(
        database_url,
        workdir,
        name=name,
        async_mode=mode,
        instance_dir=instance,
        env=env,
        port=port,
        root=BASE_DIR if name == "webchat-eventlet-base" else WEBCHAT_DIR,
        log_path=log_path,
    )
    server.migrate()
    server.schema = schema  # where the HTTP scenarios seed their messages
    if name in CLUSTERS:
        nodes = [server] + [
            WebchatServer(
                database_url,
                workdir,
                name=f"{name}-{index + 1}",
                async_mode=mode,
                instance_dir=instance,  # the same secrets: a token works on every node
                env=env,
                root=WEBCHAT_DIR,
                log_path=Path(workdir) / f"{name}-{index + 1}.log",
            )
            for index in range(1, CLUSTERS[name])
        ]
        return Cluster(name, nodes, Path(workdir) / f"nginx-{name}")
    return server


# nginx hashes this cookie (the load generator's per-user key) to pick a user's node.
STICKY_COOKIE = "bench_node"


class Cluster:
    """Issue 25 item 4: webchat nodes (each as webchat-eventlet starts it: the Procfile's
    gunicorn, eventlet) on one MariaDB schema and one Redis queue, with one CLUSTER_NAME
    and instance folder (secrets), behind a real nginx run from deploy/nginx.conf by
    tests/support/nginx.py. The load generator talks to nginx only.

    Stickiness: the deploy file's `ip_hash` hashes the client's address, its first three
    octets, and every simulated user comes from 127.0.0.1: all of them would land on one
    node. Here it is `hash $cookie_bench_node` instead, and the load generator sends each
    user's key in that cookie, in its socket handshake and HTTP calls alike (as a
    balancer's sticky cookie would keep a browser on one node). Requests without the
    cookie (sign-ups, log-ins) get an empty key, which nginx's `hash` answers round-robin.
    nginx's `worker_connections` is raised: each socket holds two of its connections."""

    def __init__(self, name, nodes, workdir):
        self.name, self.nodes = name, nodes
        self.proxy = Nginx(nodes, workdir)
        conf = Path(workdir) / "nginx.conf"
        text = conf.read_text()
        assert "    ip_hash;" in text and "worker_connections 1024;" in text, "nginx.conf changed shape"
        text = text.replace("    ip_hash;", f"    hash $cookie_{STICKY_COOKIE};")
        conf.write_text(text.replace("worker_connections 1024;", "worker_connections 30000;"))
        self.env, self.schema = nodes[0].env, nodes[0].schema

    @property
    def url(self):
        return self.proxy.url

    @property
    def worker_pid(self):
        return self.nodes[0].worker_pid

    @property
    def node_pids(self):
        return [node.worker_pid for node in self.nodes]

    @property
    def proxy_pid(self):
        return self.proxy.worker_pid  # nginx's one worker process

    def start(self, timeout=60):
        for node in self.nodes:
            node.start(timeout=timeout)
        self.proxy.start(timeout=timeout)
        return self

    def stop(self):
        self.proxy.stop()
        for node in self.nodes:
            node.stop()


class QueueCounter:
    """Every message published on a webchat target's Socket.IO channel in Redis (what each
    node receives from the queue), with its arrival time and size, so that a measured
    window's relay cost can be divided by the events relayed in it."""

    def __init__(self, channel):
        import redis

        self.channel, self.redis = channel, redis.Redis.from_url(REDIS_URL)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.times, self.sizes, self.running = [], [], True
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self):
        while self.running:
            message = self.pubsub.get_message(timeout=0.5)
            if message and message["type"] == "message":
                self.times.append(time.time())
                self.sizes.append(len(message["data"]))

    def window(self, t0, t1):
        """(messages, bytes) published between epoch seconds t0 and t1."""
        a, b = bisect.bisect_left(self.times, t0), bisect.bisect_right(self.times, t1)
        return b - a, sum(self.sizes[a:b])

    def subscribers(self):
        """The nodes subscribed to the channel now (this counter left out)."""
        return dict(self.redis.pubsub_numsub(self.channel)).get(self.channel.encode(), 1) - 1

    def close(self):
        self.running = False
        self.thread.join(2)
        self.pubsub.close()


# ------------------------------------------------------------------ socket scenarios (Node)


def socket_scenarios(name):
    wanted = set(S.scenarios)
    # Round trips before fan-out: an overloaded fan-out step leaves a backlog behind it.
    kinds = ["rtt", "fanout"] if name == "webchat-sqlite" else ["idle", "rtt", "fanout"]
    if name.startswith("webchat"):
        kinds += ["relay", "capacity"]  # capacity last: it leaves the most behind in the database
        kinds.append("login_storm")  # on a server of its own (main)
    scenarios = []
    for kind in kinds:
        if kind not in wanted:
            continue
        if kind == "idle":
            scenarios.append(
                {
                    "name": "idle",
                    "counts": S.idle_counts,
                    "users": S.idle_users,
                    "settle_s": 2 if S.quick else 3,
                    "hold_s": 2 if S.quick else 5,
                }
            )
        elif kind == "fanout":
            for rooms, members in S.layouts:
                if name == "webchat-sqlite" and (rooms, members) != (1, 100):
                    continue
                scenarios.append(
                    {
                        "name": "fanout",
                        "layout": [rooms, members],
                        "rates": S.rates.get(members, S.rates[20]),
                        "fixed_rates": S.fixed_rates,
                        "step_s": S.step_s,
                        "drain_s": S.drain_s,
                        "lost_wait_s": S.lost_wait_s,
                        "latency_step_s": S.latency_step_s if f"{rooms}x{members}" in S.latency_layouts else 0,
                    }
                )
        elif kind == "rtt":
            scenarios.append({"name": "rtt", "count": S.rtt_count, "max_s": S.rtt_max_s})
        elif kind == "relay":
            scenarios.append(
                {
                    "name": "relay",
                    "layout": list(S.relay_layout),
                    "rates": [],
                    "fixed_rates": S.relay_rates,
                    "latency_step_s": S.relay_step_s,
                    "idle_s": S.relay_idle_s,
                    "drain_s": S.drain_s,
                    "lost_wait_s": S.lost_wait_s,
                }
            )
        elif kind == "capacity":
            scenarios.append(
                {
                    "name": "capacity",
                    "counts": S.capacity_counts,
                    "step_s": S.capacity_step_s,
                    "idle_mean_s": S.capacity_idle_s,
                    "settle_s": S.capacity_settle_s,
                    "past_break": S.capacity_past_break,
                    "drain_s": S.drain_s,
                    "lost_wait_s": S.lost_wait_s,
                }
            )
        elif kind == "login_storm":
            scenarios.append(
                {
                    "name": "login_storm",
                    "background": S.storm_background,
                    "storm": S.storm_users,
                    "quiet_s": S.storm_quiet_s,
                    "idle_mean_s": S.capacity_idle_s,
                    "settle_s": S.capacity_settle_s,
                    "timeout_s": S.storm_timeout_s,
                    "room_size": S.storm_room_size,
                    "drain_s": S.drain_s,
                    "lost_wait_s": S.lost_wait_s,
                    "argon2": {k: int(v) for k, v in STORM_ENV.items()},
                    "threadpool": threadpool_size(WEBCHAT[name][0]),
                }
            )
    return scenarios


# The login storm's server hashes as production does (config.py's ARGON2_* defaults; the
# launcher makes hashing cheap for every other target). Rate limits stay off as for every
# bench target (the launcher's RATELIMIT_ENABLED=false): a storm from one address would
# meet RATELIMIT_LOGIN_PER_IP, where real users come from many.
STORM_ENV = {"ARGON2_TIME_COST": str(Config.ARGON2_TIME_COST), "ARGON2_MEMORY_COST": str(Config.ARGON2_MEMORY_COST)}


def threadpool_size(mode):
    """The OS threads webchat.offload hands argon2 to: eventlet's tpool (20 unless
    EVENTLET_THREADPOOL_SIZE), gevent's hub pool (10)."""
    if mode == "eventlet":
        return int(os.environ.get("EVENTLET_THREADPOOL_SIZE") or 20)
    return 10 if mode == "gevent" else None


def storm_accounts(server, scenario):
    """The storm's accounts and rooms in the server's database (bench/storm_users.py,
    with the server's environment, before it starts)."""
    t0 = time.perf_counter()
    cmd = [str(BIN / "python"), str(BENCH / "storm_users.py"), "--prefix", f"s{uuid.uuid4().hex[:6]}"]
    cmd += ["--background", str(scenario["background"]), "--storm", str(scenario["storm"])]
    cmd += ["--room-size", str(scenario["room_size"]), "--password", PASSWORD]
    env = dict(server.environment(), WEBCHAT_NO_PATCH="1")
    done = subprocess.run(cmd, cwd=server.cwd, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise RuntimeError(f"storm_users.py failed: {done.stderr[-2000:]}")
    accounts = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"{scenario['background'] + scenario['storm']} accounts made in {time.perf_counter() - t0:.1f}s")
    return {**scenario, "accounts": accounts, "accounts_s": round(time.perf_counter() - t0, 1)}


def service_pids():
    """The pids of the machine's MariaDB and Redis servers (by process name), whose CPU
    the capacity scenario reports beside the worker's: they share its cores."""
    pids = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            name = comm.read_text().strip()
        except OSError:
            continue
        key = {"mariadbd": "mariadb", "mysqld": "mariadb", "redis-server": "redis"}.get(name)
        if key and key not in pids:
            pids[key] = int(comm.parent.name)
    return pids


def run_loadgen(server, kind, scenarios, workdir, emit):
    config = {
        "target": server.name,
        "url": server.url,
        "kind": kind,
        "worker_pid": server.worker_pid,
        # Issue 25 item 4: every node's worker (one for a single node), nginx's worker.
        "node_pids": getattr(server, "node_pids", [server.worker_pid]),
        "proxy_pid": getattr(server, "proxy_pid", None),
        "sticky_cookie": STICKY_COOKIE if isinstance(server, Cluster) else None,
        "service_pids": service_pids(),
        "run_tag": uuid.uuid4().hex[:6],
        "scenarios": scenarios,
        "deadline_s": S.target_deadline_s,
        "mention_every": MENTION_EVERY.get(server.name, 0),
    }
    path = Path(workdir) / f"loadgen-{server.name}.json"
    path.write_text(json.dumps(config))
    # What the queue relayed in each measured window (a webchat target with Redis).
    channel = f"{server.env['CLUSTER_NAME']}-socketio" if server.env.get("MESSAGE_QUEUE_URL") else None
    counter = QueueCounter(channel) if channel else None

    def relayed(record):
        if counter and record.get("window"):
            record["published"], record["published_bytes"] = counter.window(*record["window"])
            record["queue_subscribers"] = counter.subscribers()
        emit(record)

    proc = subprocess.Popen(
        [NODE, str(BENCH / "loadgen.js"), str(path)],
        cwd=BENCH,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        start_new_session=True,
    )
    try:
        for line in proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                relayed(json.loads(line))
        proc.wait(timeout=S.target_deadline_s)
    finally:
        if counter:
            counter.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode:
        log(f"loadgen for {server.name} exited with {proc.returncode}")


# ------------------------------------------------------------------ HTTP scenarios (MariaDB)

PASSWORD = "bench-password-1"


class Api:
    def __init__(self, url, username):
        self.url, self.http = f"{url}/api/v1", requests.Session()
        self.http.post(
            f"{self.url}/auth/signup", json={"username": username, "password": PASSWORD}, timeout=30
        ).raise_for_status()
        token = self.http.post(f"{self.url}/auth/token", json={"username": username, "password": PASSWORD}, timeout=30)
        token.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def call(self, method, path, **kw):
        response = self.http.request(method, f"{self.url}{path}", timeout=60, **kw)
        response.raise_for_status()
        return response.json()


def has_column(cur, table, column):
    """Whether the served checkout's schema has it: the bench also seeds older checkouts."""
    cur.execute(f"SHOW COLUMNS FROM {table} LIKE %s", (column,))
    return cur.fetchone() is not None


def seed_messages(cur, room_id, sender_id, total):
    """Fill a room up to `total` messages with INSERT ... SELECT batches from MariaDB's
    sequence engine, and move rooms.last_seq with them (seq stays gap-free). Each seeded
    message takes the room's next rev too (issue 19's change feed; `rev` is unique per
    room), as its posting would have."""
    revs = has_column(cur, "rooms", "last_rev")
    cur.execute(f"SELECT last_seq, {'last_rev' if revs else '0'} FROM rooms WHERE id = %s FOR UPDATE", (room_id,))
    last, last_rev = cur.fetchone()
    rev_column, rev_value = (", rev", f", seq + {last_rev - last}") if revs else ("", "")
    batch = 200_000
    start = last + 1
    while start <= total:
        end = min(total, start + batch - 1)
        cur.execute(
            f"INSERT INTO messages (room_id, seq, sender_id, kind, body, created_at{rev_column}) "
            f"SELECT %s, seq, %s, 'text', CONCAT('seeded message ', seq), "
            f"TIMESTAMPADD(MICROSECOND, seq, UTC_TIMESTAMP(6) - INTERVAL 1 DAY){rev_value} FROM seq_{start}_to_{end}",
            (room_id, sender_id),
        )
        start = end + 1
    added = max(0, total - last)
    cur.execute("UPDATE rooms SET last_seq = %s WHERE id = %s", (last + added, room_id))
    if revs:
        cur.execute("UPDATE rooms SET last_rev = %s WHERE id = %s", (last_rev + added, room_id))
    count_seeded(cur, [room_id], added)


def count_seeded(cur, room_ids, added):
    """Keep webchat's unread counters true to messages seeded behind its back (a checkout
    from before the counters has no such column)."""
    if has_column(cur, "rooms", "counted_messages"):
        marks = ",".join(["%s"] * len(room_ids))
        cur.execute(
            f"UPDATE rooms SET counted_messages = counted_messages + %s WHERE id IN ({marks})", [added, *room_ids]
        )


def timed(fn, repeats, check):
    for _ in range(3):
        check(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
        check(result)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "repeats": repeats,
    }


def http_setup(server):
    """Users and rooms for the history and room-list scenarios: made through the API,
    messages seeded with SQL."""
    tag = uuid.uuid4().hex[:6]
    setup = {"history": {}, "roomlist": {}}
    reader = Api(server.url, f"h{tag}reader")
    writer = Api(server.url, f"h{tag}writer")
    with mariadb(server.schema) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM users WHERE username = %s", (f"h{tag}writer",))
        (writer_id,) = cur.fetchone()
    if "history" in S.scenarios:
        for size in S.history_sizes:
            room = reader.call("POST", "/rooms", json={"name": f"history {size}", "type": "public"})["room"]
            # A member, so that it may edit and delete the messages seeded as its own.
            writer.call("POST", f"/rooms/{room['id']}/join")
            t0 = time.perf_counter()
            with mariadb(server.schema) as conn, conn.cursor() as cur:
                conn.begin()
                seed_messages(cur, room["id"], writer_id, size)
                conn.commit()
                feed = has_column(cur, "rooms", "last_rev")
            seeded = time.perf_counter() - t0
            log(f"seeded a room of {size} messages in {seeded:.1f}s")
            setup["history"][size] = {"room_id": room["id"], "seed_s": round(seeded, 2)}
            if feed and S.changes:
                setup["history"][size]["changes"] = make_changes(server, reader, writer, room["id"], size)
    if "roomlist" in S.scenarios:
        for size in S.roomlist_sizes:
            member = Api(server.url, f"h{tag}list{size}")
            ids = []
            for i in range(size):
                room = member.call("POST", "/rooms", json={"name": f"list {size} #{i}", "type": "public"})["room"]
                writer.call("POST", f"/rooms/{room['id']}/join")
                ids.append(room["id"])
            # 20 unread messages from the other member in every room, as SQL.
            with mariadb(server.schema) as conn, conn.cursor() as cur:
                conn.begin()
                marks = ",".join(["%s"] * len(ids))
                cur.execute(f"SELECT id FROM rooms WHERE id IN ({marks}) FOR UPDATE", ids)
                revs = has_column(cur, "rooms", "last_rev")
                rev_column, rev_value, rev_set = (
                    (", rev", ", r.last_rev + s.seq", ", last_rev = last_rev + 20") if revs else ("", "", "")
                )
                cur.execute(
                    f"INSERT INTO messages (room_id, seq, sender_id, kind, body, created_at{rev_column}) "
                    f"SELECT r.id, r.last_seq + s.seq, %s, 'text', CONCAT('unread ', s.seq), UTC_TIMESTAMP(6)"
                    f"{rev_value} FROM rooms r JOIN seq_1_to_20 s WHERE r.id IN ({marks})",
                    [writer_id, *ids],
                )
                cur.execute(f"UPDATE rooms SET last_seq = last_seq + 20{rev_set} WHERE id IN ({marks})", ids)
                count_seeded(cur, ids, 20)
                conn.commit()
            setup["roomlist"][size] = {"api": member, "rooms": ids}
    return reader, setup


REACTION = "\N{THUMBS UP SIGN}"
# The seeded messages are a day old: their sender may still delete them.
DELETE_WINDOW = {"MESSAGE_DELETE_WINDOW_SECONDS": str(7 * 24 * 3600)}


def make_changes(server, reader, writer, room_id, size):
    """Issue 19: S.changes changes through the API, each to another message, spread evenly
    over the room's seeded messages (up to seq `size`): of every ten, six reactions (the
    reader's), three edits and one delete (the writer's, whose messages they are). Returns
    the room's last_rev before them, the changed messages' ids in the order changed, and
    how long making them took."""
    with mariadb(server.schema) as conn, conn.cursor() as cur:
        cur.execute("SELECT last_rev FROM rooms WHERE id = %s", (room_id,))
        (before,) = cur.fetchone()
        # The room's notices (created, joined) come first and take no reactions.
        cur.execute("SELECT MIN(seq) FROM messages WHERE room_id = %s AND kind = 'text'", (room_id,))
        (first,) = cur.fetchone()
        count = min(S.changes, size - first + 1)
        seqs = [first + i * (size - first + 1) // count for i in range(count)]
        marks = ",".join(["%s"] * len(seqs))
        cur.execute(f"SELECT seq, id FROM messages WHERE room_id = %s AND seq IN ({marks})", [room_id, *seqs])
        ids = dict(cur.fetchall())
    t0 = time.perf_counter()
    for i, seq in enumerate(seqs):
        message_id = ids[seq]
        if i % 10 < 6:
            reader.call("PUT", f"/messages/{message_id}/reactions/{REACTION}")
        elif i % 10 < 9:
            writer.call("PATCH", f"/messages/{message_id}", json={"body": f"seeded message {seq}, edited"})
        else:
            writer.call("DELETE", f"/messages/{message_id}")
    made = time.perf_counter() - t0
    log(f"made {count} changes over a room of {size} messages in {made:.1f}s")
    return {"after_rev": before, "ids": [ids[seq] for seq in seqs], "make_s": round(made, 2)}


def http_measure(reader, setup, emit):
    for size, info in setup["history"].items():
        room_id = info["room_id"]

        def check_page(body, first=None, last=None):
            seqs = [m["seq"] for m in body["messages"]]
            assert len(seqs) == 50 and seqs == sorted(seqs), seqs[:5]
            assert first is None or seqs[0] == first, (seqs[0], first)
            assert last is None or seqs[-1] == last, (seqs[-1], last)

        latest = timed(
            lambda: reader.call("GET", f"/rooms/{room_id}/messages"), S.http_repeats, lambda b: check_page(b, last=size)
        )
        emit(
            {
                "target": "webchat-eventlet",
                "scenario": "history",
                "page": "latest",
                "messages": size,
                **latest,
                "seed_s": info["seed_s"],
                "lost": 0,
                "duplicated": 0,
                "misrouted": 0,
            }
        )
        deep = timed(
            lambda: reader.call("GET", f"/rooms/{room_id}/messages", params={"before_seq": 101}),
            S.http_repeats,
            lambda b: check_page(b, first=51, last=100),
        )
        emit(
            {
                "target": "webchat-eventlet",
                "scenario": "history",
                "page": "deep",
                "before_seq": 101,
                "messages": size,
                **deep,
                "lost": 0,
                "duplicated": 0,
                "misrouted": 0,
            }
        )
        changes = info.get("changes")
        for limit in S.changes_limits if changes else ():

            def check_changes(body, limit=limit):
                ids = [m["id"] for m in body["messages"]]
                assert ids == changes["ids"][:limit], (ids[:5], changes["ids"][:5])
                assert body["has_more"] == (len(changes["ids"]) > limit), body["has_more"]

            feed = timed(
                lambda limit=limit: reader.call(
                    "GET", f"/rooms/{room_id}/changes", params={"after_rev": changes["after_rev"], "limit": limit}
                ),
                S.http_repeats,
                check_changes,
            )
            emit(
                {
                    "target": "webchat-eventlet",
                    "scenario": "changes",
                    "messages": size,
                    "changes": len(changes["ids"]),
                    "after_rev": changes["after_rev"],
                    "limit": limit,
                    **feed,
                    "make_s": changes["make_s"],
                    "lost": 0,
                    "duplicated": 0,
                    "misrouted": 0,
                }
            )
    for size, info in setup["roomlist"].items():
        api, ids = info["api"], set(info["rooms"])

        def check_list(body):
            rooms = body["rooms"]
            assert {r["id"] for r in rooms} == ids, len(rooms)
            assert all(r["unread_count"] == 20 for r in rooms), [r["unread_count"] for r in rooms][:5]

        listed = timed(lambda: api.call("GET", "/rooms"), S.http_repeats, check_list)
        emit(
            {
                "target": "webchat-eventlet",
                "scenario": "roomlist",
                "rooms": size,
                **listed,
                "lost": 0,
                "duplicated": 0,
                "misrouted": 0,
            }
        )


# ------------------------------------------------------------------ the run


def machine():
    def cmd(*args):
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:  # noqa: BLE001
            return None

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    versions = {}
    for pkg in (
        "flask",
        "flask-socketio",
        "python-socketio",
        "python-engineio",
        "eventlet",
        "gevent",
        "gevent-websocket",
        "gunicorn",
        "sqlalchemy",
        "pymysql",
        "redis",
    ):
        try:
            from importlib.metadata import version

            versions[pkg] = version(pkg)
        except Exception:  # noqa: BLE001
            pass
    for pkg in ("socket.io", "socket.io-client"):
        try:
            versions[pkg] = json.loads((BENCH / "node_modules" / pkg / "package.json").read_text())["version"]
        except OSError:
            pass
    with mariadb() as conn, conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        mariadb_version = cur.fetchone()[0]
    try:
        import redis

        redis_version = redis.Redis.from_url(REDIS_URL).info()["redis_version"]
    except Exception:  # noqa: BLE001
        redis_version = None
    return {
        "nproc": os.cpu_count(),
        "mem_gib": round(mem / 1024 / 1024, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": cmd(NODE, "-v"),
        "mariadb": mariadb_version,
        "redis": redis_version,
        "versions": versions,
    }


def loadavg():
    """The machine's 1-minute load when a result was written: it is shared, so say so."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return None


def commit(checkout=WEBCHAT_DIR):
    """The commit of the webchat served, `+dirty` if webchat/ has uncommitted changes."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "webchat"], cwd=checkout, capture_output=True, text=True
        ).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except OSError:
        return None


def main():
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    if "webchat-eventlet-base" in S.targets and not BASE_DIR:
        sys.exit("webchat-eventlet-base serves BENCH_BASE_DIR: set it to a checkout (a git worktree)")
    nofile = raise_nofile()
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = Path(S.out) if S.out else BENCH / "results" / f"{run_id}{'-quick' if S.quick else ''}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="webchat-bench-"))
    res = Resources()
    t_start = time.monotonic()
    rev = commit()
    meta = {
        "scenario": "meta",
        "run_id": run_id,
        "commit": rev,
        "webchat_dir": str(WEBCHAT_DIR),
        "base_commit": commit(BASE_DIR) if BASE_DIR else None,
        "base_dir": str(BASE_DIR) if BASE_DIR else None,
        "quick": S.quick,
        "reps": S.reps,
        "nofile": nofile,
        "settings": {
            k: (v if not isinstance(v, dict) else {str(a): b for a, b in v.items()})
            for k, v in vars(Settings).items()
            if not k.startswith("_")
        },
        "targets": {t: DESCRIPTIONS[t] for t in S.targets},
        "machine": machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    log(f"results -> {out}  (logs in {workdir})")
    with open(out, "w") as results:

        def emit(record, rep=None):
            record = {"run_id": run_id, "rep": rep, **record, "loadavg": loadavg()}
            results.write(json.dumps(record) + "\n")
            results.flush()

        emit(meta)
        try:
            for rep in range(1, S.reps + 1):
                # Every other repetition runs the targets in reverse order, so that a drift
                # of the shared machine's load weighs on each target alike (before and after
                # a change above all).
                for name in S.targets if rep % 2 else S.targets[::-1]:
                    scenarios = socket_scenarios(name)
                    # The login storm gets a server of its own (production argon2, its accounts).
                    storm = [sc for sc in scenarios if sc["name"] == "login_storm"]
                    scenarios = [sc for sc in scenarios if sc["name"] != "login_storm"]
                    if scenarios:
                        run_target(name, scenarios, workdir, res, rep, emit)
                    for sc in storm:
                        run_target(name, [sc], workdir, res, rep, emit, STORM_ENV, storm_accounts)
            if {"history", "roomlist"} & set(S.scenarios):
                log("history and room list on MariaDB (webchat-eventlet)")
                server = make_server("webchat-eventlet", workdir, res, DELETE_WINDOW)
                try:
                    server.start(timeout=60)
                    reader, setup = http_setup(server)
                    for rep in range(1, S.reps + 1):
                        http_measure(reader, setup, lambda r: emit(r, rep))
                except Exception as exc:  # noqa: BLE001
                    log(f"http scenarios failed: {exc}")
                    emit({"target": "webchat-eventlet", "scenario": "error", "error": str(exc)[:2000]})
                finally:
                    server.stop()
            if "search" in S.scenarios:
                for size in S.search_sizes:
                    search_scenario(size, emit)
        finally:
            _kill_all()
            res.drop()
            emit({"scenario": "end", "elapsed_s": round(time.monotonic() - t_start, 1)})
    log(f"done in {time.monotonic() - t_start:.0f}s: {out}")
    shutil.rmtree(workdir, ignore_errors=True) if not os.environ.get("BENCH_KEEP_LOGS") else None
    print(out)


def run_target(name, scenarios, workdir, res, rep, emit, settings=None, prepare=None):
    """One server of target `name` (with `settings`), the load generator's `scenarios`
    against it (after `prepare(server, scenario)` made what each needs), then stopped."""
    kinds = ", ".join(sc["name"] for sc in scenarios)
    log(f"rep {rep}/{S.reps}: {name} ({kinds})")
    server = make_server(name, workdir, res, settings)
    try:
        if prepare:
            scenarios = [prepare(server, sc) for sc in scenarios]
        server.start(timeout=60)
        profiler = (
            start_profiler(server, workdir, rep, "-storm" if prepare else "")
            if S.profile and (name.startswith("webchat") or S.profile_all and name != "node")
            else None
        )
        run_loadgen(
            server, "webchat" if name.startswith("webchat") else "bare", scenarios, workdir, lambda r: emit(r, rep)
        )
        if profiler:
            stop_profiler(profiler)
    except Exception as exc:  # noqa: BLE001 - one target failing must not end the run
        log(f"{name} failed: {exc}")
        emit({"target": name, "scenario": "error", "error": str(exc)[:2000]}, rep)
    finally:
        server.stop()
    time.sleep(2)


def search_scenario(size, emit):
    """Issue 21: search at `size` messages on MariaDB (bench/search_cost.py builds them
    with the send path's own index functions and times services.search), once per run:
    the database is the same whichever target runs the send path."""
    log(f"search at {size:,} messages")
    cmd = [str(BIN / "python"), str(WEBCHAT_DIR / "bench" / "search_cost.py"), "--messages", str(size)]
    cmd += ["--runs", str(S.search_runs), "--json"]
    try:
        done = subprocess.run(cmd, cwd=WEBCHAT_DIR, capture_output=True, text=True, timeout=3600, check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        log(f"search at {size:,} failed: {exc}")
        emit({"target": "webchat-eventlet", "scenario": "error", "error": f"search {size}: {exc}"[:2000]})
        return
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            emit({"target": "webchat-eventlet", **json.loads(line)})


def start_profiler(server, workdir, rep, suffix=""):
    """py-spy records the worker for the whole socket run (collapsed stacks, raw format)."""
    path = BENCH / "profiles" / f"{server.name}{suffix}-rep{rep}.txt"
    path.parent.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [
            str(BIN / "py-spy"),
            "record",
            "-p",
            str(server.worker_pid),
            "-r",
            os.environ.get("BENCH_PROFILE_RATE", "50"),
            "-f",
            "raw",
            "-o",
            str(path),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    PROFILERS.append(proc)
    return proc


def stop_profiler(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc in PROFILERS:
        PROFILERS.remove(proc)


if __name__ == "__main__":
    main()
