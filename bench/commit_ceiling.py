"""How fast can this machine's MariaDB durably commit, one transaction at a time?

Issue 7 asks webchat's persisted send-ack rate to reach 0.4x the bare Flask-SocketIO
echo rate. Every persisted send is one DB transaction ending in a durable COMMIT, so the
commit rate of one connection, one transaction at a time, is a hard ceiling for the
send-ack rate of one socket. This script measures that ceiling and its parts, one after
another (never concurrently), on 127.0.0.1 MariaDB:

  1. the server settings that decide what a COMMIT costs;
  2. the round trip of `SELECT 1`;
  3. an autocommit single-row INSERT into an InnoDB table;
  4. a transaction shaped like webchat's send (posting._write: the room's and the
     senders' row locks in one read, INSERT ... RETURNING with webchat's unique keys, two
     UPDATEs, COMMIT: five round trips);
  5. 3 and 4 again with innodb_flush_log_at_trx_commit=2 (no fsync per commit). That
     variable is GLOBAL-only in MariaDB; if SET SESSION is refused the script sets it
     GLOBALly and restores the original value in a `finally` (it says what it changed).
     Because that changes every session's commits, it first waits (--quiet-wait, 60 s)
     for no other session to be active, and skips section 5 if none comes;
  6. a plain write(512 bytes) + fsync loop on a temp file in the datadir's filesystem
     (else /tmp): the disk's durable-write floor.

Each measurement runs 3 times (N iterations or S seconds, whichever first) and reports
the median rate and median p50/p99. It creates and drops its own schema bench_commit_<hex>.

    .venv/bin/python bench/commit_ceiling.py [--iterations 2000] [--seconds 5] [--reps 3]
                                             [--out FILE] [--no-global] [--quiet-wait S] [--force-global]

Output: human-readable lines, and one JSON line per result on stdout (prefixed by
nothing, starting with '{'); --out FILE appends the JSON lines to FILE as well.
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import pymysql

MARIADB = dict(host="127.0.0.1", port=3306, user="root", password="")


def pct(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


class Reporter:
    def __init__(self, out_path):
        self.out_path = out_path
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]

    def emit(self, record):
        record = {"bench": "commit_ceiling", "run": self.run_id, **record}
        line = json.dumps(record, sort_keys=True)
        print(line, flush=True)
        if self.out_path:
            with open(self.out_path, "a", encoding="utf-8") as f:
                f.write(line + "\n")


def measure(name, op, iterations, seconds, reps, reporter, extra=None, setup=None):
    """Run `op` up to `iterations` times or `seconds` s, `reps` times; report medians."""
    runs = []
    for rep in range(1, reps + 1):
        if setup:
            setup()
        lat = []
        start, cpu = time.perf_counter(), time.process_time()
        deadline = start + seconds
        for _ in range(iterations):
            t0 = time.perf_counter()
            op()
            t1 = time.perf_counter()
            lat.append(t1 - t0)
            if t1 >= deadline:
                break
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        lat.sort()
        # cpu_ms: this client's own CPU per operation (PyMySQL and the kernel's side of
        # its socket), what a server process pays for the same statements.
        run = dict(
            n=len(lat),
            elapsed_s=elapsed,
            per_s=len(lat) / elapsed,
            cpu_ms=cpu / len(lat) * 1e3,
            p50_ms=pct(lat, 50) * 1e3,
            p99_ms=pct(lat, 99) * 1e3,
            mean_ms=statistics.fmean(lat) * 1e3,
            max_ms=lat[-1] * 1e3,
        )
        runs.append(run)
        print(
            f"    {name} rep {rep}: {run['per_s']:8.1f}/s  p50 {run['p50_ms']:7.3f} ms  "
            f"p99 {run['p99_ms']:7.3f} ms  cpu {run['cpu_ms']:.3f} ms  (n={run['n']}, {elapsed:.2f} s)",
            flush=True,
        )
    med = {k: statistics.median(r[k] for r in runs) for k in ("per_s", "p50_ms", "p99_ms", "mean_ms", "cpu_ms")}
    print(
        f"  => {name}: median {med['per_s']:.1f}/s  p50 {med['p50_ms']:.3f} ms  "
        f"p99 {med['p99_ms']:.3f} ms  client CPU {med['cpu_ms']:.3f} ms",
        flush=True,
    )
    reporter.emit(
        {
            "measure": name,
            **{k: round(v, 4) for k, v in med.items()},
            "loadavg_after": os.getloadavg(),
            "reps": [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in runs],
            **(extra or {}),
        }
    )
    return med


def server_settings(conn, reporter):
    names = [
        "innodb_flush_log_at_trx_commit",
        "sync_binlog",
        "log_bin",
        "innodb_flush_method",
        "innodb_doublewrite",
        "datadir",
        "version",
        "innodb_log_file_size",
        "innodb_buffer_pool_size",
        "innodb_use_native_aio",
        "binlog_format",
    ]
    values = {}
    with conn.cursor() as cur:
        for n in names:
            try:
                cur.execute(f"SELECT @@GLOBAL.{n}")
                v = cur.fetchone()[0]
            except pymysql.MySQLError as e:
                v = f"unavailable ({e.args[0]})"
            values[n] = v.decode() if isinstance(v, bytes) else v
    fs = filesystem_of(values.get("datadir") or "")
    print("Server settings:")
    for k, v in values.items():
        print(f"  {k:32} {v}")
    for k, v in fs.items():
        print(f"  datadir {k:24} {v}")
    print(
        f"  host: {platform.node()} {platform.platform()}, {os.cpu_count()} CPUs, "
        f"loadavg {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    reporter.emit(
        {
            "measure": "server_settings",
            **values,
            **{f"datadir_{k}": v for k, v in fs.items()},
            "cpus": os.cpu_count(),
            "loadavg": os.getloadavg(),
            "python": platform.python_version(),
        }
    )
    return values


def filesystem_of(path):
    info = {}
    if not path:
        return info
    for cmd, key in (
        (["stat", "-f", "-c", "%T", path], "fs_type"),
        (["df", "-PT", path], "df"),
        (["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "-T", path], "mount"),
    ):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
            if out.returncode == 0:
                text = out.stdout.strip()
                info[key] = text.splitlines()[-1] if key == "df" else text
            else:
                info[key] = f"unreadable: {out.stderr.strip()[:120]}"
        except (OSError, subprocess.SubprocessError) as e:
            info[key] = f"unreadable: {e}"
    return info


SCHEMA = """
CREATE TABLE users (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(80) NOT NULL)
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE rooms (
  id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(80) NOT NULL, type VARCHAR(10) NOT NULL,
  owner_id INT NULL, last_seq INT NOT NULL DEFAULT 0, counted_messages INT NOT NULL DEFAULT 0, direct_key VARCHAR(255) NULL UNIQUE,
  created_at DATETIME(6) NOT NULL, KEY ix_rooms_type (type),
  FOREIGN KEY (owner_id) REFERENCES users(id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE memberships (
  id INT PRIMARY KEY AUTO_INCREMENT, room_id INT NOT NULL, user_id INT NOT NULL,
  role VARCHAR(10) NOT NULL, active BOOL NOT NULL, joined_at DATETIME(6) NOT NULL,
  left_at DATETIME(6) NULL, last_read_message_id INT NULL, last_read_seq INT NOT NULL DEFAULT 0,
  counted_read INT NOT NULL DEFAULT 0, UNIQUE KEY (room_id, user_id), KEY ix_memberships_user_active (user_id, active),
  FOREIGN KEY (room_id) REFERENCES rooms(id) ON DELETE CASCADE,
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE messages (
  id INT PRIMARY KEY AUTO_INCREMENT, room_id INT NOT NULL, seq INT NOT NULL, sender_id INT NULL,
  kind VARCHAR(10) NOT NULL, body TEXT NOT NULL, client_id VARCHAR(64) NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY (room_id, seq), UNIQUE KEY (sender_id, client_id),
  FOREIGN KEY (room_id) REFERENCES rooms(id) ON DELETE CASCADE,
  FOREIGN KEY (sender_id) REFERENCES users(id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE plain (id INT PRIMARY KEY AUTO_INCREMENT, v INT NOT NULL, note VARCHAR(64) NOT NULL)
  ENGINE=InnoDB;
INSERT INTO users (id, name) VALUES (1, 'alice'), (2, 'bob');
INSERT INTO rooms (id, name, type, owner_id, last_seq, created_at) VALUES (1, 'general', 'public', 1, 0, NOW(6));
INSERT INTO memberships (room_id, user_id, role, active, joined_at) VALUES
  (1, 1, 'owner', 1, NOW(6)), (1, 2, 'member', 1, NOW(6));
"""


class DbBench:
    def __init__(self, schema):
        self.schema = schema
        self.conn = pymysql.connect(**MARIADB, database=schema, autocommit=True, charset="utf8mb4")
        self.cur = self.conn.cursor()
        self.txn_conn = pymysql.connect(**MARIADB, database=schema, autocommit=False, charset="utf8mb4")
        self.txn_cur = self.txn_conn.cursor()
        self.counter = 0
        self.step_times = {}

    def select1(self):
        self.cur.execute("SELECT 1")
        self.cur.fetchall()

    def autocommit_insert(self):
        self.counter += 1
        self.cur.execute("INSERT INTO plain (v, note) VALUES (%s, %s)", (self.counter, "x" * 20))

    STEPS = ("lock_room_and_senders", "insert_message_returning", "update_room", "update_pointer", "commit")

    def send_txn(self):
        """What one webchat send does in MariaDB: the statements of posting._write, on a
        connection that is not in autocommit mode (as SQLAlchemy's are), so the
        transaction begins with its first statement. Each statement's time is kept in
        self.step_times, for the breakdown."""
        cur = self.txn_cur
        self.counter += 1
        t = [time.perf_counter()]
        cur.execute(
            "SELECT rooms.last_seq, rooms.counted_messages, memberships.user_id, memberships.active "
            "FROM rooms LEFT OUTER JOIN memberships ON memberships.room_id = rooms.id "
            "AND memberships.user_id IN (1) WHERE rooms.id = 1 FOR UPDATE"
        )
        last_seq, counted = cur.fetchall()[0][:2]
        t.append(time.perf_counter())
        seq = last_seq + 1
        cur.execute(
            "INSERT INTO messages (room_id, seq, sender_id, kind, body, client_id, created_at) "
            "VALUES (1, %s, 1, 'text', %s, %s, NOW(6)) RETURNING seq, id",
            (seq, "hello " * 8, uuid.uuid4().hex),
        )
        message_id = cur.fetchall()[0][1]
        t.append(time.perf_counter())
        cur.execute("UPDATE rooms SET last_seq = %s, counted_messages = %s WHERE id = 1", (seq, counted + 1))
        t.append(time.perf_counter())
        cur.execute(
            "UPDATE memberships SET last_read_message_id = CASE user_id WHEN 1 THEN %s END, "
            "last_read_seq = CASE user_id WHEN 1 THEN %s END, counted_read = CASE user_id WHEN 1 THEN %s END "
            "WHERE room_id = 1 AND user_id IN (1)",
            (message_id, seq, counted + 1),
        )
        t.append(time.perf_counter())
        self.txn_conn.commit()
        t.append(time.perf_counter())
        for name, a, b in zip(self.STEPS, t, t[1:], strict=True):
            self.step_times.setdefault(name, []).append(b - a)

    def breakdown(self, label, reporter, extra):
        """Per-statement p50/mean of the send-shaped transactions since the last call."""
        out = {}
        for name in self.STEPS:
            v = sorted(self.step_times.get(name, []))
            if v:
                out[name] = {
                    "p50_ms": round(pct(v, 50) * 1e3, 4),
                    "p99_ms": round(pct(v, 99) * 1e3, 4),
                    "mean_ms": round(statistics.fmean(v) * 1e3, 4),
                }
        self.step_times = {}
        print(f"  {label} per statement (all reps pooled):")
        for name, r in out.items():
            print(f"    {name:24} p50 {r['p50_ms']:7.3f} ms  mean {r['mean_ms']:7.3f} ms  p99 {r['p99_ms']:7.3f} ms")
        reporter.emit({"measure": f"{label}_breakdown", "steps": out, **extra})
        return out

    def close(self):
        self.cur.close()
        self.conn.close()
        self.txn_cur.close()
        self.txn_conn.close()


def others_active(conn, own_ids, window_s=2.0):
    """Other client sessions that ran something in the last `window_s` (from the processlist):
    on a shared server a GLOBAL change would skew their measurements."""
    with conn.cursor() as cur:
        cur.execute("SELECT ID, USER, DB, COMMAND, TIME_MS FROM information_schema.PROCESSLIST")
        rows = cur.fetchall()
    busy = []
    for pid, user, db, command, time_ms in rows:
        if pid in own_ids or user in ("system user", "event_scheduler") or command in ("Daemon", "Binlog Dump"):
            continue
        if command != "Sleep" or float(time_ms) < window_s * 1000:
            busy.append(f"{pid}:{db or '-'}:{command}")
    return busy


def wait_for_quiet(conn, own_ids, max_wait_s):
    """Wait up to max_wait_s for 3 s in which no other session touched the server."""
    deadline = time.monotonic() + max_wait_s
    quiet_since = None
    busy = []
    while time.monotonic() < deadline:
        busy = others_active(conn, own_ids)
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 3:
            return []
        time.sleep(0.25)
    return busy


def set_flush(conn, value, allow_global, own_ids=(), quiet_wait_s=60, force=False):
    """Set innodb_flush_log_at_trx_commit for this session if allowed, else GLOBALly
    (only when no other session is active, unless forced).
    Returns (scope, original_global_value)."""
    with conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.innodb_flush_log_at_trx_commit")
        original = int(cur.fetchone()[0])
        try:
            cur.execute("SET SESSION innodb_flush_log_at_trx_commit = %s", (value,))
            print(f"  SET SESSION innodb_flush_log_at_trx_commit = {value} accepted", flush=True)
            return "session", original
        except pymysql.MySQLError as e:
            print(f"  SET SESSION innodb_flush_log_at_trx_commit refused: {e.args[0]} {e.args[1]}", flush=True)
        if not allow_global:
            return None, original
        if not force:
            busy = wait_for_quiet(conn, set(own_ids), quiet_wait_s)
            if busy:
                print(
                    f"  NOT changing the GLOBAL: other sessions stayed active for {quiet_wait_s:.0f} s "
                    f"({', '.join(busy[:5])}); section 5 skipped (--force-global to override)",
                    flush=True,
                )
                return None, original
        cur.execute("SET GLOBAL innodb_flush_log_at_trx_commit = %s", (value,))
        print(
            f"  CHANGED: SET GLOBAL innodb_flush_log_at_trx_commit = {value} "
            f"(was {original}; restored when this section ends)",
            flush=True,
        )
        return "global", original


def restore_flush(original):
    # A fresh connection, so the restore happens even if the benchmark's connection broke.
    conn = pymysql.connect(**MARIADB, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SET GLOBAL innodb_flush_log_at_trx_commit = %s", (original,))
            cur.execute("SELECT @@GLOBAL.innodb_flush_log_at_trx_commit")
            now = int(cur.fetchone()[0])
        print(f"  RESTORED: SET GLOBAL innodb_flush_log_at_trx_commit = {original} (now {now})", flush=True)
    finally:
        conn.close()


def fsync_loop(args, reporter, datadir):
    target_dir = None
    if datadir and os.path.isdir(datadir) and os.access(datadir, os.W_OK):
        target_dir = datadir
    where = target_dir or tempfile.gettempdir()
    fs = filesystem_of(where)
    fd, path = tempfile.mkstemp(prefix=".bench_fsync_", dir=where)
    payload = os.urandom(512)
    print(f"\n6. write(512 B) + fsync loop on {path} ({fs.get('fs_type', '?')})", flush=True)
    try:

        def op_fsync():
            os.pwrite(fd, payload, 0)
            os.fsync(fd)

        def op_append_fsync():
            os.write(fd, payload)
            os.fsync(fd)

        def op_fdatasync():
            os.pwrite(fd, payload, 0)
            os.fdatasync(fd)

        extra = {"path_dir": where, "fs_type": fs.get("fs_type"), "in_datadir": target_dir is not None}
        res = measure("fsync_overwrite_512B", op_fsync, args.iterations, args.seconds, args.reps, reporter, extra)
        measure("fdatasync_overwrite_512B", op_fdatasync, args.iterations, args.seconds, args.reps, reporter, extra)
        measure(
            "fsync_append_512B",
            op_append_fsync,
            args.iterations,
            args.seconds,
            args.reps,
            reporter,
            extra,
            setup=lambda: (os.ftruncate(fd, 0), os.lseek(fd, 0, os.SEEK_SET)),
        )
        return res
    finally:
        os.close(fd)
        os.unlink(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", help="also append the JSON lines to this file")
    ap.add_argument(
        "--no-global",
        action="store_true",
        help="never SET GLOBAL innodb_flush_log_at_trx_commit (skips section 5 if SESSION is refused)",
    )
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=60,
        help="seconds to wait for no other active MariaDB session before SET GLOBAL (default 60)",
    )
    ap.add_argument(
        "--force-global",
        action="store_true",
        help="SET GLOBAL even while other sessions are active (it skews their numbers)",
    )
    args = ap.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the `finally` that restores the GLOBAL setting runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    reporter = Reporter(args.out)

    admin = pymysql.connect(**MARIADB, autocommit=True, charset="utf8mb4")
    schema = f"bench_commit_{uuid.uuid4().hex[:10]}"
    print(
        f"commit_ceiling run {reporter.run_id}: {args.reps} reps x (up to {args.iterations} "
        f"iterations or {args.seconds} s), schema {schema}\n",
        flush=True,
    )
    results = {}
    breakdowns = {}
    try:
        settings = server_settings(admin, reporter)
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{schema}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            cur.execute(f"USE `{schema}`")
            for stmt in filter(str.strip, SCHEMA.split(";")):
                cur.execute(stmt)
        db = DbBench(schema)
        try:
            flush_now = settings.get("innodb_flush_log_at_trx_commit")
            print("\n2. SELECT 1 round trip", flush=True)
            results["select1"] = measure("select1", db.select1, args.iterations, args.seconds, args.reps, reporter)
            print(f"\n3. autocommit single-row INSERT (innodb_flush_log_at_trx_commit={flush_now})", flush=True)
            results["insert"] = measure(
                "autocommit_insert",
                db.autocommit_insert,
                args.iterations,
                args.seconds,
                args.reps,
                reporter,
                {"flush_log_at_trx_commit": flush_now},
            )
            for _ in range(50):  # warm-up: the first transactions touch cold pages
                db.send_txn()
            db.step_times = {}
            print(f"\n4. send-shaped transaction (innodb_flush_log_at_trx_commit={flush_now})", flush=True)
            results["send"] = measure(
                "send_txn",
                db.send_txn,
                args.iterations,
                args.seconds,
                args.reps,
                reporter,
                {"flush_log_at_trx_commit": flush_now},
            )
            breakdowns["send"] = db.breakdown("send_txn", reporter, {"flush_log_at_trx_commit": flush_now})

            print(
                "\n5. the same with innodb_flush_log_at_trx_commit=2 (log written at commit, fsynced ~1/s)", flush=True
            )
            scope, original = set_flush(
                db.conn,
                2,
                not args.no_global,
                own_ids={db.conn.thread_id(), admin.thread_id()},
                quiet_wait_s=args.quiet_wait,
                force=args.force_global,
            )
            try:
                if scope:
                    extra = {"flush_log_at_trx_commit": 2, "scope": scope}
                    results["insert2"] = measure(
                        "autocommit_insert_flush2",
                        db.autocommit_insert,
                        args.iterations,
                        args.seconds,
                        args.reps,
                        reporter,
                        extra,
                    )
                    results["send2"] = measure(
                        "send_txn_flush2", db.send_txn, args.iterations, args.seconds, args.reps, reporter, extra
                    )
                    breakdowns["send2"] = db.breakdown("send_txn_flush2", reporter, extra)
                else:
                    print("  skipped", flush=True)
            finally:
                if scope == "global":
                    restore_flush(original)
        finally:
            db.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{schema}`")
        admin.close()
        print(f"\n  dropped schema {schema}", flush=True)

    results["fsync"] = fsync_loop(args, reporter, settings.get("datadir"))

    print("\nSummary (medians of the reps):")
    rows = [
        ("SELECT 1 round trip", "select1"),
        ("autocommit INSERT, flush=1", "insert"),
        ("send-shaped txn, flush=1", "send"),
        ("autocommit INSERT, flush=2", "insert2"),
        ("send-shaped txn, flush=2", "send2"),
        ("write 512 B + fsync", "fsync"),
    ]
    for label, key in rows:
        r = results.get(key)
        if r:
            print(f"  {label:30} {r['per_s']:9.1f}/s  p50 {r['p50_ms']:7.3f} ms  p99 {r['p99_ms']:7.3f} ms")
    if breakdowns.get("send") and breakdowns.get("send2"):
        c1, c2 = breakdowns["send"]["commit"]["p50_ms"], breakdowns["send2"]["commit"]["p50_ms"]
        print(f"  COMMIT statement alone: p50 {c1:.3f} ms with flush=1, {c2:.3f} ms with flush=2")
    if results.get("send") and results.get("send2"):
        d = results["send"]["p50_ms"] - results["send2"]["p50_ms"]
        print(
            f"  durable-commit share of a send-shaped txn (p50 flush=1 - flush=2): {d:.3f} ms "
            f"of {results['send']['p50_ms']:.3f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
