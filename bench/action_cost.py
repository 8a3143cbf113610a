"""The server's own CPU per action of the capacity mix (issue 25), without a network
client in the way: the figures behind docs/capacity.md's model and the cuts to
`open_room`.

Drives the /chat namespace's real event wrapper (Flask-SocketIO's test client, threading
mode) and the JSON API (Flask's test client) against MariaDB, with Redis for presence
and rate limits as in a deployment (--no-redis: in-process presence), and prints per
action: the process's CPU time (every thread: the rounds a send starts are its cost),
SQL statements, and database round trips.

    .venv/bin/python bench/action_cost.py [--repeat 200] [--rounds 5] [--json]
        [--profile ACTION --profile-out out.txt] [--sqlite]

The room the actions run in has 2, 10, 50 or 200 members (the capacity scenario's sizes),
half of them online, and 60 messages (every fifth with reactions, every seventh a reply).
Actions take turns in --rounds blocks, so that a shared machine's noise falls on all alike.

  open_room <size>   the socket's open_room (room, members with presence, latest page)
  mark_read          of the room's latest message (the second half of a room switch)
  typing             the typing signal (the one a post starts with; not coalesced here)
  history            GET /api/v1/rooms/<id>/messages?before_seq=..., a page of 50
  react              a reaction added, then removed (each counted as one action)
  send <size>        send_message into the room (and the unread rounds it starts)
  rooms              GET /api/v1/rooms (the room list a page load and a reconnect read)
  open_direct new    POST /api/v1/rooms/direct with someone new (201), then its open_room
  open_direct again  the same with someone I have a direct room with (409 and its id)

(The open_direct actions are another user's, "dm", with a socket of their own: the
direct rooms they make would otherwise lengthen my room list between rounds.)
"""

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from send_cost import Counter, mariadb_schema  # noqa: E402

from config import Config  # noqa: E402

SIZES = (2, 10, 50, 200)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="times each action runs in all")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-redis", action="store_true", help="in-process presence, no Redis")
    parser.add_argument("--sqlite", action="store_true", help="the embedded SQLite instead of MariaDB")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--profile", help="an action's name (e.g. 'open_room 200'): cProfile it")
    parser.add_argument("--profile-out", default="action_profile.txt")
    args = parser.parse_args()
    if args.sqlite:
        with tempfile.TemporaryDirectory(dir=ROOT / "bench") as folder:
            report(args, measure(args, f"sqlite:///{folder}/webchat.db"))
        return
    with mariadb_schema("actioncost") as uri:
        report(args, measure(args, uri))


def measure(args, uri):
    from flask_migrate import upgrade

    from webchat import create_app
    from webchat.extensions import db, socketio

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = uri
        ASYNC_MODE = "threading"
        REDIS_URL = None if args.no_redis else REDIS_URL
        CLUSTER_NAME = f"actioncost-{uuid.uuid4().hex[:6]}"
        RATELIMIT_ENABLED = False
        TYPING_INTERVAL_SECONDS = 0
        SECRET_KEY = JWT_SECRET_KEY = "action-cost-bench-secret-key-of-some-length"
        ARGON2_TIME_COST, ARGON2_MEMORY_COST = 1, 8192

    app = create_app(BenchConfig)
    counter = Counter()
    with app.app_context():
        upgrade()
        world = build_world(args.repeat)
        sa.event.listen(db.engine, "before_cursor_execute", counter.statement)
        db.session.remove()
    sock = socketio.test_client(app, namespace="/chat", auth={"token": world["token"]})
    dm_sock = socketio.test_client(app, namespace="/chat", auth={"token": world["dm_token"]})
    assert sock.is_connected("/chat") and dm_sock.is_connected("/chat"), "the bench's socket was refused"
    http = app.test_client()
    actions = define_actions(sock, dm_sock, http, world)
    for run in actions.values():  # warm-up: pools, caches, compiled statements
        for _ in range(10):
            run()
    sock.get_received("/chat"), dm_sock.get_received("/chat")

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
    totals = {name: {"cpu": 0.0, "statements": 0, "round_trips": 0, "n": 0} for name in actions}
    rounds = max(1, args.rounds)
    for r in range(rounds):
        block = args.repeat // rounds + (1 if r < args.repeat % rounds else 0)
        for name, run in actions.items():
            profiling = profiler is not None and name == args.profile
            statements, commands = counter.statements, counter.commands
            counter.on = True
            if profiling:
                profiler.enable()
            started = time.process_time()
            for _ in range(block):
                run()
            spent = time.process_time() - started
            if profiling:
                profiler.disable()
            counter.on = False
            sock.get_received("/chat"), dm_sock.get_received("/chat")
            total = totals[name]
            total["cpu"] += spent
            total["n"] += block
            total["statements"] += counter.statements - statements
            total["round_trips"] += counter.commands - commands
    if profiler:
        import pstats

        with open(args.profile_out, "w") as out:
            pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
                int(os.environ.get("TOP", "50"))
            )
    sock.disconnect("/chat")
    dm_sock.disconnect("/chat")
    time.sleep(1)  # the last sends' unread rounds, before the schema goes
    with app.app_context():
        db.engine.dispose()
    database = "sqlite" if args.sqlite else "mariadb"
    return {
        "database": database,
        "presence": "local" if args.no_redis else "redis",
        "repeat": args.repeat,
        "actions": {
            name: {
                "cpu_ms": round(1000 * t["cpu"] / t["n"], 3),
                "statements": round(t["statements"] / t["n"], 2),
                "round_trips": round(t["round_trips"] / t["n"], 2),
            }
            for name, t in totals.items()
        },
    }


def build_world(repeat):
    """The bench's user ("me"), 199 others, a room of each size with me in it and 60
    messages, half of everyone online; "dm", with a direct room with user000, and
    `repeat` + 20 strangers for dm's new direct rooms. Returns ids, names and tokens."""
    from webchat import realtime
    from webchat.realtime import Connection
    from webchat.services import accounts, messages, reactions, rooms

    me = accounts.signup("me", "tangerine kettle harbor me")
    others = [accounts.signup(f"user{i:03}", "tangerine kettle harbor user") for i in range(max(SIZES) - 1)]
    # Someone new for each `open_direct new` (the warm-up's and every repeat's).
    strangers = [accounts.signup(f"new{i:04}", "tangerine kettle harbor new").username for i in range(repeat + 20)]
    room_ids = {}
    for size in SIZES:
        room = rooms.create_room(me, f"room of {size}")
        for user in others[: size - 1]:
            rooms.join_room(user, room["id"])
        people = [me, *others[: size - 1]]
        sent = []
        for i in range(60):
            sender = people[i % len(people)]
            reply_to = sent[-3] if i % 7 == 6 and len(sent) >= 3 else None
            message, _ = messages.send_message(
                sender, room["id"], f"회의 자료 공유드립니다 review {i}", f"seed-{size}-{i}", reply_to=reply_to
            )
            sent.append(message.id)
            if i % 5 == 0:
                for j, emoji in enumerate(("👍", "🎉", "✅")):
                    reactions.react(people[(i + j) % len(people)], message.id, emoji, add=True)
        room_ids[size] = room["id"]
    dm = accounts.signup("dm", "tangerine kettle harbor dm")
    rooms.create_direct(dm, [others[0].username])  # for `open_direct again`
    presence = realtime.current_presence()
    for user in others[::2]:
        presence.add(Connection(sid=f"bench-{user.id}", user_id=user.id, username=user.username, expires_at=2e9))
    latest = {size: messages.history(me, room_id)[0][-1] for size, room_id in room_ids.items()}
    return {
        "token": accounts.issue_tokens(me)["access_token"],
        "strangers": strangers,
        "dm_token": accounts.issue_tokens(dm)["access_token"],
        "rooms": room_ids,
        "latest": {size: (m.id, m.seq) for size, m in latest.items()},
    }


def define_actions(sock, dm_sock, http, world):
    """name -> a function doing the action once (and checking its answer)."""
    headers = {"Authorization": f"Bearer {world['token']}"}
    dm_headers = {"Authorization": f"Bearer {world['dm_token']}"}

    def ack(event, data, socket=sock):
        answer = socket.emit(event, data, namespace="/chat", callback=True)
        assert answer and answer.get("ok"), (event, answer)
        return answer

    def opener(size):
        return lambda: ack("open_room", {"room_id": world["rooms"][size]})

    sent = iter(range(10**9))

    def sender(size):
        return lambda: ack(
            "send_message",
            {"room_id": world["rooms"][size], "body": "점심 뭐 먹을까요?", "client_id": f"a{next(sent)}"},
        )

    toggle = {"add": True}

    def react():
        message_id = world["latest"][50][0]
        ack("react", {"message_id": message_id, "emoji": "👀", "add": toggle["add"]})
        toggle["add"] = not toggle["add"]

    def history():
        room_id, (_id, seq) = world["rooms"][50], world["latest"][50]
        response = http.get(f"/api/v1/rooms/{room_id}/messages?before_seq={seq - 5}&limit=50", headers=headers)
        assert response.status_code == 200, response.text

    def room_list():
        response = http.get("/api/v1/rooms", headers=headers)
        assert response.status_code == 200, response.text

    strangers = iter(world["strangers"])

    def open_direct(username, status):
        response = http.post("/api/v1/rooms/direct", json={"usernames": [username]}, headers=dm_headers)
        assert response.status_code == status, response.text
        body = response.get_json()
        ack("open_room", {"room_id": body["room"]["id"] if status == 201 else body["error"]["room_id"]}, dm_sock)

    actions = {f"open_room {size}": opener(size) for size in SIZES}
    actions["mark_read"] = lambda: ack(
        "mark_read", {"room_id": world["rooms"][50], "message_id": world["latest"][50][0]}
    )
    actions["typing"] = lambda: ack("typing", {"room_id": world["rooms"][50]})
    actions["history"] = history
    actions["react"] = react
    actions["rooms"] = room_list
    actions["open_direct new"] = lambda: open_direct(next(strangers), 201)
    actions["open_direct again"] = lambda: open_direct("user000", 409)
    for size in (2, 50, 200):
        actions[f"send {size}"] = sender(size)
    return actions


def report(args, result):
    if args.json:
        print(json.dumps(result))
        return
    print(f"database={result['database']} presence={result['presence']} repeat={result['repeat']}")
    print(f"{'action':<16}{'cpu ms':>10}{'statements':>12}{'round trips':>13}")
    for name, a in result["actions"].items():
        print(f"{name:<16}{a['cpu_ms']:>10.3f}{a['statements']:>12.2f}{a['round_trips']:>13.2f}")


if __name__ == "__main__":
    main()
