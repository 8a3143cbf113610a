"""The Socket.IO client managers: python-socketio's Redis and Kombu (RabbitMQ)
managers between nodes, able to relay several emits as one queue message, and the single
process's manager; all of them can cut sockets by channel (`ChannelActions`).

python-socketio publishes every emit to the queue on its own: a JSON encoding, a
PUBLISH round trip, and every node (the sender too) receiving and decoding it, 85 µs of
CPU per emit here. A round of unread counts is one emit per distinct count, up to one
per member of the room, four times a second in a busy room. `emit_many` delivers a
whole batch to this node's sockets and relays it to the other nodes in one message.
Data must be JSON (the batch carries no binary attachments).
"""

import time
from collections import deque

import socketio
from socketio.manager import Manager

from .. import metrics
from .redis_pool import SENTINEL_SCHEME, redis_client

# How long a socket still inside its connect handler may take to finish it before a cut
# aimed at its channel gives up waiting (it is then refused or gone anyway).
CONNECTING_GRACE_SECONDS = 10

# What a Redis queue keeps while Redis cannot be reached (`RedisQueue`): at most this many
# messages (the oldest go first), retried this often, waiting at most this long for the
# other nodes to subscribe again before publishing anyway.
BACKLOG_LIMIT = 10_000
BACKLOG_RETRY_SECONDS = 0.25
BACKLOG_WAIT_SECONDS = 30


class ChannelActions:
    """Cuts aimed at a channel (a user's, a token family's), applied to the sockets the
    Socket.IO manager itself holds in that channel. Only the server puts a socket into
    these channels, at connect, so no client event can take itself out of their reach."""

    def act_on_channel(self, namespace, action, channel, room=None):
        """On every node: `"disconnect"` the sockets in `channel`, or `"leave"` makes
        them leave `room`. Without a queue, "every node" is this one."""
        self._act_here(namespace, action, channel, room)

    def _act_here(self, namespace, action, channel, room):
        for sid, _eio_sid in list(self.get_participants(namespace, channel)):
            if action == "leave":
                Manager.leave_room(self, sid, namespace, room)
            elif self.is_connected(sid, namespace):
                self.server.disconnect(sid, namespace=namespace, ignore_queue=True)
            elif self.is_pre_connected(sid, namespace):
                # Still in its connect handler, where a disconnect is a no-op: cut it as
                # soon as the handshake completes.
                self.server.start_background_task(self._disconnect_once_connected, sid, namespace)

    def _disconnect_once_connected(self, sid, namespace):
        for _ in range(CONNECTING_GRACE_SECONDS * 20):
            if self.is_connected(sid, namespace):
                self.server.disconnect(sid, namespace=namespace, ignore_queue=True)
                return
            if not self.is_pre_connected(sid, namespace):
                return
            self.server.sleep(0.05)


class LocalManager(ChannelActions, Manager):
    """The manager of a single process (no message queue)."""


class BatchingQueue(ChannelActions):
    """A mixin for python-socketio's pub/sub managers: `emit_many`, and its receiving
    end. A batch travels as an `emit` message with a `batch` key."""

    def emit_many(self, namespace, emits):
        """Send each (event, data, to, skip_sid) of `emits`, in order: to this node's
        sockets at once, to the other nodes' in one queue message."""
        if not emits:
            return
        for event, data, to, skip_sid in emits:
            Manager.emit(self, event, data, namespace, room=to, skip_sid=skip_sid)
        self._publish(
            {"method": "emit", "batch": [list(emit) for emit in emits], "namespace": namespace, "host_id": self.host_id}
        )

    def act_on_channel(self, namespace, action, channel, room=None):
        """Here, and on the other nodes through the queue (see `ChannelActions`)."""
        self._act_here(namespace, action, channel, room)
        self._publish(
            {
                "method": "emit",
                "channel_action": [action, channel, room],
                "namespace": namespace,
                "host_id": self.host_id,
            }
        )

    def _publish(self, data):
        """Every publish, timed for the metrics."""
        started = time.perf_counter()
        try:
            return self._publish_queued(data)
        finally:
            metrics.QUEUE_PUBLISH.observe(time.perf_counter() - started)

    def _publish_queued(self, data):
        """python-socketio's publish (a subclass may keep what it could not send)."""
        return super()._publish(data)

    def _handle_emit(self, message):
        """Another node's emit: a batch is delivered here item by item; a channel action
        is applied to this node's sockets."""
        if "channel_action" in message:
            return self._act_here(message["namespace"], *message["channel_action"])
        if "batch" not in message:
            return super()._handle_emit(message)
        for event, data, to, skip_sid in message["batch"]:
            Manager.emit(self, event, data, message["namespace"], room=to, skip_sid=skip_sid)


class RedisQueue(BatchingQueue, socketio.RedisManager):
    """python-socketio's Redis manager, which keeps what it could not publish.

    Its own `_publish` gives up after two attempts: while Redis is down or failing over,
    the other nodes never get those events, and a page there misses the messages sent
    meanwhile until the next one crosses (its seq past the gap makes it catch up). Here
    what could not be published waits, in order, and goes out once Redis answers again
    and the other nodes have subscribed anew (`PUBSUB NUMSUB` back to the count seen
    before, or after BACKLOG_WAIT_SECONDS): late rather than never."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._backlog = deque(maxlen=BACKLOG_LIMIT)  # JSON-encoded messages, oldest first
        self._retrying = False
        self._receivers = 0  # nodes (this one too) that received the last publish

    def _publish_queued(self, data):
        message = self.json.dumps(data)
        if self._backlog:  # behind the ones waiting, to keep the order
            self._backlog.append(message)
            return
        if not self._send(message):
            self._backlog.append(message)
            self._start_retrying()

    def _send(self, message):
        """Publish one message (a second attempt on a fresh connection); False if Redis
        cannot be reached."""
        for _attempt in range(2):
            try:
                if not self.connected:
                    self._redis_connect()
                self._receivers = self.redis.publish(self.channel, message)
                return True
            except Exception:  # noqa: BLE001 - any failure: reconnect, then keep it for later
                self.connected = False
        return False

    def _start_retrying(self):
        if not self._retrying:
            self._retrying = True
            self._get_logger().warning("message queue unreachable: keeping what this node publishes until it is back")
            self.server.start_background_task(self._publish_backlog)

    def _publish_backlog(self):
        try:
            expected, waited = self._receivers, 0.0
            while self._backlog:
                if waited < BACKLOG_WAIT_SECONDS and self._subscribers() < expected:
                    self.server.sleep(BACKLOG_RETRY_SECONDS)  # Redis is down, or the nodes not back yet
                    waited += BACKLOG_RETRY_SECONDS
                elif self._send(self._backlog[0]):
                    self._backlog.popleft()
                else:
                    self.server.sleep(BACKLOG_RETRY_SECONDS)
            self._get_logger().warning("message queue back: what was kept is published")
        finally:
            self._retrying = False

    def _subscribers(self):
        try:
            if not self.connected:
                self._redis_connect()
            return dict(self.redis.pubsub_numsub(self.channel)).get(self.channel.encode(), 0)
        except Exception:  # noqa: BLE001 - unreachable still
            self.connected = False
            return 0

    def _redis_connect(self):
        """Publish through a blocking pool (see `redis_pool`): python-socketio's default
        pool refuses the 101st concurrent publisher, and a refused publish makes it
        reconnect. The subscriber holds one of the pool's connections; its blocking
        read waits for the next message whatever the pool's command timeout. Through
        Sentinel (`redis+sentinel://`) both follow the primary: after a failover the
        subscriber's read fails, python-socketio reconnects here, and the new client
        asks the sentinels where the primary now is."""
        self.redis = redis_client(self.redis_url)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True


class KombuQueue(BatchingQueue, socketio.KombuManager):
    pass


def client_manager(url, channel):
    """The client manager: for queue `url` (`redis://`, `rediss://`, `redis+sentinel://`,
    or anything kombu reaches: `amqp://` for RabbitMQ) on `channel`, or this process's own
    without one."""
    if not url:
        return LocalManager()
    queue_class = RedisQueue if url.startswith(("redis://", "rediss://", SENTINEL_SCHEME)) else KombuQueue
    return queue_class(url, channel=channel)
