"""What a person sees when the node under their page is restarted (a deploy): the page,
through the real nginx of deploy/nginx.conf in front of two nodes, hears
`server_restart`, reconnects at once to the other node and sends what was in flight or
typed meanwhile, stored once. tests/integration/test_rolling_restart.py runs the same
restart with many socket clients; docs/deployment.md, "Restarts and deploys"."""

import time

import pytest
from playwright.sync_api import expect

from ..support.browser import Pages, assert_clean_history, log_in, send, shot, wait_connected
from ..support.http_client import api, api_user, unique_name
from ..support.nginx import sockets_on, two_nodes_behind_nginx
from ..support.polling import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.mariadb, pytest.mark.redis]

REDIS = "redis://127.0.0.1:6379/14"


def test_a_page_moves_to_the_other_node_when_its_node_restarts(browser, live_server, tmp_path):
    nodes, proxy = two_nodes_behind_nginx(live_server, tmp_path / "nginx", REDIS)
    pages = Pages(browser, proxy)
    try:
        alice, token = api_user(proxy, unique_name("alice"))
        room = api(proxy, token, "POST", "/rooms", json={"name": "deploy day"}).json()["room"]
        _, page = pages.open("alice")
        log_in(page, alice["username"])
        page.goto(f"/rooms/{room['id']}")
        wait_connected(page)
        send(page, "before the deploy")
        expect(page.locator(".msg.kind-text:not(.is-pending)", has_text="before the deploy")).to_have_count(1)
        (busy,) = [node for node in nodes if sockets_on(node) == 1]
        (other,) = [node for node in nodes if node is not busy]

        busy.terminate()
        signalled = time.monotonic()
        send(page, "sent as the node stops")
        wait_until(lambda: sockets_on(other) == 1, 15, "the page's socket on the other node")
        moved = time.monotonic() - signalled
        wait_connected(page)
        send(page, "after the deploy")
        for text in ("sent as the node stops", "after the deploy"):
            expect(page.locator(".msg.kind-text:not(.is-pending)", has_text=text)).to_have_count(1)
        assert_clean_history(page)
        shot(page, "restart-moved-to-the-other-node")
        rows = busy.database.query(
            "SELECT body, COUNT(*) FROM messages WHERE room_id = ? AND client_id IS NOT NULL GROUP BY body", room["id"]
        )
        assert dict(rows) == {"before the deploy": 1, "sent as the node stops": 1, "after the deploy": 1}
        assert pages.problems == [], "the page logged no error: nginx passed the stopping node's 503 on"
        busy.process.wait(15)
        print(f"\n[restart, page] SIGTERM to the page connected to the other node: {moved * 1000:.0f} ms")  # noqa: T201 - shown with -s
    finally:
        pages.close()
        proxy.stop()
