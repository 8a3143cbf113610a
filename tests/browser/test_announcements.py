"""An operator's announcement (`flask webchat announce ROOM TEXT`) reads as its text on the
room list and on the chat page: in the page as loaded, arriving live on the chat page, and
as the room list's live preview when another tab reads it. The server runs with a Redis
queue, so that the CLI process's broadcast reaches the browser's socket.

Pages come from `support.browser.Pages`: any console error, script error or native
dialog fails the test.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from ..support.browser import Pages, log_in, shot, wait_connected, wait_list_connected
from ..support.http_client import api, api_user, unique_name
from ..support.services import REDIS_URL, require_redis

pytestmark = pytest.mark.browser

FIRST = "Maintenance tonight at 22:00 — 오늘 밤 10시 점검"
SECOND = "Maintenance is over. 점검이 끝났습니다."


def announce(server, room_id, text):
    """Run the operator's command against the server's database and queue."""
    result = server.flask("webchat", "announce", str(room_id), text)
    assert result.returncode == 0, result.stderr


def test_announcements_read_as_their_text(browser, live_server):
    require_redis()
    server = live_server(
        "sqlite", redis_url=REDIS_URL, message_queue_url=REDIS_URL, env={"CLUSTER_NAME": f"test-{uuid.uuid4().hex[:8]}"}
    )
    pages = Pages(browser, server)
    try:
        user, token = api_user(server, unique_name("reader"))
        room = api(server, token, "POST", "/rooms", json={"name": "Notices", "type": "public"}).json()["room"]
        announce(server, room["id"], FIRST)

        # The room list as loaded.
        context, room_list = pages.open("list")
        log_in(room_list, user["username"])
        wait_list_connected(room_list)
        preview = room_list.locator(f"#my-rooms .room-item[data-room-id='{room['id']}'] .room-preview")
        expect(preview).to_have_text(FIRST)

        # The chat page, in a second tab: the announcement in the history, then one live.
        chat = context.new_page()
        chat.on("console", lambda message: pages._console("chat", message))
        chat.on("pageerror", lambda error: pages.problems.append(f"chat: script error: {error}"))
        chat.goto(f"/rooms/{room['id']}")
        wait_connected(chat)
        notices = chat.locator("#message-list .msg.kind-system .system-text")
        expect(notices).to_have_text([re.compile("created the room"), FIRST])
        announce(server, room["id"], SECOND)
        expect(notices).to_have_text([re.compile("created the room"), FIRST, SECOND])
        shot(chat, "announcement-chat-desktop")

        # Reading it on the chat page tells the list tab, whose preview follows live.
        expect(preview).to_have_text(SECOND)
        shot(room_list, "announcement-rooms-desktop")
        for page in (room_list, chat):
            expect(page.get_by_text(re.compile("Someone"))).to_have_count(0)
    finally:
        pages.close()
    assert not pages.problems, "\n".join(pages.problems)
