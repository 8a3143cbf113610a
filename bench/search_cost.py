"""Search at scale: builds N messages (default 1,000,000) of Korean and English chat text
on MariaDB with the search index, then times `services.search.search` (the API's work
less JSON) for rare and common terms, Korean and English, with and without `room_id`.

    .venv/bin/python bench/search_cost.py [--messages 1000000] [--runs 200] [--keep] [--json]

--json prints one JSON object per line instead of the table (how `make bench`'s `search`
scenario, bench/run.py, takes the figures into its results).

The searching user is in every room, so "without room_id" searches all N messages (the
worst case). Rows are bulk-loaded (LOAD DATA LOCAL INFILE) with the index built by the
same functions the send path uses. The database `webchat_search_bench` is dropped at the
end unless --keep (a kept one is reused by the next run with the same --messages).
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymysql  # noqa: E402

from config import Config, database_uri  # noqa: E402

SERVER = os.environ.get("BENCH_MARIADB_URL", "mysql://root@127.0.0.1:3306")
DATABASE = "webchat_search_bench"
ROOMS, USERS = 100, 200

KOREAN = (
    "오늘 내일 어제 회의 점심 저녁 일정 확인 부탁 감사 자료 공유 검토 수정 배포 서버 "
    "문서 정리 보고 질문 답변 진행 완료 시작 예정 변경 요청 테스트 결과 문제 해결 "
    "프로젝트 고객 미팅 준비 발표 계획 업데이트 이슈 코드 리뷰 디자인 화면 버튼"
).split()
PARTICLES = ["", "", "을", "를", "이", "가", "은", "는", "에", "에서", "도", "로", "하고", "했어요", "할게요", "해요"]
ENGLISH = (
    "the a to and of for in on with please thanks check review deploy server build "
    "test fix bug issue update meeting lunch today tomorrow done start plan design "
    "code merge branch release ticket customer report question answer"
).split()
# (term, how often a message carries it)
PLANTED = {"견적서": 0.0001, "invoice": 0.0001, "회의": 0.05, "meeting": 0.05}
# "회의" and "meeting" are in the vocabulary too; planting makes the rates sure.


def message_text(rng):
    words = []
    for _ in range(rng.randint(3, 9)):
        if rng.random() < 0.6:
            words.append(rng.choice(KOREAN) + rng.choice(PARTICLES))
        else:
            words.append(rng.choice(ENGLISH))
    for term, rate in PLANTED.items():
        if rng.random() < rate:
            words.insert(rng.randrange(len(words) + 1), term + (rng.choice(PARTICLES) if term[0] > "z" else ""))
    if rng.random() < 0.1:
        words[0] = words[0].capitalize()
    return " ".join(words)


def admin():
    import sqlalchemy as sa

    url = sa.engine.make_url(database_uri(SERVER))
    return pymysql.connect(
        host=url.host,
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        charset="utf8mb4",
        local_infile=True,
        autocommit=True,
    )


def tsv(value):
    return "\\N" if value is None else str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def build(app, n, rng):
    from flask_migrate import upgrade

    from webchat.services import search_index

    with app.app_context():
        upgrade()
    conn = admin()
    cur = conn.cursor()
    cur.execute(f"USE {DATABASE}")
    cur.execute("SET unique_checks=0, foreign_key_checks=0")
    now = "2026-12-01 00:00:00.000000"
    cur.executemany(
        "INSERT INTO users (id, username, username_key, password_hash, token_generation, created_at, email_notify) "
        "VALUES (%s, %s, %s, 'x', 0, %s, 1)",
        [(i, f"user{i}", f"user{i}", now) for i in range(1, USERS + 1)],
    )
    cur.executemany(
        "INSERT INTO rooms (id, name, type, owner_id, last_seq, last_rev, counted_messages, created_at) "
        "VALUES (%s, %s, 'public', 1, 0, 0, 0, %s)",
        [(r, f"room {r}", now) for r in range(1, ROOMS + 1)],
    )
    members = {(r, 1) for r in range(1, ROOMS + 1)} | {
        (r, u) for r in range(1, ROOMS + 1) for u in rng.sample(range(2, USERS + 1), 10)
    }
    cur.executemany(
        "INSERT INTO memberships (room_id, user_id, role, active, joined_at, last_read_seq, counted_read) "
        "VALUES (%s, %s, 'member', 1, %s, 0, 0)",
        [(r, u, now) for r, u in sorted(members)],
    )
    room_members = {}
    for r, u in members:
        room_members.setdefault(r, []).append(u)
    seqs = dict.fromkeys(range(1, ROOMS + 1), 0)
    started = time.perf_counter()
    chunk = 100_000
    grams_total = 0
    for lo in range(1, n + 1, chunk):
        with (
            tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, encoding="utf-8") as messages_file,
            tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, encoding="utf-8") as grams_file,
        ):
            for message_id in range(lo, min(lo + chunk, n + 1)):
                # Rooms of very different sizes: a few busy ones, many quiet.
                room = min(ROOMS, int(rng.paretovariate(1.2)))
                seqs[room] += 1
                body = message_text(rng)
                column, normalised = search_index.search_text(body, body)
                created = f"2026-{1 + message_id * 11 // (n + 1):02d}-15 12:00:00.000000"
                messages_file.write(
                    "\t".join(
                        tsv(v)
                        for v in (
                            message_id,
                            room,
                            seqs[room],
                            rng.choice(room_members[room]),
                            "text",
                            body,
                            created,
                            seqs[room],
                            column,
                        )
                    )
                    + "\n"
                )
                for gram in search_index.grams_of(normalised):
                    grams_file.write(f"{tsv(gram)}\t{message_id}\t{room}\n")
                    grams_total += 1
        cur.execute(
            f"LOAD DATA LOCAL INFILE '{messages_file.name}' INTO TABLE messages CHARACTER SET utf8mb4 "
            "(id, room_id, seq, sender_id, kind, body, created_at, rev, search_text)"
        )
        cur.execute(
            f"LOAD DATA LOCAL INFILE '{grams_file.name}' INTO TABLE search_grams CHARACTER SET utf8mb4 "
            "(gram, message_id, room_id)"
        )
        os.unlink(messages_file.name)
        os.unlink(grams_file.name)
        print(f"  {min(lo + chunk - 1, n):>9,} messages, {grams_total:,} grams, {time.perf_counter() - started:.0f} s")
    cur.executemany(
        "UPDATE rooms SET last_seq = %s, last_rev = %s, counted_messages = %s WHERE id = %s",
        [(s, s, s, r) for r, s in seqs.items()],
    )
    cur.execute("ANALYZE TABLE messages, search_grams")
    cur.close()
    conn.close()
    return grams_total


def busiest_and_quiet_rooms(app):
    import sqlalchemy as sa

    from webchat.extensions import db

    with app.app_context():
        rows = db.session.execute(sa.text("SELECT id, last_seq FROM rooms ORDER BY last_seq DESC")).all()
    return rows[0], rows[len(rows) // 2]


def time_query(app, user_id, q, room_id, runs):
    from webchat.extensions import db
    from webchat.models import User
    from webchat.services import search

    times = []
    with app.app_context():
        user = db.session.get(User, user_id)
        results, _more = search.search(user, q, room_id=room_id)  # warm
        for _ in range(runs):
            start = time.perf_counter()
            search.search(user, q, room_id=room_id)
            times.append((time.perf_counter() - start) * 1000)
            db.session.rollback()
    times.sort()
    return len(results), statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true", help="JSON lines for bench/run.py")
    args = parser.parse_args()
    say = (lambda *a, **k: print(*a, file=sys.stderr, **k)) if args.json else print

    from webchat import create_app

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = database_uri(f"{SERVER.rstrip('/')}/{DATABASE}")
        RATELIMIT_ENABLED = False

    conn = admin()
    cur = conn.cursor()
    cur.execute("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s", (DATABASE,))
    exists = cur.fetchone()[0]
    if exists:
        cur.execute(f"SELECT COUNT(*) FROM {DATABASE}.messages")
        if cur.fetchone()[0] != args.messages:
            cur.execute(f"DROP DATABASE {DATABASE}")
            exists = False
    if not exists:
        cur.execute(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    conn.close()

    app = create_app(BenchConfig)
    if not exists:
        say(f"building {args.messages:,} messages ...")
        started = time.perf_counter()
        grams = build(app, args.messages, random.Random(21))
        built_s = time.perf_counter() - started
        say(f"built in {built_s:.0f} s: {grams:,} gram rows")
        if args.json:
            print(
                json.dumps(
                    {
                        "scenario": "search_build",
                        "messages": args.messages,
                        "grams": grams,
                        "build_s": round(built_s, 1),
                    }
                )
            )
    busy, quiet = busiest_and_quiet_rooms(app)
    say(
        f"user 1 is in all {ROOMS} rooms; busiest room {busy.id} ({busy.last_seq:,} messages), "
        f"a median room {quiet.id} ({quiet.last_seq:,})"
    )
    sizes = {"all rooms": args.messages, "busiest": busy.last_seq, "median": quiet.last_seq}
    queries = [
        ("rare Korean", "견적서"),
        ("rare English", "invoice"),
        ("common Korean", "회의"),
        ("common English", "meeting"),
        ("two terms", "회의 meeting"),
        ("rare + filter", "견적서 from:user3"),
        ("one syllable (scan)", "끝"),
    ]
    say(f"\n{'query':<34}{'room':<12}{'hits':>6}{'p50 ms':>10}{'p99 ms':>10}")
    for label, q in queries:
        for room_label, room_id in (("all rooms", None), ("busiest", busy.id), ("median", quiet.id)):
            runs = args.runs if "scan" not in label else max(5, args.runs // 20)
            hits, p50, p99 = time_query(app, 1, q, room_id, runs)
            say(f"{label + ' ' + q:<34}{room_label:<12}{hits:>6}{p50:>10.1f}{p99:>10.1f}")
            if args.json:
                record = {
                    "scenario": "search",
                    "messages": args.messages,
                    "query": label,
                    "q": q,
                    "room": room_label,
                    "searched": sizes[room_label],
                    "runs": runs,
                    "hits": hits,
                    "p50_ms": round(p50, 2),
                    "p99_ms": round(p99, 2),
                }
                print(json.dumps(record, ensure_ascii=False), flush=True)
    if not args.keep:
        conn = admin()
        conn.cursor().execute(f"DROP DATABASE {DATABASE}")
        conn.close()


if __name__ == "__main__":
    main()
