"""The Socket.IO message queue between nodes: python-socketio's Redis and Kombu
(RabbitMQ) managers, able to relay several emits as one queue message.

python-socketio publishes every emit to the queue on its own: a JSON encoding, a
PUBLISH round trip, and every node (the sender too) receiving and decoding it, 85 µs of
CPU per emit here. A round of unread counts is one emit per distinct count, up to one
per member of the room, four times a second in a busy room. `emit_many` delivers a
whole batch to this node's sockets and relays it to the other nodes in one message.
Data must be JSON (the batch carries no binary attachments).
"""
import redis
import socketio
from socketio.manager import Manager

from .redis_pool import blocking_pool


class BatchingQueue:
    """A mixin for python-socketio's pub/sub managers: `emit_many`, and its receiving
    end. A batch travels as an `emit` message with a `batch` key."""

    def emit_many(self, namespace, emits):
        """Send each (event, data, to, skip_sid) of `emits`, in order: to this node's
        sockets at once, to the other nodes' in one queue message."""
        if not emits:
            return
        for event, data, to, skip_sid in emits:
            Manager.emit(self, event, data, namespace, room=to, skip_sid=skip_sid)
        self._publish({"method": "emit", "batch": [list(emit) for emit in emits], "namespace": namespace,
                       "host_id": self.host_id})

    def _handle_emit(self, message):
        """Another node's emit: a batch is delivered here item by item."""
        if "batch" not in message:
            return super()._handle_emit(message)
        for event, data, to, skip_sid in message["batch"]:
            Manager.emit(self, event, data, message["namespace"], room=to, skip_sid=skip_sid)


class RedisQueue(BatchingQueue, socketio.RedisManager):
    def _redis_connect(self):
        """Publish through a blocking pool (see `redis_pool`): python-socketio's default
        pool refuses the 101st concurrent publisher, and a refused publish makes it
        reconnect. The subscriber holds one of the pool's connections; its blocking
        read waits for the next message whatever the pool's command timeout."""
        self.redis = redis.Redis(connection_pool=blocking_pool(self.redis_url))
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True


class KombuQueue(BatchingQueue, socketio.KombuManager):
    pass


def queue_manager(url, channel):
    """The client manager for queue `url` (`redis://`, `rediss://`, or anything kombu
    reaches: `amqp://` for RabbitMQ), on `channel`."""
    queue_class = RedisQueue if url.startswith(("redis://", "rediss://")) else KombuQueue
    return queue_class(url, channel=channel)
