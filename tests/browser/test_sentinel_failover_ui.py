"""What people see when Redis fails over (Sentinel) under them: Alice on one node sends
through the composer while the primary is killed, Bob on the other node (desktop and
phone) gets every message once, in order, without a reload; neither page shows a
connection problem. tests/integration/test_sentinel.py measures the same failover with
socket clients; docs/deployment.md writes both down."""

import time

import pytest
from playwright.sync_api import expect

from ..support.browser import (
    MOBILE,
    Pages,
    assert_clean_history,
    log_in,
    send,
    shot,
    stored,
    wait_connected,
)
from ..support.http_client import api, api_user, unique_name
from ..support.polling import wait_until
from ..support.throwaway import ThrowawaySentinels

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.mariadb, pytest.mark.redis]


def test_pages_across_a_redis_failover(browser, live_server, tmp_path):
    cluster = ThrowawaySentinels(tmp_path / "redis").start()
    opened = []
    try:
        env = {"CLUSTER_NAME": f"ui-sentinel-{unique_name('')}"}
        one = live_server("mariadb", redis_url=cluster.url, message_queue_url=cluster.url, env=env)
        two = live_server(peer=one)
        alice, a_token = api_user(one, unique_name("alice"))
        bob, b_token = api_user(two, unique_name("bob"))
        room = api(one, a_token, "POST", "/rooms", json={"name": "failover"}).json()["room"]
        api(two, b_token, "POST", f"/rooms/{room['id']}/join")
        on_one, on_two = Pages(browser, one), Pages(browser, two)
        opened += [on_one, on_two]
        _, a = on_one.open("alice")
        _, b = on_two.open("bob")
        _, b_phone = on_two.open("bob-phone", **MOBILE)
        for page, user in ((a, alice), (b, bob), (b_phone, bob)):
            log_in(page, user["username"])
            page.goto(f"/rooms/{room['id']}")
            wait_connected(page)
        send(a, "before the failover")
        for page in (b, b_phone):
            expect(page.locator(".msg.kind-text", has_text="before the failover")).to_have_count(1)

        cluster.primary.stop()
        killed = time.monotonic()
        during = [f"during the failover {i}" for i in range(8)]
        for text in during:
            send(a, text)
            time.sleep(0.25)
        # Alice's sends are all acked (none left pending) and her page never lost its socket.
        expect(a.locator("#message-list .msg.is-pending")).to_have_count(0)
        wait_connected(a)
        acked_after = time.monotonic() - killed
        wait_until(lambda: cluster.primary_port() == cluster.replica.port, 30, "the sentinels to promote the replica")

        # Bob's pages: the sends relayed after the failover reach them live, and the first
        # one's seq past the gap makes the page fetch what it missed, in order.
        expect(b.locator(".msg.kind-text", has_text=during[-1])).to_have_count(1, timeout=30_000)
        seen_after = time.monotonic() - killed
        send(a, "after the failover")
        for page in (b, b_phone):
            expect(page.locator(".msg.kind-text", has_text="after the failover")).to_have_count(1, timeout=30_000)
            assert [body for _seq, body in stored(page)] == ["before the failover", *during, "after the failover"]
            assert_clean_history(page)
            wait_connected(page)
        print(  # noqa: T201 - what the page showed, shown with -s
            f"\n[failover in the page] alice's {len(during)} sends acked within {acked_after:.1f}s of the kill; "
            f"bob's page had them all {seen_after:.1f}s after it"
        )
        shot(a, "sentinel-failover-sender-desktop")
        shot(b, "sentinel-failover-other-node-desktop")
        shot(b_phone, "sentinel-failover-other-node-mobile")
    finally:
        for pages in opened:
            pages.close()
        cluster.stop()
    problems = [problem for pages in opened for problem in pages.problems]
    assert not problems, "\n".join(problems)
