"""gunicorn settings shared by the Procfile and `make run`.

One worker: Socket.IO needs sticky sessions, so scale out with more processes behind a
load balancer and a message queue (see docs/deployment.md), not with more workers here.
"""

import os

_mode = os.environ.get("ASYNC_MODE", "eventlet")
# gevent-websocket's worker speaks WebSocket under gevent; gunicorn 25's eventlet worker
# does so natively. gunicorn 26 removed the eventlet worker (requirements.txt pins 25.x).
worker_class = {
    "eventlet": "eventlet",
    "gevent": "geventwebsocket.gunicorn.workers.GeventWebSocketWorker",
    "threading": "gthread",
}[_mode]
workers = 1
threads = 100 if _mode == "threading" else 1
# The default of 1,000 silently leaves every further socket hanging.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "10000"))
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
timeout = 60
# A stop drains first (post_worker_init below), in a second or so; this bounds the rest.
graceful_timeout = 10
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# gunicorn 25's control socket lives at one path per user, so several nodes on one host
# would take each other's; webchat does not use it.
control_socket_disable = True


def child_exit(server, worker):
    """With several workers sharing PROMETHEUS_MULTIPROC_DIR (see webchat/metrics.py), a
    dead worker's live gauges leave the scrape."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """SIGTERM drains the node first (webchat/realtime/lifecycle.py): no new sockets,
    `/healthz` 503, every socket told to reconnect elsewhere, running events finished;
    then gunicorn's own graceful stop, within graceful_timeout."""
    from webchat.realtime import lifecycle

    lifecycle.drain_on_sigterm(worker, worker.wsgi)
    if _mode == "gevent":
        # gevent-websocket answers a WebSocket handshake (101) before the app sees it; a
        # true pre_start_hook hands the request to the app as plain HTTP, so that a
        # draining node's 503 reaches the balancer, which then tries the next node.
        worker.server_class.pre_start_hook = staticmethod(lambda _handler: lifecycle.of(worker.wsgi).draining)
