"""The login storm's accounts (issue 25, `BENCH_SCENARIOS=login_storm`), made before the
server starts: users who signed up long ago, so that the storm is logins, not signups.

    WEBCHAT_NO_PATCH=1 DATABASE_URL=... .venv/bin/python bench/storm_users.py \\
        --prefix s1a2b3 --background 250 --storm 1000 --room-size 50 --password ...

Run with the bench server's environment (its database, instance folder and ARGON2_*
settings), as a `flask` command is. Signing 1,250 users up through the API would cost
two argon2 hashes each at the production parameters (0.3 s of CPU apiece here): minutes
of set-up. Instead every account is a real `User` row (the name's key and look-alike
skeleton from webchat's own functions) holding one argon2 hash of the password made here
with the server's parameters, so that a login verifies at the production cost and needs
no rehash. The storm's users are then put in public rooms of `room_size` through the
rooms service (create_room, join_room, as the API does), one room each to open after
logging in. Prints one JSON object: {"background": [names], "storm": [[name, room_id]]}.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True, help="usernames are <prefix>u<i>")
    parser.add_argument("--background", type=int, default=250)
    parser.add_argument("--storm", type=int, default=1000)
    parser.add_argument("--room-size", type=int, default=50)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()

    from argon2 import PasswordHasher

    from webchat.extensions import db
    from webchat.models import User
    from webchat.services import accounts, rooms
    from wsgi import app

    with app.app_context():
        cfg = app.config
        password_hash = PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"]).hash(
            args.password
        )
        names = [f"{args.prefix}u{i}" for i in range(args.background + args.storm)]
        db.session.add_all(
            User(
                username=name,
                username_key=accounts.username_key(name),
                username_skeleton=accounts.username_skeleton(name),
                password_hash=password_hash,
            )
            for name in names
        )
        db.session.commit()
        storm_users = User.query.filter(User.username.in_(names[args.background :])).order_by(User.id).all()
        storm = []
        for start in range(0, len(storm_users), args.room_size):
            group = storm_users[start : start + args.room_size]
            room = rooms.create_room(group[0], f"storm {args.prefix} {start // args.room_size + 1}")
            for user in group[1:]:
                rooms.join_room(user, room["id"])
            storm += [[user.username, room["id"]] for user in group]
        print(json.dumps({"background": names[: args.background], "storm": storm, "argon2": password_hash[:30]}))


if __name__ == "__main__":
    main()
