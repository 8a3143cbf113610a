"""The chat page's outbox in a real browser: messages written faster than the server's
rate limit allows wait their turn, say so, and are all stored once, in the order they
were written, without a click.

Pages come from test_chat_live's `Pages`: any console error, script error or native
dialog fails the test.
"""

import re

import pytest
from playwright.sync_api import expect

from ..support.browser import Pages, assert_clean_history, log_in, send, shot, stored, wait_connected
from ..support.http_client import api, api_user, unique_name

pytestmark = pytest.mark.browser


def test_messages_over_the_rate_wait_their_turn(browser, live_server):
    server = live_server("sqlite", env={"RATELIMIT_ENABLED": "true", "RATELIMIT_MESSAGES_PER_USER": "2 per 3 seconds"})
    pages = Pages(browser, server)
    try:
        user, token = api_user(server, unique_name("burst"))
        room = api(server, token, "POST", "/rooms", json={"name": "Bursts"}).json()["room"]
        _context, page = pages.open("burst")
        log_in(page, user["username"])
        page.goto(f"/rooms/{room['id']}")
        wait_connected(page)

        texts = [f"burst {i}" for i in range(1, 6)]
        for text in texts:
            send(page, text)
        waiting = page.locator(
            ".msg.is-pending .msg-status", has_text=re.compile(r"^Too many messages: sending again in \d+ s…$")
        )
        expect(waiting).to_have_count(1)
        shot(page, "outbox-rate-limited-desktop")
        for text in texts:
            expect(page.locator(".msg.kind-text:not(.is-pending)", has_text=text)).to_have_count(1, timeout=20_000)
        assert [text for _seq, text in stored(page)] == texts
        assert_clean_history(page)
        expect(page.locator(".msg-status.is-error")).to_have_count(0)
    finally:
        pages.close()
    assert not pages.problems, "\n".join(pages.problems)
