"""What the signup's new checks cost (issue 24): zxcvbn's estimate of a password
(`passwords.weakness`, which estimates the first 40 characters), by kind and length, a failed login for a name that exists and one that does not, and the look-alike username scan (services.accounts.lookalike_username) over
N existing users, on SQLite and MariaDB. Printed, never asserted.

    .venv/bin/python bench/account_checks_cost.py [--users 1000,10000,100000] [--runs 20]

The scan reads every username and computes its skeleton until one matches (here none
does: the worst case), since there is no skeleton column yet; the figures say when one is
needed. The users are bulk-inserted into a database built by the project's migrations.
"""

import argparse
import random
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from config import Config  # noqa: E402
from tests.support.databases import Backend, config_for  # noqa: E402
from webchat import create_app  # noqa: E402
from webchat.errors import ChatError  # noqa: E402
from webchat.extensions import db  # noqa: E402
from webchat.models import User  # noqa: E402
from webchat.services import accounts, passwords  # noqa: E402

PASSWORDS = {
    "common (password123)": "password123",
    "a passphrase (correct horse battery)": "correct horse battery",
    "Korean, 9 syllables": "우리집강아지이름은",
    "72 repeated letters": "a" * 72,
    "72 random characters": None,
}


def timed(function, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def estimates(runs):
    print(f"password strength (ms, median / max of {runs}; on a worker thread, not the event loop)")
    rng = random.Random(7)
    for label, password in PASSWORDS.items():

        def one(password=password):
            text = password or "".join(rng.choice(string.printable[:94]) for _ in range(72))
            passwords.weakness(text, "alice")  # as signup asks it: the first 40 characters

        median, worst = timed(one, runs)
        print(f"  {label:40} {median:7.1f} / {worst:7.1f}")


def failed_logins(runs, tmp):
    """A wrong password for a name that exists, and any password for one that does not, at
    the production argon2 cost: the two should not be told apart by their time."""
    backend = Backend("sqlite", SimpleNamespace(mktemp=lambda name: Path(tempfile.mkdtemp(prefix=name))))
    config = config_for(backend.fresh(tmp), tmp)
    config.ARGON2_TIME_COST, config.ARGON2_MEMORY_COST = Config.ARGON2_TIME_COST, Config.ARGON2_MEMORY_COST
    app = create_app(config)
    with app.app_context():
        accounts.signup("alice", "correct horse battery")
        print(f"failed login at the production argon2 cost (ms, median / max of {runs})")
        for label, name in (("existing name, wrong password", "alice"), ("name that does not exist", "nobody")):

            def one(name=name):
                try:
                    accounts.authenticate(name, "wrong password", address="198.51.100.1")
                except ChatError:
                    pass

            median, worst = timed(one, runs)
            print(f"  {label:40} {median:7.1f} / {worst:7.1f}")
        db.session.remove()
        db.engine.dispose()


def scans(backend_name, counts, runs, tmp):
    backend = Backend(backend_name, SimpleNamespace(mktemp=lambda name: Path(tempfile.mkdtemp(prefix=name))))
    try:
        app = create_app(config_for(backend.fresh(tmp), tmp))
        with app.app_context():
            have = 0
            for count in counts:
                rows = [
                    {"username": f"user{i:06d}", "username_key": f"user{i:06d}", "password_hash": "x"}
                    for i in range(have, count)
                ]
                for start in range(0, len(rows), 5000):
                    db.session.execute(sa.insert(User), rows[start : start + 5000])
                db.session.commit()
                have = count
                median, worst = timed(lambda: accounts.lookalike_username("newcomer"), runs)
                print(f"  {backend_name:8} {count:>8,} users  {median:8.1f} / {worst:8.1f} ms")
            db.session.remove()
            db.engine.dispose()
    finally:
        backend.drop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,mariadb")
    args = parser.parse_args()
    counts = [int(n) for n in args.users.split(",")]
    app = create_app(config_for("sqlite://", Path(tempfile.mkdtemp())))
    with app.app_context():
        estimates(args.runs)
    failed_logins(args.runs, Path(tempfile.mkdtemp()))
    print(f"look-alike scan at signup (ms, median / max of {args.runs}; no match, the worst case)")
    for name in args.backends.split(","):
        scans(name, counts, args.runs, Path(tempfile.mkdtemp()))


if __name__ == "__main__":
    main()
