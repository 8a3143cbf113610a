"""Probes for a webchat worker under load, to find where latency goes. Not part of the app.

Each probe writes lines to the worker's stderr (gunicorn's log; keep it with
BENCH_KEEP_LOGS=1). To use them, add two lines to the end of `wsgi.py` in a worktree
(`git worktree add /tmp/wc-diag HEAD`), which load this file from that worktree's bench/,
and point the harness at it:

    import sys; sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
    import diagnostics; diagnostics.install()

    BENCH_WEBCHAT_DIR=/tmp/wc-diag BENCH_KEEP_LOGS=1 \\
    BENCH_WEBCHAT_ENV="DIAG_GC_MS=3,DIAG_SLOW_MS=15" BENCH_TARGETS=webchat-eventlet \\
    BENCH_SCENARIOS=fanout BENCH_LAYOUTS=1x100 BENCH_RATES_100=50 BENCH_STEP_S=20 \\
    BENCH_REPS=1 .venv/bin/python bench/run.py

Probes, each switched on by its variable (values in milliseconds):
- DIAG_GC_MS: every garbage collection longer than this: `GC gen=2 ms=... t=...`.
- DIAG_GARBAGE=1: every 10 s, what the cyclic collector freed, by type, with the last
  frame of each traceback among it (`GARBAGE {...}`). Reference cycles are what make
  full collections frequent; this found the per-event NotFound of change 10.
- DIAG_SLOW_MS: every send, `posting._write`, PyMySQL query and COMMIT slower than this
  (`SLOW commit 18.7ms t=...`). A COMMIT that MariaDB answers in 1 ms but the worker
  sees in 18 ms waited for the event loop.
- DIAG_ROUNDS=1: every 10 s, how long the rounds of unread counts and of member lists
  (`realtime.rounds.Rounds.send`) and the local part of batched emits (`realtime.managers.BatchingQueue.emit_many`) took,
  wall and thread CPU, and how many events they sent (`ROUNDS ...`).
- DIAG_BLOCK_MS: eventlet only: every 15 s, the stacks (innermost first) where a green
  thread had run this long without yielding (`BLOCKED count stack`), from eventlet's
  hub blocking detector with a handler that records instead of raising.
"""

import collections
import gc
import os
import sys
import time
import traceback
import types


def _print(*parts):
    print(*parts, file=sys.stderr, flush=True)


def install():
    if os.environ.get("DIAG_GC_MS"):
        _gc_pauses(float(os.environ["DIAG_GC_MS"]))
    if os.environ.get("DIAG_GARBAGE"):
        _garbage_census()
    if os.environ.get("DIAG_SLOW_MS"):
        _slow_calls(float(os.environ["DIAG_SLOW_MS"]))
    if os.environ.get("DIAG_ROUNDS"):
        _rounds()
    if os.environ.get("DIAG_BLOCK_MS"):
        _blocking(float(os.environ["DIAG_BLOCK_MS"]) / 1000)


def _gc_pauses(threshold_ms):
    started = {}

    def callback(phase, info):
        if phase == "start":
            started["t"] = time.perf_counter()
            return
        ms = (time.perf_counter() - started["t"]) * 1000
        if ms > threshold_ms:
            _print(f"GC gen={info['generation']} ms={ms:.1f} t={time.time():.3f} collected={info['collected']}")

    gc.callbacks.append(callback)


def _garbage_census():
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection frees lands in gc.garbage
    census = collections.Counter()
    last = [time.time()]

    def callback(phase, info):
        if phase != "stop":
            return
        for thing in gc.garbage:
            census[type(thing).__qualname__] += 1
            if isinstance(thing, types.TracebackType):
                while thing.tb_next:
                    thing = thing.tb_next
                census[
                    f"traceback ending in {thing.tb_frame.f_code.co_name} ({thing.tb_frame.f_code.co_filename})"
                ] += 1
        gc.garbage.clear()
        if time.time() - last[0] > 10:
            last[0] = time.time()
            _print("GARBAGE", dict(census.most_common(30)))
            census.clear()

    gc.callbacks.append(callback)


def _slow_calls(threshold_ms):
    import pymysql.connections

    from webchat.services import messages, posting

    def timed(name, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                ms = (time.perf_counter() - start) * 1000
                if ms > threshold_ms:
                    sql = str(args[1])[:70] if name == "query" else ""
                    _print(f"SLOW {name} {ms:.1f}ms t={time.time():.3f} {sql}")

        return wrapper

    connection = pymysql.connections.Connection
    connection.query = timed("query", connection.query)
    connection.commit = timed("commit", connection.commit)
    messages.send_message = timed("send_message", messages.send_message)
    posting._write = timed("_write", posting._write)


def _rounds():
    from webchat.realtime.managers import BatchingQueue
    from webchat.realtime.rounds import Rounds

    stats = collections.defaultdict(list)  # name -> [(wall ms, cpu ms, events)]
    last = [time.time()]

    def timed(name, function, events):
        def wrapper(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                stats[name].append(
                    ((time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000, events(args))
                )
                if time.time() - last[0] > 10:
                    last[0] = time.time()
                    for key, rows in sorted(stats.items()):
                        walls = sorted(r[0] for r in rows)
                        _print(
                            f"ROUNDS {key} n={len(rows)} wall p50={walls[len(walls) // 2]:.2f} "
                            f"max={walls[-1]:.2f} cpu mean={sum(r[1] for r in rows) / len(rows):.2f} ms "
                            f"events mean={sum(r[2] for r in rows) / len(rows):.1f}"
                        )
                    stats.clear()

        return wrapper

    send = Rounds.send
    Rounds.send = lambda self, key: timed(f"round of {self.what}", send, lambda args: 0)(self, key)
    BatchingQueue.emit_many = timed("emit_many", BatchingQueue.emit_many, lambda args: len(args[2]))


def _blocking(seconds):
    import eventlet.debug
    import eventlet.hubs.hub

    seen = collections.Counter()
    last = [time.time()]

    def record(signum, frame):
        stack = traceback.extract_stack(frame)[-14:]
        seen[
            " < ".join(f"{f.filename.rpartition('site-packages/')[2]}:{f.name}:{f.lineno}" for f in reversed(stack))
        ] += 1
        if time.time() - last[0] > 15:
            last[0] = time.time()
            for stack, count in seen.most_common(15):
                _print("BLOCKED", count, stack)
            seen.clear()

    eventlet.hubs.hub.alarm_handler = record  # the hub looks it up when it arms the alarm
    eventlet.debug.hub_blocking_detection(True, seconds)
