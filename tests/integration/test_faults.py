"""Faults against real services that these tests stop and start themselves (private
MariaDB and Redis servers, never the machine's shared ones). Each test is bounded in time
and prints what it counted: sent, stored, delivered, lost (must be 0), duplicated (must be 0)."""

import re
import time

import pytest
import requests

from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, unique_name
from ..support.polling import wait_until
from ..support.smtp import HeldInbox, SmtpServer, give_address, mail_env
from ..support.throwaway import ThrowawayMariaDB, ThrowawayRedis

pytestmark = [pytest.mark.integration, pytest.mark.mariadb, pytest.mark.redis]


def report(name, sent, stored, delivered_ids):
    lost = len(set(sent) - set(delivered_ids))
    duplicated = len(delivered_ids) - len(set(delivered_ids))
    tally = f"sent={len(sent)} stored={stored} delivered={len(set(delivered_ids))} lost={lost} duplicated={duplicated}"
    print(f"\n[{name}] {tally}")  # noqa: T201 - the fault run's tally, shown with -s
    return lost, duplicated


def test_mariadb_outage(live_server, tmp_path):
    """Sends, edits and reactions during the outage ack SERVICE_UNAVAILABLE and store
    nothing; /healthz says 503; when MariaDB is back the same server recovers, the
    retried sends (same client_id) are stored once, and the retried edits and reactions
    are stored once and reach the other member once (a second retry changes nothing)."""
    mariadb = ThrowawayMariaDB(tmp_path / "mariadb").start()
    try:
        server = live_server(database=mariadb)
        alice, a_token = api_user(server, unique_name("f"))
        bob, b_token = api_user(server, unique_name("g"))
        room = api(server, a_token, "POST", "/rooms", json={"name": "faults"}).json()["room"]
        api(server, b_token, "POST", f"/rooms/{room['id']}/join")
        a, b = ChatClient(server, a_token).connect(), ChatClient(server, b_token).connect()
        a.call("open_room", {"room_id": room["id"]}), b.call("open_room", {"room_id": room["id"]})
        before = [
            a.call("send_message", {"room_id": room["id"], "body": f"before {i}", "client_id": f"pre{i}"})
            for i in range(5)
        ]
        assert all(ack["ok"] for ack in before)
        # Edits of two of them and reactions to the other three: one before the outage,
        # the rest attempted during it.
        changes = [change_of(ack["message"]["id"], i) for i, ack in enumerate(before)]
        assert a.call(*changes[0])["ok"]

        mariadb.stop()
        during = [
            a.call("send_message", {"room_id": room["id"], "body": f"during {i}", "client_id": f"mid{i}"})
            for i in range(5)
        ]
        assert [ack["error"]["code"] for ack in during] == ["SERVICE_UNAVAILABLE"] * 5
        assert [a.call(*change)["error"]["code"] for change in changes[1:]] == ["SERVICE_UNAVAILABLE"] * 4
        health = requests.get(f"{server.url}/healthz", timeout=10)
        assert health.status_code == 503 and health.json()["db"] != "ok"
        assert a.sio.connected and b.sio.connected

        mariadb.start()
        wait_until(lambda: requests.get(f"{server.url}/healthz", timeout=10).status_code == 200, 30, "recovery")
        retried = [
            a.call("send_message", {"room_id": room["id"], "body": f"during {i}", "client_id": f"mid{i}"})
            for i in range(5)
        ]
        again = [
            a.call("send_message", {"room_id": room["id"], "body": f"during {i}", "client_id": f"mid{i}"})
            for i in range(5)
        ]
        assert all(ack["ok"] for ack in retried)
        assert [x["message"]["id"] for x in again] == [x["message"]["id"] for x in retried]
        for change in changes[1:] + changes[1:]:
            assert a.call(*change)["ok"]
        sent = [x["message"]["id"] for x in before + retried]
        b.wait_for(lambda: len(b.messages(room["id"])) >= 10, what="bob's deliveries")
        stored = mariadb.query(
            "SELECT client_id, COUNT(*) FROM messages WHERE room_id = ? AND client_id IS NOT NULL GROUP BY client_id",
            room["id"],
        )
        assert sorted(stored) == sorted([(f"pre{i}", 1) for i in range(5)] + [(f"mid{i}", 1) for i in range(5)])
        seqs = [r[0] for r in mariadb.query("SELECT seq FROM messages WHERE room_id = ? ORDER BY seq", room["id"])]
        assert seqs == list(range(1, len(seqs) + 1)), "no seq was lost to the failed sends"
        lost, duplicated = report("mariadb outage", sent, len(stored), [m["id"] for m in b.messages(room["id"])])
        assert (lost, duplicated) == (0, 0)

        changed = [payload["message_id"] for _event, payload in changes]
        b.wait_for(lambda: len(updates_of(b, changed)) >= len(changed), what="bob's updates")
        marks = ",".join("?" * len(changed))
        stored_changes = mariadb.query(
            f"SELECT message_id FROM message_revisions WHERE body LIKE ? AND message_id IN ({marks})"
            f" UNION ALL SELECT message_id FROM reactions WHERE message_id IN ({marks})",
            "edited%",
            *changed,
            *changed,
        )
        lost, duplicated = report(
            "mariadb outage: edits and reactions", changed, len(stored_changes), updates_of(b, changed)
        )
        assert (lost, duplicated) == (0, 0)
        assert sorted(row[0] for row in stored_changes) == sorted(changed), "each change stored once"
        a.close(), b.close()
    finally:
        mariadb.stop()


def change_of(message_id, i):
    """The i-th change of the MariaDB drill: an edit of an even one, a reaction to an odd one."""
    if i % 2:
        return "react", {"message_id": message_id, "emoji": "👍", "add": True}
    return "edit_message", {"message_id": message_id, "body": f"edited {i}"}


def updates_of(client, message_ids):
    """The ids of the `message_updated` events `client` received for `message_ids`."""
    with client.lock:
        return [e["message"]["id"] for e in client.events["message_updated"] if e["message"]["id"] in message_ids]


def test_redis_outage_between_two_nodes(live_server, live_database, tmp_path):
    """Redis dies: each node keeps serving its own clients; when it is back, cross-node
    delivery resumes by itself and the other node's client catches up by after_seq,
    nothing lost or doubled. The messages sent during the outage mention that client's
    user: the notification and unread rounds of the sending node reach it once Redis is
    back, one notification per mention and one unread count per message, none twice."""
    redis = ThrowawayRedis(tmp_path).start()
    try:
        # Rounds at once (no coalescing), so that each message has its own events to count.
        env = {"CLUSTER_NAME": f"fault-{unique_name('')}", "UNREAD_FANOUT_MS": "0"}
        one = live_server("mariadb", redis_url=redis.url, message_queue_url=redis.url, env=env)
        two = live_server(peer=one)
        alice, a_token = api_user(one, unique_name("r"))
        bob, b_token = api_user(two, unique_name("s"))
        room = api(one, a_token, "POST", "/rooms", json={"name": "redis"}).json()["room"]
        api(two, b_token, "POST", f"/rooms/{room['id']}/join")
        a, a_too = ChatClient(one, a_token).connect(), ChatClient(one, b_token).connect()
        b = ChatClient(two, b_token).connect()
        for client in (a, a_too, b):
            assert client.call("open_room", {"room_id": room["id"]})["ok"]
        sent = [a.call("send_message", {"room_id": room["id"], "body": "before", "client_id": "r0"})["message"]["id"]]
        b.wait_for(lambda: b.messages(room["id"]), what="crossing before the outage")

        redis.stop()
        mentions = []
        for i in range(3):
            body = f"@{bob['username']} outage {i}"
            ack = a.call("send_message", {"room_id": room["id"], "body": body, "client_id": f"r{i + 1}"})
            assert ack["ok"], ack
            sent.append(ack["message"]["id"])
            mentions.append(ack["message"]["id"])
        a_too.wait_for(lambda: len(a_too.messages(room["id"])) >= 4, what="same-node delivery without Redis")
        redis.start()
        # The queue listeners reconnect by themselves; probe until a message crosses again.
        deadline, probe = time.monotonic() + 45, 0
        while time.monotonic() < deadline:
            probe += 1
            ack = a.call("send_message", {"room_id": room["id"], "body": f"probe {probe}", "client_id": f"p{probe}"})
            sent.append(ack["message"]["id"])
            if any(m["id"] == ack["message"]["id"] for m in b.messages(room["id"])):
                break
            time.sleep(1)
        else:
            raise AssertionError("cross-node delivery did not resume")
        # Bob's client sees a gap in seq and catches up, as the page does.
        seen = {m["id"] for m in b.messages(room["id"])}
        last_contiguous = min(m["seq"] for m in b.messages(room["id"]))
        page = api(two, b_token, "GET", f"/rooms/{room['id']}/messages", params={"after_seq": last_contiguous}).json()
        delivered = [m["id"] for m in b.messages(room["id"])] + [
            m["id"] for m in page["messages"] if m["id"] not in seen
        ]
        stored = one.database.query("SELECT COUNT(*) FROM messages WHERE room_id = ? AND kind = 'text'", room["id"])[0][
            0
        ]
        lost, duplicated = report("redis outage", sent, stored, delivered)
        assert (lost, duplicated) == (0, 0) and stored == len(sent)

        # The rounds: bob's unread count went up by one with each message, in order.
        counts = lambda: [e["unread_count"] for e in b.events["unread"] if e["room_id"] == room["id"]]  # noqa: E731
        b.wait_for(lambda: len(counts()) >= len(sent), what="bob's unread counts")
        lost, duplicated = report("redis outage: unread rounds", range(1, len(sent) + 1), stored, counts())
        assert (lost, duplicated) == (0, 0) and counts() == list(range(1, len(sent) + 1))
        notified = lambda: [e["message"]["id"] for e in b.events["notification"]]  # noqa: E731
        b.wait_for(lambda: len(notified()) >= len(mentions), what="bob's notifications")
        stored = one.database.query(
            "SELECT COUNT(*) FROM mentions WHERE room_id = ? AND user_id = ?", room["id"], bob["id"]
        )[0][0]
        lost, duplicated = report("redis outage: mention rounds", mentions, stored, notified())
        assert (lost, duplicated) == (0, 0) and sorted(notified()) == sorted(mentions) and stored == len(mentions)
        for client in (a, a_too, b):
            client.close()
    finally:
        redis.stop()


def test_node_killed_under_load(live_server):
    """A node dies (SIGKILL) while messages flow: its client reconnects to the other node,
    catches up by after_seq, and has every message exactly once."""
    import threading

    env = {"CLUSTER_NAME": f"kill-{unique_name('')}"}
    one = live_server(
        "mariadb", redis_url="redis://127.0.0.1:6379/14", message_queue_url="redis://127.0.0.1:6379/14", env=env
    )
    two = live_server(peer=one)
    alice, a_token = api_user(one, unique_name("k"))
    bob, b_token = api_user(two, unique_name("l"))
    room = api(one, a_token, "POST", "/rooms", json={"name": "kill"}).json()["room"]
    api(two, b_token, "POST", f"/rooms/{room['id']}/join")
    a, b = ChatClient(one, a_token).connect(), ChatClient(two, b_token).connect()
    a.call("open_room", {"room_id": room["id"]})
    b.call("open_room", {"room_id": room["id"]})
    sent, stop = [], threading.Event()

    def sender():
        i = 0
        while not stop.is_set() and i < 400:
            ack = a.call("send_message", {"room_id": room["id"], "body": f"load {i}", "client_id": f"l{i}"})
            assert ack["ok"], ack
            sent.append(ack["message"]["id"])
            i += 1
            time.sleep(0.01)

    thread = threading.Thread(target=sender)
    thread.start()
    wait_until(lambda: len(b.messages(room["id"])) >= 20, 30, "traffic to flow")
    two.kill()
    b.wait_for(lambda: not b.sio.connected, what="bob to lose his node")
    seen = b.messages(room["id"])
    b2 = ChatClient(one, b_token).connect()  # the balancer sends him to the surviving node
    b2.call("open_room", {"room_id": room["id"]})
    time.sleep(0.5)
    stop.set()
    thread.join(60)
    last_seq = max(m["seq"] for m in seen)
    caught_up, after = [], last_seq
    while True:
        page = api(
            one, b_token, "GET", f"/rooms/{room['id']}/messages", params={"after_seq": after, "limit": 100}
        ).json()
        caught_up += page["messages"]
        if not page["has_more"]:
            break
        after = page["messages"][-1]["seq"]
    delivered = [m["id"] for m in seen] + [m["id"] for m in caught_up]
    stored = one.database.query("SELECT COUNT(*) FROM messages WHERE room_id = ? AND kind = 'text'", room["id"])[0][0]
    lost, duplicated = report("node killed under load", sent, stored, delivered)
    assert (lost, duplicated) == (0, 0) and stored == len(sent)
    a.close(), b2.close()


def test_node_killed_while_an_email_is_claimed(live_server):
    """Node one claims an email and dies (SIGKILL) inside its SMTP exchange, before its
    mail server took the email. Node two, started after, sends the other rooms' emails at
    once and that one when node one's claim runs out (EMAIL_CLAIM_SECONDS): each email
    once, none lost."""
    delay, lease = 1, 2
    with SmtpServer(inbox=HeldInbox()) as stuck, SmtpServer() as smtp:
        env = {"CLUSTER_NAME": f"mail-{unique_name('')}", "EMAIL_CLAIM_SECONDS": str(lease)}
        redis = "redis://127.0.0.1:6379/14"
        one = live_server("mariadb", redis_url=redis, message_queue_url=redis, env=mail_env(stuck, delay, **env))
        alice, a_token = api_user(one, unique_name("m"))
        away, away_token = api_user(one, unique_name("n"))  # never connects: emailed
        address = give_address(one.database, away["username"])
        rooms = [api(one, a_token, "POST", "/rooms", json={"name": f"mail {n}"}).json()["room"] for n in range(3)]
        for room in rooms:
            assert api(one, away_token, "POST", f"/rooms/{room['id']}/join").status_code == 200
        sender = ChatClient(one, a_token).connect()
        for room in rooms:
            ack = sender.call("send_message", {"room_id": room["id"], "body": f"@{away['username']} look"})
            assert ack["ok"], ack
        sender.close()
        wait_until(lambda: stuck.inbox.held, delay + 15, "node one inside its SMTP exchange")
        one.kill()

        two = live_server(peer=one, env=mail_env(smtp, delay))
        requests.get(f"{two.url}/healthz", timeout=10)  # its sweeps start with its first request
        confirmed = "SELECT COUNT(*) FROM email_notices WHERE through_seq > 0"
        deadline = time.monotonic() + lease + 15
        while time.monotonic() < deadline and two.database.query(confirmed)[0][0] < len(rooms):
            time.sleep(0.1)
        got = smtp.inbox.to(address) + stuck.inbox.messages
        delivered = [int(re.search(r"/rooms/(\d+)", m.get_body(("plain",)).get_content()).group(1)) for m in got]
        stored = two.database.query(confirmed)[0][0]
        lost, duplicated = report("node killed while an email is claimed", [r["id"] for r in rooms], stored, delivered)
        assert (lost, duplicated) == (0, 0) and stored == len(rooms)
