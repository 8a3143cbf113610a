"""Coalesced rounds: events that say "this changed" (a room's unread counts, who in it
is online), sent at most once per interval per key and read fresh when sent, by one
background task of this process."""

import threading
import time

from .. import metrics
from ..extensions import db, socketio
from .events import emit_each

# A round sends this many events at a time, then lets the event loop run other work for
# a moment: a sleep(0) would not, since the hub resumes a zero timer before it looks at
# sockets again.
ROUND_CHUNK = 25
ROUND_PAUSE_SECONDS = 0.001


class Rounds:
    """`touch(key)` after a change; `event` goes to each (channels, data) that
    `deliveries_of(key)` returns, soon after.

    A key touched while the task rests waits for the next round; a quiet key goes at
    once. So a busy key is sent at most once per `interval`, however many changes arrive
    meanwhile. The deliveries are read when the round runs, so a round never undoes a
    later one. With an interval of 0 every touch is sent at once (the tests want events
    in commit order). One failed round is logged and the task goes on.
    """

    def __init__(self, app, interval, event, deliveries_of, what):
        self.app, self.interval, self.event, self.deliveries_of, self.what = app, interval, event, deliveries_of, what
        self.dirty = set()
        self.lock = threading.Lock()
        self.wake = None
        self.task = None

    def touch(self, key):
        if not self.interval:
            self.send(key)
            return
        with self.lock:
            self.dirty.add(key)
            if self.task is None:
                self.wake = socketio.server.eio.create_event()
                self.task = socketio.start_background_task(self._run)
        self.wake.set()

    def _run(self):
        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                keys, self.dirty = self.dirty, set()
            for key in sorted(keys):
                self.send(key)
            socketio.sleep(self.interval)

    def send(self, key):
        """One round for `key`, now, in an app context of its own. Sent in chunks with a
        pause between them, so that a large room's round (up to an event per member)
        never holds the event loop for long: sends and deliveries go first."""
        started = time.perf_counter()
        with self.app.app_context():
            try:
                deliveries = self.deliveries_of(key)
                db.session.remove()  # no connection held through the pauses
                for start in range(0, len(deliveries), ROUND_CHUNK):
                    if start:
                        socketio.sleep(ROUND_PAUSE_SECONDS)
                    emit_each(self.event, deliveries[start : start + ROUND_CHUNK])
            except Exception:  # noqa: BLE001 - one bad round must not end the task
                self.app.logger.exception("%s of %s were not sent", self.what, key)
            finally:
                db.session.remove()
                metrics.ROUND_SECONDS.labels(self.event).observe(time.perf_counter() - started)
