"""A real nginx in front of test nodes, run from deploy/nginx.conf itself: its upstream
servers are the test's nodes (with the deploy file's parameters), its TLS server listens on plain HTTP on 127.0.0.1 (a test has no
certificate) with the Host header keeping its port, the port-80 redirect is left out,
and nginx connects to the nodes from PROXY_ADDRESS, so that a node can trust that
address alone (TRUSTED_PROXIES) while the test's other clients, from 127.0.0.1, are not
trusted. Everything else (the headers it
sets, sticky ip_hash, the Socket.IO location, its retry on a 503) is the deploy file's.
"""

import re
import uuid
from pathlib import Path

import requests

from . import launcher
from .services import NGINX, require_mariadb, require_nginx, require_redis

DEPLOY_CONF = launcher.ROOT / "deploy" / "nginx.conf"
PROXY_ADDRESS = "127.0.0.2"  # loopback: the whole 127.0.0.0/8 answers on Linux


def config(port, nodes, workdir):
    """deploy/nginx.conf for `nodes` (objects with `port`), listening on `port`."""
    conf = DEPLOY_CONF.read_text()
    servers = re.findall(r"\n    server \S+:\d+.*", conf)
    assert len(servers) >= len(nodes), "deploy/nginx.conf: fewer upstream servers than nodes"
    for index, line in enumerate(servers):
        mine = re.sub(r"server \S+:\d+", f"server 127.0.0.1:{nodes[index].port}", line) if index < len(nodes) else ""
        conf = conf.replace(line, mine, 1)
    conf, found = re.subn(r"listen 443 ssl http2;", f"listen 127.0.0.1:{port};", conf)
    assert found == 1, "deploy/nginx.conf: the TLS listen line changed shape"
    conf = re.sub(r"\n    ssl_[a-z_]+ .*;", "", conf)
    # On 443 `$host` is what the browser's Origin names; on a test's own port the Host
    # must keep the port, or the same-origin check of the sockets refuses the handshake.
    conf = conf.replace("proxy_set_header Host $host;", "proxy_set_header Host $http_host;")
    conf, found = re.subn(r"\nserver \{\n    listen 80;.*?\n\}\n", "\n", conf, flags=re.S)
    assert found == 1, "deploy/nginx.conf: the port-80 server changed shape"
    temp = {kind: workdir / kind for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    return "\n".join(
        [
            "user root;",
            "worker_processes 1;",
            "daemon off;",
            f"pid {workdir / 'nginx.pid'};",
            f"error_log {workdir / 'error.log'} info;",
            "events { worker_connections 1024; }",
            "http {",
            f"    access_log {workdir / 'access.log'};",
            *(f"    {kind}_temp_path {path};" for kind, path in temp.items()),
            f"    proxy_bind {PROXY_ADDRESS};",
            conf,
            "}",
        ]
    )


class Nginx(launcher.ServerProcess):
    """nginx in front of `nodes`; `start()` waits until /healthz answers through it."""

    def __init__(self, nodes, workdir):
        require_nginx()
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        port = launcher.free_port()
        conf = workdir / "nginx.conf"
        conf.write_text(config(port, nodes, workdir))
        super().__init__(
            "nginx",
            [NGINX, "-p", str(workdir), "-c", str(conf)],
            launcher.base_environment(port, workdir),
            port=port,
            log_path=workdir / "nginx.log",
        )

    def log_tail(self, lines=60):
        error_log = self.log_path.parent / "error.log"
        tail = error_log.read_text(errors="replace").splitlines()[-lines:] if error_log.exists() else []
        return super().log_tail(lines) + "\n--- error.log ---\n" + "\n".join(tail)


def two_nodes_behind_nginx(live_server, workdir, redis_url, async_mode="eventlet"):
    """(nodes, proxy): two nodes on one fresh MariaDB database, Redis at `redis_url` and
    a cluster name of their own, behind nginx. Their metrics are open to 127.0.0.1, for
    `sockets_on`. `live_server` is the fixture of tests/conftest.py (it stops them)."""
    require_mariadb()
    require_redis()
    env = {
        "CLUSTER_NAME": f"test-{uuid.uuid4().hex[:8]}",
        "PRESENCE_NODE_TIMEOUT_SECONDS": "6",
        "METRICS_ENABLED": "true",
        "METRICS_ALLOW": "127.0.0.1",
    }
    first = live_server("mariadb", redis_url=redis_url, async_mode=async_mode, env=env)
    nodes = [first, live_server(peer=first)]
    return nodes, Nginx(nodes, workdir).start()


def sockets_on(node):
    """How many /chat sockets `node` holds, from its own metrics (webchat_connected_sockets)."""
    for line in requests.get(f"{node.url}/metrics", timeout=10).text.splitlines():
        if line.startswith("webchat_connected_sockets "):
            return int(float(line.split()[1]))
    raise AssertionError(f"{node} reports no webchat_connected_sockets")
