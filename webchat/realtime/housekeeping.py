"""Each process's housekeeping task, started with its first socket: it disconnects
sockets whose token expired without an `auth` renewal, keeps this node's presence
heartbeat alive and, every SOCKET_RECONCILE_SECONDS, runs the socket reconciliation
it was given (the chat adapter's, which asks the services)."""

import itertools

from .. import metrics
from ..extensions import db, socketio
from .channels import NAMESPACE

HOUSEKEEPING_SECONDS = 5


def start(realtime, reconcile):
    """Start `realtime`'s task once per app; `reconcile(server, namespace, presence)`."""
    metrics.start_sampler(realtime.app)
    if realtime.housekeeping_started:
        return
    realtime.housekeeping_started = True
    socketio.start_background_task(_run, realtime, reconcile)


def _run(realtime, reconcile):
    """For the life of the Socket.IO server it started with (the process's; the tests
    build one per app)."""
    app, server = realtime.app, socketio.server
    every = max(1, round(app.config["SOCKET_RECONCILE_SECONDS"] / HOUSEKEEPING_SECONDS))
    for beat in itertools.count(1):
        socketio.sleep(HOUSEKEEPING_SECONDS)
        if socketio.server is not server:
            return
        with app.app_context():
            presence = realtime.presence
            try:
                for sid in presence.expired():
                    server.disconnect(sid, namespace=NAMESPACE)
                presence.heartbeat()
                if beat % every == 0:
                    reconcile(server, NAMESPACE, presence)
            except Exception:  # noqa: BLE001 - a Redis or database hiccup must not end the loop
                app.logger.exception("housekeeping failed; retrying")
            finally:
                db.session.remove()
