"""A python-socketio client for the real server: connects to /chat with a token, records
every server event, and calls client events with acks."""
import threading
import time

import requests
import socketio

NS = "/chat"
PASSWORD = "correct horse battery"
EVENTS = ("new_message", "message_deleted", "members", "read_receipt", "unread", "room_added", "room_removed", "typing")


def api_user(server, username):
    """Sign up through the API and return (user, access token)."""
    response = requests.post(f"{server.url}/api/v1/auth/signup", json={"username": username, "password": PASSWORD}, timeout=10)
    assert response.status_code == 201, response.text
    tokens = requests.post(f"{server.url}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=10).json()
    return response.json()["user"], tokens["access_token"]


def page_login(server, username, password=PASSWORD):
    """A requests.Session logged in through the real form, as a browser is."""
    from .live import csrf_token

    session = requests.Session()
    token = csrf_token(session, f"{server.url}/auth/login")
    response = session.post(f"{server.url}/auth/login", data={"csrf_token": token, "username": username,
                                                              "password": password}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:300]
    return session


def page_logout(server, session):
    """"Log out" on the page: every session, token and socket of the user ends."""
    from .live import csrf_token

    token = csrf_token(session, f"{server.url}/rooms")
    return session.post(f"{server.url}/auth/logout", data={"csrf_token": token}, allow_redirects=False, timeout=10)


def api(server, token, method, path, **kwargs):
    response = requests.request(method, f"{server.url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"},
                                timeout=10, **kwargs)
    return response


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
        self.sio.connect(self.server.url, namespaces=[NS], auth={"token": self.token}, transports=["websocket"],
                         headers=self.headers, wait_timeout=10)
        return self

    def call(self, event, data=None, timeout=15):
        return self.sio.call(event, data, namespace=NS, timeout=timeout)

    def messages(self, room_id):
        with self.lock:
            return [e["message"] for e in self.events["new_message"] if e["message"]["room_id"] == room_id]

    def wait_for(self, predicate, timeout=15, what="events"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

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
