"""Issue 24's limits on real servers: two nodes sharing MariaDB and Redis, limits on. A
user's sockets are counted across both nodes, and the one over MAX_SOCKETS_PER_USER is
refused with the contract's connect_error; a user's typing, from sockets on both nodes, is
relayed once per interval. (The app-level tests, tests/test_ratelimit.py, cover each rule
on both databases; this is what one process cannot show.)"""

import uuid

import pytest
import socketio

from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, unique_name
from ..support.services import require_mariadb, require_redis

pytestmark = [pytest.mark.integration, pytest.mark.mariadb, pytest.mark.redis]

REDIS = "redis://127.0.0.1:6379/14"


def test_sockets_and_typing_across_two_nodes(live_server):
    require_mariadb()
    require_redis()
    env = {
        "CLUSTER_NAME": f"test-{uuid.uuid4().hex[:8]}",
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_SIGNUP_PER_IP": "100 per minute",
        "MAX_SOCKETS_PER_USER": "2",
        "TYPING_INTERVAL_SECONDS": "600",
    }
    one = live_server("mariadb", redis_url=REDIS, message_queue_url=REDIS, env=env)
    two = live_server(peer=one)
    (alice, alice_token), (_bob, bob_token) = api_user(one, unique_name("alice")), api_user(one, unique_name("bob"))
    room = api(one, alice_token, "POST", "/rooms", json={"name": "limits"}).json()["room"]
    assert api(one, bob_token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    clients = []
    try:
        a1, a2 = ChatClient(one, alice_token).connect(), ChatClient(two, alice_token).connect()
        b = ChatClient(two, bob_token).connect()
        clients += [a1, a2, b]
        refused = ChatClient(one, alice_token)
        clients.append(refused)
        with pytest.raises(socketio.exceptions.ConnectionError):
            refused.connect()
        assert [e["data"] for e in refused.connect_errors] == [{"code": "RATE_LIMITED"}]

        assert b.call("open_room", {"room_id": room["id"]})["ok"]
        for sock in (a1, a2, a1, a2):
            assert sock.call("typing", {"room_id": room["id"]}) == {"ok": True}
        # Bob's own typing goes back through node two to alice's sockets: a round trip
        # after alice's four, so anything of those still in flight has arrived by then.
        assert a1.call("open_room", {"room_id": room["id"]})["ok"]
        b.call("typing", {"room_id": room["id"]})
        a1.wait_for(lambda: a1.events["typing"], what="bob's typing")
        assert [t["user"]["id"] for t in b.events["typing"]] == [alice["id"]]
    finally:
        for client in clients:
            client.close()
