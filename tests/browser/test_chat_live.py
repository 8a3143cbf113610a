"""The room list and the chat page in real browsers against the real server: two users
chat live, one of them drops off the network and comes back to every message exactly
once, message text is never markup, and history pages in on scroll. Screenshots at a
desktop and a phone size go to test-artifacts/.

Uses the shared `browser` and `server` fixtures (tests/browser/conftest.py). Pages are
made here rather than with `new_page`, because going offline on purpose makes Chromium
log failed connections as console errors: those are tolerated for the offline context
while it is offline and reconnecting, and every other console error, script error or
dialog fails the test.
"""

import re

import pytest
import requests
from playwright.sync_api import expect

from ..support.accounts import PASSWORD
from ..support.browser import (
    MOBILE,
    Pages,
    assert_clean_history,
    log_in,
    room_id_of,
    send,
    shot,
    stored,
    wait_connected,
    wait_list_connected,
)
from ..support.chat_client import ChatClient
from ..support.http_client import api, create_user, unique_name

pytestmark = pytest.mark.browser


def test_two_users_chat_live_and_catch_up_after_going_offline(pages, server):
    a_name, b_name = unique_name("alice"), unique_name("bob")
    create_user(server, a_name)
    create_user(server, b_name)
    a_context, a = pages.open("A")
    b_context, b = pages.open("B")
    log_in(a, a_name)
    log_in(b, b_name)

    # A creates a public room through the form and lands in it.
    room_name = f"Lounge 라운지 {unique_name('')}"
    a.get_by_label("Room name").fill(room_name)
    a.get_by_role("radio", name=re.compile("^Public")).check()
    a.get_by_role("button", name="Create room").click()
    expect(a).to_have_url(re.compile(r"/rooms/\d+$"))
    room_id = room_id_of(a)
    wait_connected(a)
    expect(a.locator(".msg.kind-system").first).to_have_text(re.compile(f"{a_name} created the room"))

    # B finds it among the public rooms and joins; A sees that live.
    b.goto("/rooms")
    public = b.locator(f".public-room[data-room-id='{room_id}']")
    expect(public.locator(".room-name")).to_have_text(room_name)
    wait_list_connected(b)
    shot(b, "chat-rooms-before-join-desktop")
    public.get_by_role("button", name=re.compile("^Join")).click()
    expect(b).to_have_url(re.compile(rf"/rooms/{room_id}$"))
    wait_connected(b)
    expect(a.locator(".msg.kind-system", has_text=f"{b_name} joined")).to_have_count(1)
    expect(a.locator("#member-count")).to_have_text("2 members")
    expect(a.locator("#online-count")).to_have_text("2 online")
    expect(a.locator("#member-list .member.is-online")).to_have_count(2)

    for page in (a, b):
        page.evaluate("window.__sameDocument = true")

    # Live both ways; each side marks its own message as its own.
    send(a, "Hello from A — 안녕하세요, 반갑습니다!")
    b_sees = b.locator(".msg.kind-text", has_text="Hello from A")
    expect(b_sees).to_have_count(1)
    expect(b_sees).not_to_have_class(re.compile(r"\bis-own\b"))
    expect(a.locator(".msg.kind-text.is-own", has_text="Hello from A")).to_have_count(1)
    expect(a.locator(".msg.is-pending")).to_have_count(0)

    b.get_by_label("Message", exact=True).press_sequentially("Hi A")
    expect(a.locator("#typing-indicator")).to_have_text(f"{b_name} is typing…")
    b.get_by_label("Message", exact=True).press("Shift+Enter")
    b.get_by_label("Message", exact=True).press_sequentially("second line")
    b.get_by_label("Message", exact=True).press("Enter")
    a_sees = a.locator(".msg.kind-text", has_text="Hi A")
    expect(a_sees).to_have_count(1)
    expect(a_sees.locator(".msg-body")).to_have_text("Hi A\nsecond line")
    expect(a_sees).not_to_have_class(re.compile(r"\bis-own\b"))
    expect(b.locator(".msg.kind-text.is-own", has_text="Hi A")).to_have_count(1)
    expect(a.locator("#typing-indicator")).to_have_text("", timeout=5000)

    # Text is text: markup shows literally and creates no element; only http(s) links.
    tricky = ["<img src=x onerror=alert(1)>", "<b>bold</b>", "see https://example.com/x.", "javascript:alert(1)"]
    for body in tricky:
        send(a, body)
    for body in tricky:
        expect(b.locator(".msg-body", has_text=body)).to_have_count(1)
    bodies = b.locator("#message-list .msg-body")
    expect(bodies.locator("img")).to_have_count(0)
    expect(bodies.locator("b")).to_have_count(0)
    expect(b.locator(".msg-body", has_text="<img src=x onerror=alert(1)>")).to_have_text("<img src=x onerror=alert(1)>")
    link = bodies.locator("a")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", "https://example.com/x")
    expect(link).to_have_text("https://example.com/x")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(link).to_have_attribute("target", "_blank")
    expect(b.locator("a[href^='javascript']")).to_have_count(0)

    shot(a, "chat-room-a-desktop")
    shot(b, "chat-room-b-desktop")

    # B drops off the network. A sends three messages; B, offline, writes one too.
    catch_up_requests = []
    b.on("request", lambda r: "/changes?after_rev=" in r.url and catch_up_requests.append(r.url))
    pages.offline.add("B")
    b_context.set_offline(True)
    expect(b.locator("#connection-status")).not_to_have_attribute("data-state", "connected")
    offline_texts = [f"While you were away {i}" for i in (1, 2, 3)]
    for text in offline_texts:
        send(a, text)
    for text in offline_texts:
        expect(a.locator(".msg.kind-text.is-own:not(.is-pending)", has_text=text)).to_have_count(1)
    send(b, "Written offline")
    pending = b.locator(".msg.is-pending", has_text="Written offline")
    expect(pending).to_have_count(1)
    expect(pending.locator(".msg-status")).to_have_text("Waiting for the connection…")
    expect(b.locator(".msg-body", has_text="While you were away")).to_have_count(0)
    shot(b, "chat-room-b-offline-desktop")

    # Back online: everything exactly once, in order, without a reload.
    b_context.set_offline(False)
    wait_connected(b)
    pages.offline.discard("B")
    for text in offline_texts:
        expect(b.locator(".msg-body", has_text=text)).to_have_count(1)
    expect(b.locator(".msg.kind-text.is-own:not(.is-pending)", has_text="Written offline")).to_have_count(1)
    expect(a.locator(".msg.kind-text", has_text="Written offline")).to_have_count(1)
    assert_clean_history(b)
    assert_clean_history(a)
    texts = [text for _seq, text in stored(b)]
    positions = [texts.index(t) for t in offline_texts]
    assert positions == sorted(positions) and len(set(positions)) == 3, texts
    assert stored(a) == stored(b), "both sides must show the same history"
    assert catch_up_requests, "the reconnect should ask for the changes after the last rev seen"
    for page in (a, b):
        assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"

    # A's room list, in a second tab, follows B's next message live.
    a_list = a_context.new_page()
    a_list.on("console", lambda m: pages._console("A-list", m))
    a_list.on("pageerror", lambda e: pages.problems.append(f"A-list: script error: {e}"))
    a.close()
    a_list.goto("/rooms")
    wait_list_connected(a_list)
    item = a_list.locator(f"#my-rooms .room-item[data-room-id='{room_id}']")
    unread = a_list.request.get("/api/v1/rooms").json()["rooms"][0]["unread_count"]
    if unread:
        expect(item.locator(".unread-count")).to_have_text(str(unread))
    else:
        expect(item.locator(".unread-badge")).to_be_hidden()
    send(b, "Are you still there? 여보세요?")
    expect(item.locator(".unread-badge")).to_be_visible()
    expect(item.locator(".unread-count")).to_have_text(str(unread + 1))
    expect(item.locator(".room-preview")).to_have_text(f"{b_name}: Are you still there? 여보세요?")
    shot(a_list, "chat-rooms-a-desktop")

    # The same pages on a phone.
    phone_context, phone = pages.open("B-phone", **MOBILE)
    log_in(phone, b_name)
    wait_list_connected(phone)
    expect(phone.locator(f"#my-rooms .room-item[data-room-id='{room_id}'] .room-time")).not_to_be_empty()
    shot(phone, "chat-rooms-b-mobile")
    phone.locator(f"#my-rooms .room-item[data-room-id='{room_id}'] a").click()
    wait_connected(phone)
    expect(phone.locator(".msg-body", has_text="Are you still there?")).to_have_count(1)
    expect(phone.locator("#member-panel")).not_to_have_attribute("open", "")
    assert_clean_history(phone)
    shot(phone, "chat-room-b-mobile")
    phone.locator("#member-panel summary").click()
    expect(phone.locator("#member-list .member")).to_have_count(2)
    shot(phone, "chat-room-b-mobile-members")


def test_history_pages_in_on_scroll_and_new_messages_button(pages, server):
    owner_name, reader_name = unique_name("owner"), unique_name("reader")
    create_user(server, owner_name)
    create_user(server, reader_name)
    tokens = requests.post(
        f"{server.url}/api/v1/auth/token", json={"username": owner_name, "password": PASSWORD}, timeout=10
    ).json()
    owner = ChatClient(server, tokens["access_token"]).connect()
    try:
        room = api(server, owner.token, "POST", "/rooms", json={"name": "Archive", "type": "public"}).json()["room"]
        for i in range(1, 131):
            ack = owner.call("send_message", {"room_id": room["id"], "body": f"history {i:03d}", "client_id": f"h{i}"})
            assert ack["ok"], ack

        _context, page = pages.open("reader")
        log_in(page, reader_name)
        page.goto(f"/rooms/{room['id']}")
        expect(page).to_have_url(re.compile(rf"/rooms/{room['id']}$"))
        page.get_by_role("button", name=re.compile("^Join")).click()
        wait_connected(page)
        # The latest page, scrolled to the bottom.
        expect(page.locator(".msg-body", has_text="history 130")).to_be_in_viewport()
        expect(page.locator(".msg-body", has_text="history 080")).to_have_count(0)

        # Scrolling to the top loads the previous page without moving what is on screen.
        first = page.locator("#message-list > li").first
        first_seq = first.get_attribute("data-seq")
        page.locator("#message-scroller").evaluate("s => { s.scrollTop = 0; }")
        expect(page.locator(".msg-body", has_text="history 080")).to_have_count(1)
        anchor = page.locator(f"#message-list > li[data-seq='{first_seq}']")
        expect(anchor).to_be_in_viewport()
        page.locator("#message-scroller").evaluate("s => { s.scrollTop = 0; }")
        expect(page.locator(".msg-body", has_text="history 001")).to_have_count(1)
        expect(page.locator(".msg.kind-system", has_text=f"{owner_name} created the room")).to_have_count(1)
        expect(page.locator("#history-status")).to_have_text("This is the beginning of the room.")
        assert_clean_history(page)
        assert [text for _seq, text in stored(page)] == [f"history {i:03d}" for i in range(1, 131)]

        # Scrolled up, a new message does not pull the view down: a button offers it.
        ack = owner.call("send_message", {"room_id": room["id"], "body": "fresh news", "client_id": "fresh"})
        assert ack["ok"], ack
        button = page.locator("#new-messages")
        expect(button).to_be_visible()
        expect(button).to_contain_text("1 new message")
        expect(page.locator(".msg-body", has_text="fresh news")).not_to_be_in_viewport()
        shot(page, "chat-room-new-messages-desktop")
        button.click()
        expect(page.locator(".msg-body", has_text="fresh news")).to_be_in_viewport()
        expect(button).to_be_hidden()

        # At the bottom, the view stays pinned as messages arrive.
        ack = owner.call("send_message", {"room_id": room["id"], "body": "pinned news", "client_id": "pinned"})
        assert ack["ok"], ack
        expect(page.locator(".msg-body", has_text="pinned news")).to_be_in_viewport()
        expect(button).to_be_hidden()

        # The composer refuses empty and over-long messages.
        box = page.get_by_label("Message", exact=True)
        send_button = page.get_by_role("button", name="Send")
        box.fill("   ")
        expect(send_button).to_be_disabled()
        box.press("Enter")
        expect(page.locator(".msg.is-pending")).to_have_count(0)
        box.fill("가" * 4001)
        expect(page.locator("#composer-count")).to_have_text("4001")
        expect(page.locator("#composer-counter")).to_have_class(re.compile(r"\bis-over\b"))
        expect(send_button).to_be_disabled()
        expect(page.locator("#composer-error")).to_contain_text("over the 4000 limit")
        box.press("Enter")
        expect(page.locator(".msg.is-pending")).to_have_count(0)
        box.fill("가" * 4000)
        expect(send_button).to_be_enabled()
        expect(page.locator("#composer-error")).to_have_text("")
        # The grown composer did not push the newest message out of view.
        expect(page.locator(".msg-body", has_text="pinned news")).to_be_in_viewport()
        shot(page, "chat-room-composer-desktop")
    finally:
        owner.close()


def test_socket_renews_its_token_and_stays_connected(browser, live_server):
    """With 6-second tokens (expired sockets are swept every 5 s), the page renews over
    the open socket with `auth` and is never disconnected."""
    server = live_server("sqlite", env={"ACCESS_TOKEN_SECONDS": "6"})
    pages = Pages(browser, server)
    try:
        name = unique_name("renew")
        create_user(server, name)
        _context, page = pages.open("renew")
        frames = {"sent": [], "received": []}

        def watch(ws):
            ws.on("framesent", lambda payload: frames["sent"].append(str(payload)))
            ws.on("framereceived", lambda payload: frames["received"].append(str(payload)))

        page.on("websocket", watch)
        log_in(page, name)
        page.get_by_label("Room name").fill("Renewals")
        page.get_by_role("button", name="Create room").click()
        wait_connected(page)
        page.wait_for_timeout(16_000)
        wait_connected(page)
        send(page, "still here")
        expect(page.locator(".msg.kind-text.is-own:not(.is-pending)", has_text="still here")).to_have_count(1)
        renewals = [f for f in frames["sent"] if f.startswith("42/chat,") and '["auth",' in f]
        assert len(renewals) >= 2, frames["sent"]
        assert not [f for f in frames["received"] if f.startswith("41/chat")], "the server disconnected the socket"
    finally:
        pages.close()
    assert not pages.problems, "\n".join(pages.problems)
