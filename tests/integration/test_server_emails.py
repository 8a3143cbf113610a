"""Issue 20, item 6, against real servers: two gunicorn nodes on one MariaDB database and
one Redis, both sweeping every second, and a real SMTP server (aiosmtpd) in the test
process. Each away member gets exactly one email per room, whichever node sends it; one
who read in time gets none, and so does one with a socket open on the other node. Then
the account page's verification link through a real server, forms and CSRF included."""

import re
import time
import uuid
from urllib.parse import urlsplit

import pytest

from ..support.http_client import api, api_user, csrf_token, page_login, unique_name
from ..support.services import require_mariadb, require_redis
from ..support.smtp import SmtpServer, give_address, mail_env

pytestmark = [pytest.mark.integration]

REDIS = "redis://127.0.0.1:6379/14"
DELAY = 3


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.mark.mariadb
@pytest.mark.redis
@pytest.mark.parametrize("async_mode", ["eventlet", "gevent"])
def test_two_nodes_sweeping_send_each_email_once(live_server, smtp, clients, async_mode):
    require_mariadb()
    require_redis()
    env = mail_env(smtp, DELAY, CLUSTER_NAME=f"test-{uuid.uuid4().hex[:8]}", PRESENCE_NODE_TIMEOUT_SECONDS="6")
    first = live_server("mariadb", redis_url=REDIS, message_queue_url=REDIS, env=env, async_mode=async_mode)
    second = live_server(peer=first)
    nodes = [first, second]
    database = first.database

    alice = api_user(first, unique_name("alice"))
    away = api_user(second, unique_name("away"))  # never connects: emailed
    reader = api_user(first, unique_name("reader"))  # reads in time: not emailed
    online = api_user(second, unique_name("online"))  # a socket on node two: not emailed
    addresses = {u["username"]: give_address(database, u["username"]) for u, _ in (away, reader, online)}

    rooms = []
    for n in range(4):
        room = api(first, alice[1], "POST", "/rooms", json={"name": f"mail {n}"}).json()["room"]
        for _, token in (away, reader, online):
            assert api(nodes[n % 2], token, "POST", f"/rooms/{room['id']}/join").status_code == 200
        rooms.append(room)

    online_socket = clients(second, online[1])
    sender = clients(first, alice[1])
    mention = f"@{away[0]['username']} @{reader[0]['username']} @{online[0]['username']}"
    for room in rooms:
        ack = sender.call("send_message", {"room_id": room["id"], "body": f"{mention} in {room['name']}"})
        assert ack["ok"], ack
        read = api(second, reader[1], "POST", f"/rooms/{room['id']}/read", json={"message_id": ack["message"]["id"]})
        assert read.status_code == 200

    got = smtp.inbox.wait_for(len(rooms), addresses[away[0]["username"]], timeout=DELAY + 20)
    # Both nodes have swept several times past the delay: nothing more may come.
    time.sleep(DELAY + 3)
    got = smtp.inbox.to(addresses[away[0]["username"]])
    assert sorted(m["Subject"] for m in got) == sorted(f"1 unread mention in {room['name']}" for room in rooms)
    assert smtp.inbox.to(addresses[reader[0]["username"]]) == [], "read in time"
    assert smtp.inbox.to(addresses[online[0]["username"]]) == [], "online on the other node"
    assert len(smtp.inbox.messages) == len(rooms)
    assert database.query("SELECT COUNT(*) FROM email_notices") == [(len(rooms),)]
    assert all("http://chat.example.test/rooms/" in m.get_body(("plain",)).get_content() for m in got)
    online_socket.close()


def test_the_account_page_verifies_an_address_by_its_link(live_server, smtp):
    node = live_server("sqlite", env=mail_env(smtp, DELAY))
    user, _token = api_user(node, unique_name("erin"))
    session = page_login(node, user["username"])
    page = f"{node.url}/auth/password"
    response = session.post(
        f"{node.url}/auth/email",
        data={"csrf_token": csrf_token(session, page), "email-email": "erin@example.test", "email-notify": "y"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    assert 'data-state="waiting"' in session.get(page, timeout=10).text
    [message] = smtp.inbox.wait_for(1, "erin@example.test")
    link = re.search(r"http://\S+/auth/email/verify/\S+", message.get_body(("plain",)).get_content()).group(0)
    assert link.startswith("http://chat.example.test/")
    verified = session.get(f"{node.url}{urlsplit(link).path}", timeout=10)
    assert verified.status_code == 200
    assert 'data-state="verified"' in session.get(page, timeout=10).text


def test_without_a_csrf_token_the_email_form_is_refused(live_server, smtp):
    node = live_server("sqlite", env=mail_env(smtp, DELAY))
    user, _token = api_user(node, unique_name("frank"))
    session = page_login(node, user["username"])
    response = session.post(f"{node.url}/auth/email", data={"email-email": "f@example.test"}, timeout=10)
    assert response.status_code == 403
    assert smtp.inbox.messages == []
