"""Scale-out: two real server processes on one MariaDB database and one message queue
behave as one. Redis (default) and RabbitMQ carry the events; gevent mode is tested too."""

import uuid

import pytest
import requests

from ..support.chat_client import send_concurrently
from ..support.http_client import api, api_user, csrf_token, page_login, page_logout, unique_name
from ..support.services import require_mariadb, require_rabbitmq, require_redis

pytestmark = [pytest.mark.integration, pytest.mark.mariadb, pytest.mark.redis]

REDIS = "redis://127.0.0.1:6379/14"
AMQP = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def cluster(live_server):
    """Start N nodes sharing a fresh MariaDB database, Redis state and a queue."""
    require_mariadb()
    require_redis()

    def start(queue=REDIS, nodes=2, async_mode="eventlet"):
        env = {"CLUSTER_NAME": f"test-{uuid.uuid4().hex[:8]}", "PRESENCE_NODE_TIMEOUT_SECONDS": "6"}
        first = live_server("mariadb", redis_url=REDIS, message_queue_url=queue, async_mode=async_mode, env=env)
        return [first] + [live_server(peer=first) for _ in range(nodes - 1)]

    return start


def room_with(node, users):
    """A public room on `node` that every (user, token) in `users` has joined."""
    room = api(node, users[0][1], "POST", "/rooms", json={"name": "cluster"}).json()["room"]
    for _, token in users[1:]:
        assert api(node, token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    return room


def crossing(nodes, clients):
    """A user on each node, in one room: messages cross both ways, once each."""
    a_user, b_user = api_user(nodes[0], unique_name("x")), api_user(nodes[1], unique_name("y"))
    room = room_with(nodes[0], [a_user, b_user])
    a, b = clients(nodes[0], a_user[1]), clients(nodes[1], b_user[1])
    assert a.call("open_room", {"room_id": room["id"]})["ok"] and b.call("open_room", {"room_id": room["id"]})["ok"]
    from_a = a.call("send_message", {"room_id": room["id"], "body": "from node one", "client_id": "a1"})["message"]
    # Unread counts cross too, each round as one queue message: only node one's round
    # after its message can tell b (on node two) of it, and the reverse for a.
    wait_unread(b, room, from_a, 1)
    from_b = b.call("send_message", {"room_id": room["id"], "body": "from node two", "client_id": "b1"})["message"]
    wait_unread(a, room, from_b, 1)
    for client in (a, b):
        client.wait_for(lambda c=client: len(c.messages(room["id"])) >= 2, what="both messages on both nodes")
        assert [m["id"] for m in client.messages(room["id"])] == [from_a["id"], from_b["id"]]
    return room, (a_user, a), (b_user, b)


def wait_unread(client, room, last_message, count):
    client.wait_for(
        lambda: any(
            e["room_id"] == room["id"]
            and e["unread_count"] == count
            and (e["last_message"] or {}).get("id") == last_message["id"]
            for e in client.events["unread"]
        ),
        what=f"unread {count} with message {last_message['id']} from the other node",
    )


def test_messages_cross_nodes_over_redis(cluster, clients):
    room, (a_user, a), (b_user, b) = crossing(cluster(), clients)
    members = b.call("open_room", {"room_id": room["id"]})["members"]
    assert all(m["online"] for m in members), "presence is shared between nodes"


def test_messages_cross_nodes_over_rabbitmq(cluster, clients):
    require_rabbitmq()
    crossing(cluster(queue=AMQP), clients)


def test_gevent_nodes_cross(cluster, clients):
    crossing(cluster(async_mode="gevent"), clients)


def test_concurrent_senders_on_both_nodes(cluster, clients):
    """4 senders over 2 nodes send 60 messages each at once: seq is 1..N with no gap or
    duplicate, and every message reaches every client exactly once."""
    nodes = cluster()
    users = [api_user(nodes[i % 2], unique_name("s")) for i in range(4)]
    room = room_with(nodes[0], users)
    socks = [clients(nodes[i % 2], token) for i, (_, token) in enumerate(users)]
    for sock in socks:
        assert sock.call("open_room", {"room_id": room["id"]})["ok"]
    failures = send_concurrently(socks, room["id"], 60)
    assert failures == []
    seqs = [
        r[0] for r in nodes[0].database.query("SELECT seq FROM messages WHERE room_id = ? ORDER BY seq", room["id"])
    ]
    assert seqs == list(range(1, 1 + 3 + 240 + 1))
    for sock in socks:
        sock.wait_for(
            lambda s=sock: len([m for m in s.messages(room["id"]) if m["kind"] == "text"]) >= 240,
            timeout=60,
            what="240 messages on every client",
        )
        texts = [m for m in sock.messages(room["id"]) if m["kind"] == "text"]
        assert len(texts) == 240 and len({m["id"] for m in texts}) == 240, "each message exactly once"


def test_killed_node_user_reconnects_elsewhere_and_catches_up(cluster, clients):
    nodes = cluster()
    room, (a_user, a), (b_user, b) = crossing(nodes, clients)
    last_seen = max(m["seq"] for m in b.messages(room["id"]))
    nodes[1].kill()  # SIGKILL: no goodbye
    b.wait_for(lambda: not b.sio.connected, what="b to notice the dead node")
    sent = [
        a.call("send_message", {"room_id": room["id"], "body": f"while b was away {i}"})["message"] for i in range(5)
    ]
    b2 = clients(nodes[0], b_user[1])
    assert b2.call("open_room", {"room_id": room["id"]})["ok"]
    page = api(nodes[0], b_user[1], "GET", f"/rooms/{room['id']}/messages", params={"after_seq": last_seen}).json()
    assert [m["id"] for m in page["messages"]] == [m["id"] for m in sent]


def test_a_crashed_nodes_users_go_offline(cluster, clients):
    nodes = cluster()
    room, (a_user, a), (b_user, b) = crossing(nodes, clients)
    nodes[1].kill()
    # The surviving node's heartbeat (every 5 s) sweeps the dead node after its timeout (6 s here).
    a.wait_for(
        lambda: (
            any(e["room_id"] == room["id"] and e["online_count"] == 1 for e in a.events["members"])
            or a.call("open_room", {"room_id": room["id"]})["room"]["online_count"] == 1
        ),
        timeout=30,
        what="b to be shown offline",
    )
    online = {m["username"]: m["online"] for m in a.call("open_room", {"room_id": room["id"]})["members"]}
    assert online == {a_user[0]["username"]: True, b_user[0]["username"]: False}


def test_kick_session_end_and_logout_reach_sockets_on_the_other_node(cluster, clients):
    nodes = cluster()
    room, (a_user, a), (b_user, b) = crossing(nodes, clients)
    assert api(nodes[0], a_user[1], "DELETE", f"/rooms/{room['id']}/members/{b_user[0]['username']}").status_code == 200
    b.wait_for(lambda: b.events["room_removed"], what="room_removed on the other node")
    a.call("send_message", {"room_id": room["id"], "body": "after the kick", "client_id": "after"})
    a.call("typing", {"room_id": room["id"]})
    b.call("typing", {"room_id": room["id"]})  # a round trip through node two
    assert "after the kick" not in [m["body"] for m in b.messages(room["id"])]
    # Revocation: tokens are checked against the database every node shares.
    c_user = api_user(nodes[0], unique_name("z"))
    c = clients(nodes[1], c_user[1])
    # Ending one session (issue 24) on node one disconnects that device's socket on node
    # two, a page's (its socket token carries the session's family), and no other.
    browser = page_login(nodes[0], c_user[0]["username"])
    page_socket = clients(nodes[1], page_socket_token(nodes[0], browser))
    (browsers_session,) = [
        s for s in api(nodes[0], c_user[1], "GET", "/me/sessions").json()["sessions"] if s["kind"] == "page"
    ]
    assert api(nodes[0], c_user[1], "DELETE", f"/me/sessions/{browsers_session['id']}").status_code == 200
    page_socket.wait_for(lambda: not page_socket.sio.connected, what="the ended session's socket on node two to go")
    assert c.call("close_room", {"room_id": room["id"]})["ok"] and c.sio.connected  # the other device stays
    page_logout(nodes[0], page_login(nodes[0], c_user[0]["username"]))
    c.wait_for(lambda: not c.sio.connected, what="logout on node one to disconnect the socket on node two")


def page_socket_token(server, browser):
    """The socket token a page signed in as `browser` (a requests.Session) gets."""
    headers = {"X-CSRFToken": csrf_token(browser, f"{server.url}/rooms")}
    response = browser.post(f"{server.url}/api/v1/auth/socket-token", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_announce_from_the_cli_reaches_every_node(cluster, clients):
    nodes = cluster()
    room, (a_user, a), (b_user, b) = crossing(nodes, clients)
    result = nodes[0].flask("webchat", "announce", str(room["id"]), "Maintenance at 18:00")
    assert result.returncode == 0, result.stderr
    for client in (a, b):
        client.wait_for(
            lambda c=client: any(m["body"] == "Maintenance at 18:00" for m in c.messages(room["id"])),
            what="the announcement",
        )


def test_cuts_reach_a_socket_on_the_other_node_whatever_it_sent(cluster, clients):
    """Issue 16 on MariaDB + Redis: a fake "disconnect" on node two hides from nothing cut
    on node one (kick, logout), and a refresh family revoked on node one disconnects its
    socket on node two (the cut crosses as a channel action)."""
    nodes = cluster()
    room, (a_user, a), (b_user, b) = crossing(nodes, clients)
    assert b.call("disconnect", {}, timeout=5)["error"]["code"] == "VALIDATION_ERROR"
    assert api(nodes[0], a_user[1], "DELETE", f"/rooms/{room['id']}/members/{b_user[0]['username']}").status_code == 200
    b.wait_for(lambda: b.events["room_removed"], what="room_removed on the other node")
    a.call("send_message", {"room_id": room["id"], "body": "after the kick", "client_id": "after"})
    b.call("typing", {"room_id": room["id"]})
    assert "after the kick" not in [m["body"] for m in b.messages(room["id"])]
    page_logout(nodes[0], page_login(nodes[0], b_user[0]["username"]))
    b.wait_for(lambda: not b.sio.connected, what="logout on node one to disconnect the socket on node two")

    def refresh(refresh_token):
        return requests.post(
            f"{nodes[0].url}/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh_token}"}, timeout=10
        )

    tokens = requests.post(
        f"{nodes[0].url}/api/v1/auth/token",
        json={"username": a_user[0]["username"], "password": "correct horse battery"},
        timeout=10,
    ).json()
    family_socket = clients(nodes[1], tokens["access_token"])
    assert refresh(tokens["refresh_token"]).ok
    assert refresh(tokens["refresh_token"]).json()["error"]["code"] == "TOKEN_REUSED"
    family_socket.wait_for(lambda: not family_socket.sio.connected, what="the family's socket on node two to go")
    assert a.sio.connected  # another login of the same user
