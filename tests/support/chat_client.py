"""A python-socketio client for the real server: connects to /chat with a token, records
every server event, and calls client events with acks."""

import threading

import socketio

from .polling import wait_until

NS = "/chat"
EVENTS = (
    "new_message",
    "message_updated",
    "message_deleted",
    "members",
    "read_receipt",
    "unread",
    "notification",
    "room_added",
    "room_removed",
    "typing",
)


class ChatClient:
    """One socket of one user. `events[name]` lists the payloads received, in order."""

    def __init__(self, server, token, *, headers=None):
        self.server, self.token = server, token
        self.events = {name: [] for name in EVENTS}
        self.connect_errors = []
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        for name in EVENTS:
            self.sio.on(name, self._recorder(name), namespace=NS)
        self.sio.on("connect_error", lambda data=None: self.connect_errors.append(data), namespace=NS)
        self.headers = headers or {}

    def _recorder(self, name):
        def record(data):
            with self.lock:
                self.events[name].append(data)

        return record

    def connect(self):
        self.sio.connect(
            self.server.url,
            namespaces=[NS],
            auth={"token": self.token},
            transports=["websocket"],
            headers=self.headers,
            wait_timeout=10,
        )
        return self

    def call(self, event, data=None, timeout=15):
        return self.sio.call(event, data, namespace=NS, timeout=timeout)

    def messages(self, room_id):
        with self.lock:
            return [e["message"] for e in self.events["new_message"] if e["message"]["room_id"] == room_id]

    def wait_for(self, predicate, timeout=15, what="events"):
        wait_until(predicate, timeout, what, interval=0.02)

    def close(self):
        if self.sio.connected:
            self.sio.disconnect()


def send_concurrently(socks, room_id, per_sender):
    """Every socket sends `per_sender` messages at the same moment, each in its own
    thread; returns the failed acks (none, when all went well)."""
    start, failures = threading.Barrier(len(socks)), []

    def send_all(index, sock):
        start.wait()
        for i in range(per_sender):
            ack = sock.call("send_message", {"room_id": room_id, "body": f"{index}/{i}", "client_id": f"{index}-{i}"})
            if not ack["ok"]:
                failures.append(ack)

    threads = [threading.Thread(target=send_all, args=(i, s)) for i, s in enumerate(socks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return failures
