"""The server's own cost of one persisted send, without a network client in the way.

Drives `send_message` through the /chat namespace's real event wrapper (Flask-SocketIO's
test client, threading mode) against MariaDB, and prints, per send: the process's CPU
time, wall time, SQL statements, and database round trips (every command PyMySQL sends:
statements, COMMIT, ROLLBACK, ping). This is the number behind the fan-out and
round-trip targets: a socket server on one core cannot send faster than 1 / CPU per send.

    .venv/bin/python bench/send_cost.py [--sends 2000] [--members 100] [--profile out.txt]
        [--chat-text] [--formatted] [--no-search-index] [--sqlite FULL|NORMAL] [--rounds 10]

--chat-text sends sentences of a team's chat (Korean and English, 20 to 90 characters)
instead of "message N", so that the search index (issue 21) has words to index;
--formatted makes every fourth of them Markdown (bold, code, a link, a list: issue 22's
parser path instead of its fast path); --no-search-index runs with
SEARCH_INDEX_ENABLED=false, for the comparison.

It also prints the formatting's own CPU per message (issue 22): the sent bodies
rendered again, alone, and how many of them took the fast path.

--sqlite runs on the embedded default instead (a SQLite file in a temporary folder on
the disk), with the given `synchronous` (FULL is webchat's: each commit waits for the
disk, so an acknowledged message survives a power loss; NORMAL was the earlier one). The floors are
MariaDB's, so with --sqlite only the send's own figures are printed.

It prints the floors in the same run (issue 25): the CPU of the bare app's echo
(bench/peers/bare_app.py through the same Socket.IO test client) and of the send's
transaction from raw PyMySQL (the same statements), and the send's ratio to their sum.
Sends, echoes and transactions take turns in --rounds blocks, so that a shared machine's
noise falls on all three alike.

--profile writes cProfile's top 40 (TOP=n) by cumulative CPU time (SORT=tottime: by own
time), of the sends only.
"""

import argparse
import collections
import contextlib
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
        help="also count the reference cycles left for the garbage collector, by type (the floors' turns included)",
    )
    parser.add_argument("--chat-text", action="store_true", help="send realistic chat sentences")
    parser.add_argument("--formatted", action="store_true", help="with --chat-text: every 4th message in Markdown")
    parser.add_argument("--no-search-index", action="store_true", help="SEARCH_INDEX_ENABLED=false")
    parser.add_argument("--sqlite", choices=["FULL", "NORMAL"], help="the embedded SQLite, with this synchronous")
    parser.add_argument("--rounds", type=int, default=10, help="blocks of sends, echoes and transactions, in turn")
    args = parser.parse_args()

    if args.sqlite:
        import tempfile

        with tempfile.TemporaryDirectory(dir=ROOT / "bench") as folder:
            run(args, f"sqlite:///{folder}/webchat.db")
        return
    with mariadb_schema("sendcost") as uri:
        run(args, uri)


@contextlib.contextmanager
def mariadb_schema(name):
    """The URI of a new, empty MariaDB schema on SERVER, dropped afterwards."""
    schema = f"webchat_{name}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(database_uri(SERVER))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {schema} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    try:
        yield database_uri(f"{SERVER}/{schema}")
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {schema}"))
        admin.dispose()


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
        owner_id = owner.id
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

    floors = None if args.sqlite else Floors(app, room_for_floor(app, owner_id), body)
    for i in range(200):  # warm-up: pools, caches, compiled statements
        send(-i - 1)
        if floors:
            floors.echo(-i - 1)
            floors.transaction(-i - 1)
    client.get_received("/chat")
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
    if args.garbage:
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
    # The sends and the two floors take turns, a block of each per round, so that the
    # shared machine's noise falls on all three alike and their ratio holds.
    cpu = {"send": 0.0, "background": 0.0, "echo": 0.0, "transaction": 0.0}
    wall = 0.0
    rounds = max(1, min(args.rounds, args.sends))
    for r in range(rounds):
        block = range(r * args.sends // rounds, (r + 1) * args.sends // rounds)
        counter.on = True
        if profiler:
            profiler.enable()
        started, started_wall = time.process_time(), time.perf_counter()
        for i in block:
            send(i)
            if i % 100 == 0:
                client.get_received("/chat")
        cpu["send"] += time.process_time() - started
        wall += time.perf_counter() - started_wall
        if profiler:
            profiler.disable()
        counter.on = False
        for kind in ("echo", "transaction") if floors else ():
            run_floor = getattr(floors, kind)
            started, started_thread = time.process_time(), time.thread_time()
            for i in block:
                run_floor(i)
            own = time.thread_time() - started_thread
            cpu[kind] += own
            # What other threads ran meanwhile (the sends' unread rounds) is the sends'.
            cpu["background"] += time.process_time() - started - own
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

        with open(args.profile, "w") as out:
            stats = pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("SORT", "cumulative"))
            stats.print_stats(int(os.environ.get("TOP", "40")))
    client.disconnect("/chat")
    if floors:
        floors.close()
    time.sleep(1)  # the unread fan-out's last round, before the schema is dropped
    n = args.sends
    cpu["send"] += cpu["background"]
    per = {kind: 1000 * seconds / n for kind, seconds in cpu.items()}
    database = f"sqlite synchronous={args.sqlite}" if args.sqlite else "mariadb"
    print(f"sends={n} members={args.members} rounds={rounds} database={database}")
    print(
        f"cpu_ms_per_send={per['send']:.3f} (of which other threads during the floors' turns "
        f"{per['background']:.3f}) wall_ms_per_send={1000 * wall / n:.3f} "
        f"statements_per_send={counter.statements / n:.2f} round_trips_per_send={counter.commands / n:.2f}"
    )
    floor = per["echo"] + per["transaction"]
    if floors:
        print(
            f"echo_floor_cpu_ms={per['echo']:.3f} transaction_floor_cpu_ms={per['transaction']:.3f} "
            f"floor_cpu_ms={floor:.3f} send_to_floor_ratio={per['send'] / floor:.2f}"
        )
    print(render_cost([body(i) for i in range(n)]))
    with app.app_context():
        db.engine.dispose()


def room_for_floor(app, owner_id):
    """A room of its own for the transaction floor, so that its rows never mix with the
    sends' (whose room's seq and counters they would move)."""
    from webchat.extensions import db
    from webchat.models import User
    from webchat.services import rooms

    with app.app_context():
        room_id = rooms.create_room(db.session.get(User, owner_id), "floor")["id"]
        db.session.remove()
    return room_id, owner_id


class Floors:
    """The two floors a persisted send is measured against (issue 25), run in the same
    process as the sends:

    - echo: the bare app's send (bench/peers/bare_app.py: join a room, ack and broadcast
      the message, no auth, no database) through the same Socket.IO test client;
    - transaction: the statements of webchat's send (posting._write), from raw PyMySQL
      on one connection: the locking read of the room and the sender's membership,
      INSERT ... RETURNING of the message, the INSERT of its search grams (when the index
      is on), the UPDATEs of the room and of the read pointer, COMMIT.

    Each method does one; the caller times them."""

    def __init__(self, app, room_and_sender, body):
        from webchat.services import search_index

        os.environ["ASYNC_MODE"] = "threading"  # read by the bare app at import
        sys.path.insert(0, str(ROOT / "bench" / "peers"))
        import bare_app

        self.bare = bare_app.socketio.test_client(bare_app.app, namespace="/chat")
        self.bare.emit("open_room", {"room_id": 1}, namespace="/chat", callback=True)
        self.body = body
        self.room_id, self.sender_id = room_and_sender
        self.indexing = app.config["SEARCH_INDEX_ENABLED"]
        self.grams = search_index.grams_of
        self.normalise = search_index.normalise
        url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        self.db = pymysql.connect(
            host=url.host,
            port=url.port or 3306,
            user=url.username,
            password=url.password or "",
            database=url.database,
            charset="utf8mb4",
            autocommit=False,
        )
        self.cursor = self.db.cursor()

    def echo(self, i):
        ack = self.bare.emit(
            "send_message", {"room_id": 1, "body": self.body(i), "client_id": f"e{i}"}, namespace="/chat", callback=True
        )
        assert ack["ok"], ack
        if i % 100 == 0:
            self.bare.get_received("/chat")

    def transaction(self, i):
        cur, room, sender, body = self.cursor, self.room_id, self.sender_id, self.body(i)
        cur.execute(
            "SELECT rooms.last_seq, rooms.last_rev, rooms.counted_messages, memberships.user_id, memberships.active "
            "FROM rooms LEFT OUTER JOIN memberships ON memberships.room_id = rooms.id "
            "AND memberships.user_id IN (%s) WHERE rooms.id = %s FOR UPDATE",
            (sender, room),
        )
        last_seq, last_rev, counted = cur.fetchall()[0][:3]
        cur.execute(
            "INSERT INTO messages (room_id, seq, sender_id, kind, body, html, client_id, created_at, rev, "
            "mention_all) VALUES (%s, %s, %s, 'text', %s, %s, %s, NOW(6), %s, NULL) RETURNING seq, id",
            (room, last_seq + 1, sender, body, body, f"f{i}", last_rev + 1),
        )
        message_id = cur.fetchall()[0][1]
        grams = sorted(self.grams(self.normalise(body))) if self.indexing else ()
        if grams:
            cur.execute(
                "INSERT INTO search_grams (gram, message_id, room_id) VALUES " + ",".join(["(%s,%s,%s)"] * len(grams)),
                [value for gram in grams for value in (gram, message_id, room)],
            )
        cur.execute(
            "UPDATE rooms SET last_seq = %s, last_rev = %s, counted_messages = %s WHERE rooms.id = %s",
            (last_seq + 1, last_rev + 1, counted + 1, room),
        )
        cur.execute(
            "UPDATE memberships SET last_read_seq = CASE WHEN (user_id = %s) THEN %s END, "
            "last_read_message_id = CASE WHEN (user_id = %s) THEN %s END, "
            "counted_read = CASE WHEN (user_id = %s) THEN %s END WHERE room_id = %s AND user_id IN (%s)",
            (sender, last_seq + 1, sender, message_id, sender, counted + 1, room, sender),
        )
        self.db.commit()

    def close(self):
        self.bare.disconnect("/chat")
        self.db.close()


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
