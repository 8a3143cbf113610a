"""A MariaDB that turned read-only under a running server (a failover to a replica that
is still `read_only`, or an operator's `SET GLOBAL read_only=1`): every write is a clean
SERVICE_UNAVAILABLE, on HTTP and on the socket, reads go on, and once the server is
writable again the retried sends (same client_id) are stored once. webchat connects as
an ordinary user with the grants it needs: SUPER (and root) would ignore read_only."""

import pytest

from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, page_login, page_logout, unique_name
from ..support.polling import wait_until
from ..support.throwaway import ThrowawayMariaDB

pytestmark = [pytest.mark.integration, pytest.mark.mariadb]


class AppUserDatabase:
    """The throwaway MariaDB as webchat's own (non-SUPER) user sees it: what LiveServer
    needs of a database."""

    backend = "mariadb"

    def __init__(self, mariadb, user="webchat", password="webchat-pw"):
        self.mariadb, self.migrated = mariadb, False
        mariadb.query(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'")
        mariadb.query(f"GRANT ALL PRIVILEGES ON webchat.* TO '{user}'@'127.0.0.1'")
        self.url = f"mysql://{user}:{password}@127.0.0.1:{mariadb.port}/webchat"

    def query(self, sql, *args):
        return self.mariadb.query(sql, *args)


def connection_ids(mariadb, user="webchat"):
    """The ids of webchat's connections to the server now."""
    return {row[0] for row in mariadb.query("SELECT id FROM information_schema.processlist WHERE user = ?", user)}


def test_read_only_database_is_service_unavailable(live_server, tmp_path):
    mariadb = ThrowawayMariaDB(tmp_path / "mariadb").start()
    try:
        server = live_server(database=AppUserDatabase(mariadb))
        alice, a_token = api_user(server, unique_name("ro"))
        room = api(server, a_token, "POST", "/rooms", json={"name": "read-only"}).json()["room"]
        a = ChatClient(server, a_token).connect()
        assert a.call("open_room", {"room_id": room["id"]})["ok"]
        assert a.call("send_message", {"room_id": room["id"], "body": "before", "client_id": "ro0"})["ok"]
        session = page_login(server, alice["username"])
        before = connection_ids(mariadb)

        mariadb.query("SET GLOBAL read_only = 1")
        # The socket: a send is refused with the contract's code, the socket stays up.
        ack = a.call("send_message", {"room_id": room["id"], "body": "during", "client_id": "ro1"})
        assert ack["ok"] is False and ack["error"]["code"] == "SERVICE_UNAVAILABLE", ack
        assert a.sio.connected
        # The API: a write is a 503 with the code; a read still answers.
        created = api(server, a_token, "POST", "/rooms", json={"name": "not now"})
        assert created.status_code == 503 and created.json()["error"]["code"] == "SERVICE_UNAVAILABLE", created.text
        listed = api(server, a_token, "GET", f"/rooms/{room['id']}/messages")
        assert listed.status_code == 200 and [m["body"] for m in listed.json()["messages"]][-1:] == ["before"]
        # A signed-in browser's write (the logout form) gets the error page, not a crash.
        page = page_logout(server, session)
        assert page.status_code == 503 and "text/html" in page.headers["Content-Type"], page.text[:500]
        assert "trying again in a moment is safe" in page.text  # the error page says so in words
        log = server.log_text()
        assert "Traceback" not in log and "unhandled error" not in log
        assert "database is read-only, writes refused" in log  # what the operator reads

        mariadb.query("SET GLOBAL read_only = 0")
        # The refusal emptied the pool, as a disconnect does: no connection from before it
        # is handed out again (after a failover, they would still lead to the old primary).
        for _ in range(15):
            assert api(server, a_token, "GET", f"/rooms/{room['id']}/messages").status_code == 200
        wait_until(lambda: not before & connection_ids(mariadb), 10, "the pre-failover connections to close")
        retried = a.call("send_message", {"room_id": room["id"], "body": "during", "client_id": "ro1"})
        assert retried["ok"], retried
        again = a.call("send_message", {"room_id": room["id"], "body": "during", "client_id": "ro1"})
        assert again["message"]["id"] == retried["message"]["id"]
        stored = mariadb.query(
            "SELECT client_id FROM messages WHERE room_id = ? AND client_id IS NOT NULL ORDER BY seq", room["id"]
        )
        assert stored == [("ro0",), ("ro1",)]
        a.close()
    finally:
        mariadb.stop()
