"""Behind the real nginx of deploy/nginx.conf (tests/support/nginx.py), a node with
TRUSTED_PROXIES set to nginx's address counts each client by its own address: one
client's 30 bad logins a minute lock that client out, not everyone. A client that is
not a trusted proxy, direct or through nginx, cannot choose its address by sending
X-Forwarded-For."""

import uuid

import pytest
import requests
from requests.adapters import HTTPAdapter

from ..support import live
from ..support.nginx import PROXY_ADDRESS, Nginx

pytestmark = pytest.mark.integration

LOGIN_LIMIT = 30  # RATELIMIT_LOGIN_PER_IP, "30 per minute" by default


class FromAddress(HTTPAdapter):
    """Connect from a given loopback address: another client, as nginx sees it."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(address):
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def bad_login(session, base, headers=None):
    """A failed API login for a name never used (the per-username limit stays out of it)."""
    body = {"username": f"nobody{uuid.uuid4().hex[:10]}", "password": "wrong password"}
    return session.post(f"{base}/api/v1/auth/token", json=body, headers=headers or {}, timeout=10).status_code


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def proxied(request, tmp_path_factory):
    """(node, nginx): one node, its per-IP limits on, behind nginx."""
    with live.ServerFarm(tmp_path_factory) as farm:
        node = farm.server(request.param, env={"RATELIMIT_ENABLED": "true", "TRUSTED_PROXIES": PROXY_ADDRESS})
        proxy = Nginx([node], tmp_path_factory.mktemp("nginx"))
        try:
            yield node, proxy.start()
        finally:
            proxy.stop()


def test_one_clients_bad_logins_through_nginx_do_not_lock_out_another(proxied):
    node, proxy = proxied
    attacker, neighbour = client_at("127.0.0.10"), client_at("127.0.0.11")
    answers = [bad_login(attacker, proxy.url) for _ in range(LOGIN_LIMIT)]
    assert answers == [401] * LOGIN_LIMIT
    assert bad_login(attacker, proxy.url) == 429
    # Naming another address in the header changes nothing: nginx appends the real one.
    assert bad_login(attacker, proxy.url, {"X-Forwarded-For": "127.0.0.12"}) == 429
    assert bad_login(neighbour, proxy.url) == 401


def test_a_client_that_is_no_trusted_proxy_cannot_spoof_its_address(proxied):
    node, _proxy = proxied
    direct = client_at("127.0.0.20")
    answers = [bad_login(direct, node.url, {"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(LOGIN_LIMIT)]
    assert answers == [401] * LOGIN_LIMIT
    assert bad_login(direct, node.url, {"X-Forwarded-For": "198.51.100.250"}) == 429
    # Nor by claiming the trusted proxy's own address.
    assert bad_login(direct, node.url, {"X-Forwarded-For": PROXY_ADDRESS}) == 429
