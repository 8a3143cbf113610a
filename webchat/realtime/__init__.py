"""Delivery: everything that leaves the server over Socket.IO, and when.

Services say what changed, inside their transaction (`emit_after_commit`, the cuts,
`touch_after_commit` for a coalesced round); this package decides when and how it
leaves: after the commit, batched through the message queue, coalesced into rounds.
It also holds who is connected (`presence`), the Socket.IO client managers
(`managers`), the Redis pools (`redis_pool`), each process's housekeeping task and its
drain before it stops (`lifecycle`).
Nothing here imports the services: they register what a round reads
(`define_rounds`), and the chat adapter hands housekeeping its reconciliation.

One extension object per app, `Realtime`, holds the process's state.
"""

from functools import partial

from flask import current_app

from . import housekeeping, lifecycle
from .channels import NAMESPACE, family_channel, parse_channel, room_channel, user_channel
from .events import (
    after_commit,
    disconnect_family_after_commit,
    disconnect_user,
    disconnect_user_after_commit,
    emit_after_commit,
    emit_each,
    emit_many,
    emit_now,
    install_hooks,
    leave_room,
    leave_room_after_commit,
)
from .presence import Connection, presence_for
from .rounds import Rounds

__all__ = [
    "NAMESPACE",
    "Connection",
    "Realtime",
    "after_commit",
    "current",
    "current_presence",
    "define_rounds",
    "draining",
    "event_running",
    "disconnect_family_after_commit",
    "disconnect_user",
    "disconnect_user_after_commit",
    "emit_after_commit",
    "emit_each",
    "emit_many",
    "emit_now",
    "family_channel",
    "init_app",
    "leave_room",
    "leave_room_after_commit",
    "parse_channel",
    "room_channel",
    "start_housekeeping",
    "touch",
    "touch_after_commit",
    "user_channel",
]

_EXTENSION = "webchat.realtime"


class Realtime:
    """One app's delivery state: its presence registry, its rounds by kind, and whether
    its housekeeping task runs."""

    def __init__(self, app):
        self.app = app
        self.presence = presence_for(app.config)
        self.rounds = {}
        self.housekeeping_started = False


def init_app(app):
    install_hooks()
    app.extensions[_EXTENSION] = Realtime(app)


def current():
    """The current app's `Realtime`."""
    return current_app.extensions[_EXTENSION]


def current_presence():
    """The presence registry of the current app."""
    return current().presence


def define_rounds(app, kind, setting, event, deliveries_of, what):
    """Rounds of `event` for `kind`, every `setting` milliseconds (0: with each touch);
    `deliveries_of(key)` reads the (channels, data) pairs a round sends."""
    interval = (app.config.get(setting) or 0) / 1000
    app.extensions[_EXTENSION].rounds[kind] = Rounds(app, interval, event, deliveries_of, what)


def touch(kind, key):
    """`key` changed: its round of `kind` goes soon (now, outside any transaction)."""
    current().rounds[kind].touch(key)


def touch_after_commit(kind, key):
    """`key` changed in the current transaction: its round goes once it commits."""
    after_commit(partial(current().rounds[kind].touch, key))


def draining():
    """Whether this node is draining before it stops (`lifecycle`)."""
    return lifecycle.of(current_app).draining


def event_running():
    """A context around a socket event, which a drain waits for (`lifecycle`)."""
    return lifecycle.of(current_app).event_running()


def start_housekeeping(reconcile):
    """Start this app's housekeeping task, once (see `housekeeping`)."""
    housekeeping.start(current(), reconcile)
