"""Who is connected: this process's sockets and, from them, who is online.

The single-process default keeps it in memory. (With several nodes, presence must be
shared; see docs/deployment.md.)
"""
import threading
import time
from dataclasses import dataclass


@dataclass
class Connection:
    sid: str
    user_id: int
    username: str
    expires_at: float


class LocalPresence:
    """Sockets of this process, by sid and by user."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_sid = {}
        self._by_user = {}

    def add(self, connection):
        """Register a socket; True when it is the user's first (they came online)."""
        with self._lock:
            self._by_sid[connection.sid] = connection
            sids = self._by_user.setdefault(connection.user_id, set())
            sids.add(connection.sid)
            return len(sids) == 1

    def remove(self, sid):
        """Forget a socket; returns (connection, True if it was the user's last)."""
        with self._lock:
            connection = self._by_sid.pop(sid, None)
            if connection is None:
                return None, False
            sids = self._by_user.get(connection.user_id, set())
            sids.discard(sid)
            if not sids:
                self._by_user.pop(connection.user_id, None)
                return connection, True
            return connection, False

    def get(self, sid):
        return self._by_sid.get(sid)

    def is_online(self, user_id):
        return user_id in self._by_user

    def online_among(self, user_ids):
        """The subset of `user_ids` with at least one socket."""
        return {uid for uid in user_ids if uid in self._by_user}

    def expired(self, now=None):
        """Sockets whose token has expired without renewal."""
        now = now or time.time()
        return [c.sid for c in list(self._by_sid.values()) if c.expires_at <= now]

    def clear(self):
        with self._lock:
            self._by_sid.clear()
            self._by_user.clear()


def init_app(app):
    app.extensions["webchat.presence"] = LocalPresence()


def current_presence():
    """The presence registry of the current app."""
    from flask import current_app

    return current_app.extensions["webchat.presence"]
