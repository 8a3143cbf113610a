"""Who is connected: every socket's user and token expiry, and from that who is online.

`LocalPresence` keeps it in memory for a single process (the embedded default).
`RedisPresence` shares it between nodes when `REDIS_URL` is set: each node registers its
sockets under its own id and refreshes a heartbeat; a node that stops heartbeating (it
crashed) is swept by the others, so its sockets do not stay online forever.
"""

import logging
import threading
import time
import uuid
from dataclasses import dataclass

from .redis_pool import redis_client

logger = logging.getLogger(__name__)


@dataclass
class Connection:
    """One socket: whose it is and the credential it was let in with (the token's expiry,
    the user's token generation, the refresh family if any), for the revocation checks."""

    sid: str
    user_id: int
    username: str
    expires_at: float
    generation: int = 0
    family: str | None = None
    locale: str = "en"  # the language its acks' messages speak, settled at connect

    @property
    def credential(self):
        return self.user_id, self.generation, self.family


class LocalPresence:
    """This process's sockets, by sid and by user."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_sid = {}
        self._by_user = {}

    def add(self, connection):
        """Register a socket; returns how many its user has now (1: they just came online)."""
        with self._lock:
            self._by_sid[connection.sid] = connection
            sids = self._by_user.setdefault(connection.user_id, set())
            sids.add(connection.sid)
            return len(sids)

    def remove(self, sid):
        """Forget a socket; returns (connection or None, True if the user went offline)."""
        with self._lock:
            connection = self._by_sid.pop(sid, None)
            if connection is None:
                return None, False
            sids = self._by_user.get(connection.user_id, set())
            sids.discard(sid)
            if sids:
                return connection, False
            self._by_user.pop(connection.user_id, None)
            return connection, True

    def get(self, sid):
        """A socket of this process."""
        return self._by_sid.get(sid)

    def online_among(self, user_ids):
        """The subset of `user_ids` with at least one socket."""
        return {uid for uid in user_ids if uid in self._by_user}

    def connections(self):
        """This process's sockets."""
        return list(self._by_sid.values())

    def counts(self):
        """(sockets, users) of this process, for the metrics."""
        return len(self._by_sid), len(self._by_user)

    def expired(self, now=None):
        """This process's sockets whose token expired without renewal."""
        now = now or time.time()
        return [c.sid for c in list(self._by_sid.values()) if c.expires_at <= now]

    def heartbeat(self):
        """Nothing to share in a single process."""


# For each key, 1 if it exists, else 0.
_EXISTS_EACH = """
local found = {}
for i, key in ipairs(KEYS) do found[i] = redis.call('EXISTS', key) end
return found
"""


class RedisPresence(LocalPresence):
    """Presence shared by every node through Redis.

    Keys, under the cluster's prefix: `user:<id>` hash sid -> node id (all sockets of a
    user, cluster-wide); `node:<id>` hash sid -> user id (one node's sockets); `nodes`
    sorted set of node ids scored by their last heartbeat.

    When Redis is unreachable the node keeps serving on what it knows locally, and its
    heartbeat writes its sockets back once Redis returns (Redis may have lost them).
    """

    def __init__(self, url, prefix="webchat", node_timeout=20):
        import redis

        super().__init__()
        # A burst of sockets (a restart, the morning) waits for a pooled connection: a
        # refused write would leave Redis, and so every node, wrong about who is online.
        self.redis = redis_client(url)
        self.errors = (redis.RedisError, OSError)
        self.needs_repair = False  # a write failed: the next heartbeat makes Redis right
        self.node_id = uuid.uuid4().hex[:12]
        self.prefix = prefix
        self.node_timeout = node_timeout
        self._exists_each = self.redis.register_script(_EXISTS_EACH)

    def _user(self, user_id):
        return f"{self.prefix}:user:{user_id}"

    def _node(self, node_id):
        return f"{self.prefix}:node:{node_id}"

    @property
    def _nodes(self):
        return f"{self.prefix}:nodes"

    def _shared(self, action, fallback):
        """Run a Redis action; on an outage, log it and answer from local knowledge."""
        try:
            return action()
        except self.errors:
            logger.warning("presence: Redis unavailable, using this node's view", exc_info=True)
            self.needs_repair = True
            return fallback()

    def add(self, connection):
        """The user's sockets on every node, this one included."""
        here = super().add(connection)

        def register():
            key = self._user(connection.user_id)
            pipe = self.redis.pipeline()
            pipe.zadd(self._nodes, {self.node_id: time.time()})
            pipe.hset(key, connection.sid, self.node_id)
            pipe.hset(self._node(self.node_id), connection.sid, connection.user_id)
            pipe.hlen(key)
            return pipe.execute()[-1]

        return self._shared(register, lambda: here)

    def remove(self, sid):
        connection, went_offline_here = super().remove(sid)
        if connection is None:
            return None, False

        def unregister():
            key = self._user(connection.user_id)
            pipe = self.redis.pipeline()
            pipe.hdel(key, sid)
            pipe.hdel(self._node(self.node_id), sid)
            pipe.hlen(key)
            return pipe.execute()[-1] == 0

        return connection, self._shared(unregister, lambda: went_offline_here)

    def online_among(self, user_ids):
        """One command however many users (a room of 200 asked as 200 EXISTS in a
        pipeline cost more of this process's CPU than the rest of its member list)."""
        user_ids = list(user_ids)
        if not user_ids:
            return set()

        def lookup():
            present = self._exists_each(keys=[self._user(uid) for uid in user_ids])
            return {uid for uid, here in zip(user_ids, present, strict=True) if here}

        return self._shared(lookup, lambda: super(RedisPresence, self).online_among(user_ids))

    def heartbeat(self):
        """Refresh this node's heartbeat, make Redis hold exactly this node's sockets if
        it may not (Redis lost them, or a write failed), and sweep nodes that stopped
        heartbeating (they crashed)."""
        self._shared(self._heartbeat, lambda: None)

    def _heartbeat(self):
        now = time.time()
        repair, self.needs_repair = self.needs_repair, False
        if repair or (self._by_sid and not self.redis.exists(self._node(self.node_id))):
            self._write_back()
        self.redis.zadd(self._nodes, {self.node_id: now})
        for dead in self.redis.zrangebyscore(self._nodes, "-inf", now - self.node_timeout):
            dead = dead.decode()
            sockets = self.redis.hgetall(self._node(dead))
            pipe = self.redis.pipeline()
            for sid, user_id in sockets.items():
                pipe.hdel(self._user(user_id.decode()), sid)
            pipe.delete(self._node(dead))
            pipe.zrem(self._nodes, dead)
            pipe.execute()

    def _write_back(self):
        """Register the sockets this node has and Redis lacks; drop the ones Redis holds
        for this node that it no longer has (a disconnect whose write failed)."""
        stored = self.redis.hgetall(self._node(self.node_id))
        local = dict(self._by_sid)  # read after Redis answered: sockets may come and go
        pipe = self.redis.pipeline()
        for sid, user_id in stored.items():
            if sid.decode() not in local:
                pipe.hdel(self._user(user_id.decode()), sid)
                pipe.hdel(self._node(self.node_id), sid)
        for c in local.values():
            pipe.hset(self._user(c.user_id), c.sid, self.node_id)
            pipe.hset(self._node(self.node_id), c.sid, c.user_id)
        pipe.execute()


def presence_for(config):
    """The registry an app's config asks for: shared through Redis, or this process's."""
    url = config.get("REDIS_URL")
    if url:
        return RedisPresence(
            url, prefix=f"{config['CLUSTER_NAME']}:presence", node_timeout=config["PRESENCE_NODE_TIMEOUT_SECONDS"]
        )
    return LocalPresence()
