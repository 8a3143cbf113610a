"""Running calls at the same moment, each in a thread of its own, for the race tests."""

import threading

from webchat.errors import ChatError
from webchat.extensions import db
from webchat.services import accounts


def run_together(app, *calls):
    """Run calls at the same moment in threads with their own app contexts; returns
    each outcome ("ok" or the error code). Every thread holds a pooled connection at the
    barrier, so keep the calls under DB_POOL_SIZE + DB_MAX_OVERFLOW; a thread that fails
    before the barrier breaks it for all, rather than leaving the rest waiting forever."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call, args):
        with app.app_context():
            try:
                users = [accounts.get_user(a.id) if hasattr(a, "username") else a for a in args]
            except BaseException:
                barrier.abort()
                raise
            barrier.wait()
            try:
                call(*users)
                outcomes[i] = "ok"
            except ChatError as error:
                outcomes[i] = error.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c[0], c[1:])) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def at_once(function, items):
    """Call `function(item)` for every item, each in a thread, all released together."""
    items = list(items)
    start = threading.Barrier(len(items))

    def run(item):
        start.wait()
        function(item)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
