"""A node's end. On SIGTERM (a deploy, `systemctl stop`) the node drains before gunicorn's
own graceful stop, so that its users are on another node within a second rather than
talking to a stopping one until the graceful timeout cuts them off:

1. it takes no new sockets: Socket.IO handshakes are answered 503 (a balancer tries the
   next node) and a namespace connect is refused; `/healthz` answers 503 "draining";
2. every socket of this node hears `server_restart` and is disconnected by the server:
   the page reconnects at once, through the balancer, to another node, and sends again
   what it had not had an ack for (same client_id: stored once);
3. the events already running finish, and the coalesced rounds they touched go out;
4. whatever transport is still open is closed, and gunicorn stops as usual.

Nothing here is eventlet's or gevent's own: the signal handler starts a Socket.IO
background task (a green thread under either), as gunicorn's workers do for SIGQUIT.
"""

import signal
import threading
import time
from contextlib import contextmanager

from ..extensions import socketio
from .channels import NAMESPACE

# How long a drain waits for the events already running (a send waiting for the
# database, say) before closing what is left. gunicorn's graceful_timeout (10 s) bounds
# the whole stop: past it the master kills the worker.
IN_FLIGHT_SECONDS = 5
POLL_SECONDS = 0.02
EXTENSION = "webchat.lifecycle"


class Lifecycle:
    """One app's draining state and its count of socket events running."""

    def __init__(self):
        self.draining = False
        self.drained = False  # step 4 done: nothing of this node's is left open
        self.running = 0
        self.lock = threading.Lock()

    @contextmanager
    def event_running(self):
        """Around each socket event, so that a drain can wait for it to finish."""
        with self.lock:
            self.running += 1
        try:
            yield
        finally:
            with self.lock:
                self.running -= 1


def init_app(app):
    app.extensions[EXTENSION] = Lifecycle()
    app.wsgi_app = refuse_handshakes_while_draining(app.wsgi_app, app.extensions[EXTENSION])


def of(app):
    """`app`'s `Lifecycle`."""
    return app.extensions[EXTENSION]


def refuse_handshakes_while_draining(wsgi_app, lifecycle):
    """WSGI middleware over the Socket.IO one: while draining, a new Engine.IO session
    (no `sid` in the query) is answered 503, which nginx's `proxy_next_upstream http_503`
    takes to the next node. Requests of sessions already open go through, so that they
    can hear their disconnect."""

    def app(environ, start_response):
        if (
            lifecycle.draining
            and environ.get("PATH_INFO", "").startswith("/socket.io")
            and "sid=" not in environ.get("QUERY_STRING", "")
        ):
            body = b'{"error": {"code": "SERVICE_UNAVAILABLE", "message": "This server is restarting."}}'
            start_response(
                "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Retry-After", "1")],
            )
            return [body]
        return wsgi_app(environ, start_response)

    return app


def drain(app, wait=IN_FLIGHT_SECONDS):
    """Steps 1-4 above, once; returns when this node holds no socket (or `wait` ran out
    for the events still running)."""
    lifecycle = of(app)
    if lifecycle.draining:
        return
    lifecycle.draining = True
    server = socketio.server
    app.logger.warning("draining: %d sockets told to reconnect elsewhere", len(local_sockets(server)))
    # ignore_queue: these are this node's sockets only, whatever the other nodes hold.
    server.emit("server_restart", {}, namespace=NAMESPACE, ignore_queue=True)
    for sid in local_sockets(server):
        server.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)
    deadline = time.monotonic() + wait
    rounds = app.extensions["webchat.realtime"].rounds.values()
    while time.monotonic() < deadline and (lifecycle.running or any(r.dirty for r in rounds)):
        socketio.sleep(POLL_SECONDS)
    server.eio.disconnect()  # every transport left: a handshake half done, a client that lingers
    lifecycle.drained = True
    app.logger.warning("drained: %d socket events were still running", lifecycle.running)


def local_sockets(server):
    """The sids of this node's sockets in /chat."""
    return [sid for sid, _eio_sid in server.manager.get_participants(NAMESPACE, None)]


def drain_on_sigterm(worker, app):
    """gunicorn's `post_worker_init`: SIGTERM drains `app`, then lets `worker` stop the
    way it would have (its run loop sees `alive` false, stops accepting and waits for
    the requests still open). The master's SIGTERM after a systemd one is the same stop."""

    started = []

    def stop():
        try:
            drain(app)
        except Exception:  # noqa: BLE001 - whatever happens, the worker must stop
            app.logger.exception("draining failed; stopping anyway")
        finally:
            worker.alive = False

    def on_sigterm(_signum, _frame):
        if not started:  # the second SIGTERM (the master's, after systemd's) changes nothing
            started.append(True)
            socketio.start_background_task(stop)

    signal.signal(signal.SIGTERM, on_sigterm)
