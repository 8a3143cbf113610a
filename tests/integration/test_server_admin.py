"""Deactivation across nodes (issue 23): an admin on node one switches an account off,
and the user's socket, token and page session on node two end at once."""

import uuid

import requests

from ..support.accounts import PASSWORD
from ..support.http_client import api, api_user, page_login, unique_name
from ..support.services import require_mariadb, require_redis

REDIS = "redis://127.0.0.1:6379/14"


def test_deactivation_reaches_every_node(live_server, clients):
    require_mariadb()
    require_redis()
    env = {"CLUSTER_NAME": f"test-{uuid.uuid4().hex[:8]}"}
    one = live_server("mariadb", redis_url=REDIS, message_queue_url=REDIS, env=env)
    two = live_server(peer=one)
    admin_user, admin_token = api_user(one, unique_name("admin"))
    granted = one.flask("webchat", "admin", "grant", admin_user["username"])
    assert granted.returncode == 0, granted.stderr
    user, token = api_user(two, unique_name("leaver"))
    sock = clients(two, token)
    session = page_login(two, user["username"])
    assert session.get(f"{two.url}/rooms", allow_redirects=False, timeout=10).status_code == 200

    response = api(one, admin_token, "POST", f"/admin/users/{user['id']}/deactivate")
    assert response.status_code == 200 and response.json()["user"]["active"] is False

    sock.wait_for(lambda: not sock.sio.connected, what="deactivation on node one to disconnect node two's socket")
    assert api(two, token, "GET", "/rooms").json()["error"]["code"] == "TOKEN_INVALID"
    assert session.get(f"{two.url}/rooms", allow_redirects=False, timeout=10).status_code == 302
    login = requests.post(
        f"{two.url}/api/v1/auth/token", json={"username": user["username"], "password": PASSWORD}, timeout=10
    )
    assert (login.status_code, login.json()["error"]["code"]) == (403, "ACCOUNT_DEACTIVATED")
