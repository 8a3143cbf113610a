"""The server's own cost of one persisted send, without a network client in the way.

Drives `send_message` through the /chat namespace's real event wrapper (Flask-SocketIO's
test client, threading mode) against MariaDB, and prints, per send: the process's CPU
time, wall time, SQL statements, and database round trips (every command PyMySQL sends:
statements, COMMIT, ROLLBACK, ping). This is the number behind the fan-out and
round-trip targets: a socket server on one core cannot send faster than 1 / CPU per send.

    .venv/bin/python bench/send_cost.py [--sends 2000] [--members 100] [--profile out.txt]
        [--chat-text] [--formatted] [--no-search-index] [--sqlite FULL|NORMAL]

--chat-text sends sentences of a team's chat (Korean and English, 20 to 90 characters)
instead of "message N", so that the search index (issue 21) has words to index;
--formatted makes every fourth of them Markdown (bold, code, a link, a list: issue 22's
parser path instead of its fast path); --no-search-index runs with
SEARCH_INDEX_ENABLED=false, for the comparison.

It also prints the formatting's own CPU per message (issue 22): the sent bodies
rendered again, alone, and how many of them took the fast path.

--sqlite runs on the embedded default instead (a SQLite file in a temporary folder on
the disk), with the given `synchronous` (FULL is webchat's: each commit waits for the
disk, so an acknowledged message survives a power loss; NORMAL was the earlier one).

--profile writes cProfile's top 40 by cumulative time (SORT=tottime: by own time).
"""

import argparse
import collections
import gc
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymysql  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from config import Config, database_uri  # noqa: E402

SERVER = os.environ.get("BENCH_MARIADB_URL", "mysql://root@127.0.0.1:3306")
CHAT_TEXT = [
    "내일 오전 10시 회의실예약 확인 부탁해요",
    "번역 요청드린 문서는 공유 폴더에 올려 두었습니다",
    "점심 뭐 먹을까요? 오늘은 국밥 어때요",
    "The invoice for November is attached, please review by Friday",
    "배포는 오후 3시에 진행하고 끝나면 #release 채널에 공유할게요",
    "Can we move the standup to 9:30 tomorrow?",
    "견적서 최종본 받았어요. 금액은 지난번과 같아요",
    "ok 👍",
    "PR #1423 리뷰 부탁드립니다 — 로그인 화면 수정이에요",
    "고객사 미팅 자료 초안입니다. 피드백 주시면 반영할게요",
]
# --formatted: every fourth message is one of these instead.
FORMATTED_TEXT = [
    "**배포 완료** `v2.3.1` 태그 확인해 주세요",
    "로그는 https://ci.example.com/runs/1423에서 볼 수 있어요",
    "오늘 할 일\n- 리뷰 *두 건*\n- 회의록 정리",
    "> 금요일까지 가능할까요?\n네, ~~목요일~~ 금요일 오전에 드릴게요",
    "설정은 `config.py`의 `MAX_UPLOAD_BYTES`를 바꾸면 돼요",
]


class Counter:
    """Counts what the process sends to the database while `on`."""

    def __init__(self):
        self.commands = self.statements = 0
        self.on = False
        original = pymysql.connections.Connection._execute_command
        counter = self

        def counted(conn, command, sql):
            if counter.on:
                counter.commands += 1
            return original(conn, command, sql)

        pymysql.connections.Connection._execute_command = counted

    def statement(self, *_args):
        if self.on:
            self.statements += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--profile", help="write a cProfile report (top 40; SORT=tottime for own time) here")
    parser.add_argument(
        "--garbage",
        action="store_true",
        help="also count the reference cycles the sends leave for the garbage collector, by type",
    )
    parser.add_argument("--chat-text", action="store_true", help="send realistic chat sentences")
    parser.add_argument("--formatted", action="store_true", help="with --chat-text: every 4th message in Markdown")
    parser.add_argument("--no-search-index", action="store_true", help="SEARCH_INDEX_ENABLED=false")
    parser.add_argument("--sqlite", choices=["FULL", "NORMAL"], help="the embedded SQLite, with this synchronous")
    args = parser.parse_args()

    if args.sqlite:
        import tempfile

        with tempfile.TemporaryDirectory(dir=ROOT / "bench") as folder:
            run(args, f"sqlite:///{folder}/webchat.db")
        return
    schema = f"webchat_sendcost_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(database_uri(SERVER))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {schema} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    try:
        run(args, database_uri(f"{SERVER}/{schema}"))
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {schema}"))


def run(args, uri):
    from flask_migrate import upgrade

    from webchat import create_app
    from webchat.extensions import db, socketio
    from webchat.services import accounts, rooms

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = uri
        ASYNC_MODE = "threading"
        RATELIMIT_ENABLED = False
        SEARCH_INDEX_ENABLED = not args.no_search_index
        SECRET_KEY = JWT_SECRET_KEY = "send-cost-bench-secret-key-of-some-length"
        ARGON2_TIME_COST, ARGON2_MEMORY_COST = 1, 8192

    app = create_app(BenchConfig)
    counter = Counter()
    with app.app_context():
        if args.sqlite:
            # After webchat's own pragmas (database.configure_sqlite): this one wins.
            sa.event.listen(
                db.engine, "connect", lambda conn, _record: conn.execute(f"PRAGMA synchronous={args.sqlite}")
            )
        upgrade()
        owner = accounts.signup("owner", "password-owner")
        room = rooms.create_room(owner, "bench")
        for i in range(args.members - 1):
            rooms.join_room(accounts.signup(f"member{i}", "password-member"), room["id"])
        token = accounts.issue_tokens(owner)["access_token"]
        sa.event.listen(db.engine, "before_cursor_execute", counter.statement)
        db.session.remove()
    client = socketio.test_client(app, namespace="/chat", auth={"token": token})
    assert client.is_connected("/chat"), "the bench's socket was refused"

    def body(i):
        if not args.chat_text:
            return f"message {i}"
        if args.formatted and i % 4 == 0:
            return f"{FORMATTED_TEXT[(i // 4) % len(FORMATTED_TEXT)]} ({i})"
        return f"{CHAT_TEXT[i % len(CHAT_TEXT)]} ({i})"

    def send(i):
        ack = client.emit(
            "send_message",
            {"room_id": room["id"], "body": body(i), "client_id": f"c{i}"},
            namespace="/chat",
            callback=True,
        )
        assert ack["ok"], ack

    for i in range(200):  # warm-up: pools, caches, compiled statements
        send(-i - 1)
    client.get_received("/chat")
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    if args.garbage:
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
    counter.on = True
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(args.sends):
        send(i)
        if i % 100 == 0:
            client.get_received("/chat")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    counter.on = False
    if args.garbage:
        gc.collect()
        gc.set_debug(0)
        gc.enable()
        kinds = collections.Counter(type(o).__qualname__ for o in gc.garbage)
        print(f"cyclic_garbage_objects_per_send={len(gc.garbage) / args.sends:.1f}")
        for kind, count in kinds.most_common(15):
            print(f"  {count / args.sends:8.2f}  {kind}")
        gc.garbage.clear()
    if profiler:
        import pstats

        profiler.disable()
        with open(args.profile, "w") as out:
            pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(40)
    client.disconnect("/chat")
    time.sleep(1)  # the unread fan-out's last round, before the schema is dropped
    n = args.sends
    print(
        f"sends={n} members={args.members} database={f'sqlite synchronous={args.sqlite}' if args.sqlite else 'mariadb'}"
    )
    print(
        f"cpu_ms_per_send={1000 * cpu / n:.3f} wall_ms_per_send={1000 * wall / n:.3f} "
        f"statements_per_send={counter.statements / n:.2f} round_trips_per_send={counter.commands / n:.2f}"
    )
    print(render_cost([body(i) for i in range(n)]))
    with app.app_context():
        db.engine.dispose()


def render_cost(bodies, rounds=5):
    """The formatting's CPU per message (issue 22): `bodies` rendered again, alone, as
    the send path renders each once."""
    try:
        from webchat.services import formatting
    except ImportError:  # a tree from before issue 22, run for the comparison
        return "render_us_per_message=- (no formatting in this tree)"

    fast = sum(not formatting._NEEDS_PARSER.search(b) for b in bodies)
    cpu = time.process_time()
    for _ in range(rounds):
        for b in bodies:
            formatting.render(b)
    cpu = time.process_time() - cpu
    return f"render_us_per_message={1e6 * cpu / (rounds * len(bodies)):.1f} fast_path={fast}/{len(bodies)}"


if __name__ == "__main__":
    main()
