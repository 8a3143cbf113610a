"""A rolling restart of two real nodes behind the real nginx of deploy/nginx.conf, with
users sending all along: each node in turn gets SIGTERM (a deploy), drains
(webchat/realtime/lifecycle.py) and comes back. Its sockets hear `server_restart`, are
disconnected by the server and reconnect at once through nginx to the other node (the
stopping one answers new handshakes 503, which nginx passes on), as the page does;
what had no ack yet is sent again with the same client_id. Nothing is lost, nothing is
stored twice; the time from SIGTERM to every client connected elsewhere is printed."""

import threading
import time
import uuid

import pytest
import socketio

from ..support.chat_client import NS, ChatClient
from ..support.http_client import api, api_user, unique_name
from ..support.nginx import sockets_on, two_nodes_behind_nginx
from ..support.polling import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.mariadb, pytest.mark.redis]

REDIS = "redis://127.0.0.1:6379/14"
SENDERS = 4
SEND_PAUSE_SECONDS = 0.03
ACK_TIMEOUT_SECONDS = 5
LOST = (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError, socketio.exceptions.ConnectionError)


class Sender(threading.Thread):
    """One user's socket through nginx, sending numbered messages until told to stop:
    after a disconnect it reconnects at once and sends the unacknowledged one again,
    with its client_id, as the page's outbox does."""

    def __init__(self, proxy, token, room_id, name):
        super().__init__(daemon=True)
        self.proxy, self.token, self.room_id, self.name = proxy, token, room_id, name
        self.sent, self.acked, self.errors = [], set(), []
        self.connected_at = []  # monotonic times of each connection
        self.restarts_heard = 0
        self.stopping = threading.Event()
        self.client = None
        self.last_failure = None  # of a connection attempt
        self.waiting = threading.Event()

    def connect(self):
        deadline = time.monotonic() + 30
        while True:
            client = ChatClient(self.proxy, self.token)
            client.sio.on("server_restart", self._heard_restart, namespace=NS)
            client.sio.on("disconnect", self._lost, namespace=NS)
            try:
                client.connect()
                assert client.call("open_room", {"room_id": self.room_id})["ok"]
            except Exception as error:  # noqa: BLE001 - as the page, try again on any failure
                self.last_failure = repr(error)
                client.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            self.client = client
            self.connected_at.append(time.monotonic())
            return

    def ask(self, event, data):
        """The ack of `event`, or None once the connection is lost without one (as the
        page's socket.io client rejects a pending ack at a disconnect)."""
        answered, answer = threading.Event(), []
        self.waiting = answered
        try:
            self.client.sio.emit(
                event, data, namespace=NS, callback=lambda ack=None: (answer.append(ack), answered.set())
            )
        except LOST:
            return None
        answered.wait(ACK_TIMEOUT_SECONDS)
        return answer[0] if answer else None

    def _lost(self, *_reason):
        self.waiting.set()

    def _heard_restart(self, _data=None):
        self.restarts_heard += 1

    def run(self):
        pending, number = None, 0
        try:
            self.connect()
            while pending is not None or not self.stopping.is_set():
                if pending is None:
                    pending = f"{self.name}-{number}"
                    number += 1
                    self.sent.append(pending)
                if not self.client.sio.connected:
                    self.client.close()
                    self.connect()
                ack = self.ask("send_message", {"room_id": self.room_id, "body": pending, "client_id": pending})
                if ack is None:
                    continue  # no ack: sent again, same client_id, on the next connection
                if ack["ok"]:
                    self.acked.add(pending)
                    pending = None
                elif ack["error"]["code"] == "SERVICE_UNAVAILABLE":
                    time.sleep(0.1)
                else:
                    self.errors.append(ack)
                    pending = None
                time.sleep(SEND_PAUSE_SECONDS)
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.errors.append(repr(error))
        finally:
            if self.client:
                self.client.close()


@pytest.fixture
def cluster(live_server, tmp_path_factory):
    """Two nodes on one MariaDB database and Redis, behind nginx."""
    nodes, proxy = two_nodes_behind_nginx(live_server, tmp_path_factory.mktemp("nginx"), REDIS)
    yield nodes, proxy
    proxy.stop()


def restart(node, senders):
    """SIGTERM `node`, time how long until every sender is connected again (to the
    other node: the stopping one takes no new socket), wait for it to exit, start it."""
    counts = [len(s.connected_at) for s in senders]
    signalled = time.monotonic()
    node.terminate()
    try:
        wait_until(
            lambda: all(len(s.connected_at) > n for s, n in zip(senders, counts, strict=True)),
            20,
            "every sender reconnected",
        )
    except AssertionError as error:
        raise AssertionError(f"{error}: {[(s.errors[:2], s.last_failure) for s in senders]}") from None
    moved = max(s.connected_at[n] for s, n in zip(senders, counts, strict=True)) - signalled
    node.process.wait(15)
    exited = time.monotonic() - signalled
    node.start()
    return moved, exited


def test_a_rolling_restart_loses_and_duplicates_nothing(cluster):
    nodes, proxy = cluster
    owner = api_user(proxy, unique_name("roll"))
    room = api(proxy, owner[1], "POST", "/rooms", json={"name": "rolling"}).json()["room"]
    users = [api_user(proxy, unique_name(f"s{i}")) for i in range(SENDERS)]
    for _, token in users:
        assert api(proxy, token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    senders = [Sender(proxy, token, room["id"], f"s{i}-{uuid.uuid4().hex[:6]}") for i, (_, token) in enumerate(users)]
    for sender in senders:
        sender.start()
    wait_until(lambda: all(len(s.acked) >= 5 for s in senders), 30, "sending before the restart")

    # nginx's ip_hash sends every test client (all from 127.0.0.1) to one node: restart
    # that one, then the other, to which they all moved.
    timings = []
    for turn in (1, 2):
        (busy,) = [node for node in nodes if sockets_on(node) == SENDERS]
        timings.append(restart(busy, senders))
        assert sockets_on(busy) == 0 and sum(map(sockets_on, nodes)) == SENDERS
        wanted = 5 + turn * 10
        wait_until(lambda n=wanted: all(len(s.acked) >= n for s in senders), 30, "sending after the restart")
    for sender in senders:
        sender.stopping.set()
    for sender in senders:
        sender.join(30)

    sent = [client_id for s in senders for client_id in s.sent]
    rows = nodes[0].database.query(
        "SELECT client_id, COUNT(*) FROM messages WHERE room_id = ? AND client_id IS NOT NULL GROUP BY client_id",
        room["id"],
    )
    stored = dict(rows)
    lost = [c for c in sent if c not in stored]
    duplicated = [c for c, n in stored.items() if n > 1]
    heard = sum(s.restarts_heard for s in senders)
    tally = [
        f"node {i}: SIGTERM to all {SENDERS} clients connected elsewhere {moved * 1000:.0f} ms, node exited after {exited:.2f} s"
        for i, (moved, exited) in enumerate(timings, 1)
    ]
    tally.append(
        f"sent={len(sent)} stored={len(stored)} lost={len(lost)} dup={len(duplicated)} server_restart heard={heard}"
    )
    print("\n[rolling restart] " + "\n[rolling restart] ".join(tally))  # noqa: T201 - shown with -s
    assert not [e for s in senders for e in s.errors]
    assert not lost and not duplicated
    assert len(stored) == len(sent)
    assert heard == 2 * SENDERS, "each restart told each socket"
