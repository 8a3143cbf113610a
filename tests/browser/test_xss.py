"""Script payloads in everything a user controls (room names, message bodies, file names)
render as inert text for another user, on the room list and on the chat page, whether
they were in the page when it loaded or arrived live. The test fails on any dialog, on
any element made from a payload, and on any console or script error (the `pages`
fixture). Usernames cannot carry such characters at all: signup refuses them. Bodies
that try to smuggle markup through the formatting (issue 22), typed into the real
composer, come out as the subset's elements only, with no handler and no dangerous link.
What issues 19 to 23 added gets the whole corpus (tests/support/xss.py), one page load a
surface: reply quotes, reactions and the sidebar, search snippets, desktop notifications,
the admin pages and audit log, and the emails of what a member missed.
"""

import io
import re

import pytest
import requests
from PIL import Image
from playwright.sync_api import expect

from ..support.accounts import PASSWORD
from ..support.browser import MOBILE, Pages, log_in, shot, wait_connected, wait_list_connected
from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, create_user, unique_name
from ..support.polling import wait_until
from ..support.smtp import SmtpServer, give_address, mail_env
from ..support.xss import CORPUS, MARKDOWN_XSS, PAYLOADS

pytestmark = pytest.mark.browser

# What no page of ours ever contains inside a room list or a message list.
INJECTED = (
    "img[src='x'], img[src='x' i], svg, script, iframe, b, a[href^='javascript' i], [onerror], [onload], [onmouseover]"
)


# What a formatted body may hold: the subset's elements (services/formatting.py) and the
# page's own mention highlights.
FORMATTED_TAGS = {"P", "BR", "STRONG", "EM", "S", "CODE", "PRE", "BLOCKQUOTE", "UL", "OL", "LI", "A", "SPAN"}
FOUND_IN_BODIES = """(bodies) => {
  const elements = bodies.flatMap((body) => [...body.querySelectorAll("*")]);
  return {
    tags: [...new Set(elements.map((el) => el.tagName))],
    handlers: elements.flatMap((el) => [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => el.tagName + " " + a.name)),
    hrefs: elements.filter((el) => el.hasAttribute("href")).map((el) => el.getAttribute("href")),
    links: elements.filter((el) => el.tagName === "A").map((el) => [el.target, el.rel]),
  };
}"""


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 160, 90)).save(out, format="PNG")
    return out.getvalue()


def upload(server, token, room_id, name, data, content_type="text/plain"):
    response = requests.post(
        f"{server.url}/api/v1/rooms/{room_id}/files",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": (name, data, content_type)},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["message"]


def assert_inert(page, scope):
    """Nothing under `scope` was made from markup (a script that ran would have opened a
    dialog, which the `pages` fixture fails on)."""
    found = page.eval_on_selector_all(f"{scope} :is({INJECTED})", "nodes => nodes.map(n => n.outerHTML)")
    assert found == [], f"elements from payloads under {scope}: {found}"


def test_payloads_render_as_text(pages, server):
    attacker, attacker_token = api_user(server, unique_name("mallory"))
    victim_name = unique_name("victim")
    create_user(server, victim_name)

    # Rooms named with payloads: public ones for the public list, a private one the
    # victim is invited into (their own list), and one where the payloads are posted.
    public_rooms = []
    for payload in PAYLOADS[:3]:
        response = api(server, attacker_token, "POST", "/rooms", json={"name": payload, "type": "public"})
        assert response.status_code == 201, response.text
        public_rooms.append(response.json()["room"])
    chat_room = api(
        server, attacker_token, "POST", "/rooms", json={"name": "<img src=x onerror=alert(1)> chat", "type": "private"}
    ).json()["room"]
    assert (
        api(
            server, attacker_token, "POST", f"/rooms/{chat_room['id']}/members", json={"username": victim_name}
        ).status_code
        == 200
    )

    client = ChatClient(server, attacker_token).connect()
    try:
        for i, payload in enumerate(PAYLOADS):
            ack = client.call("send_message", {"room_id": chat_room["id"], "body": payload, "client_id": f"x{i}"})
            assert ack["ok"], ack
        # File names: slashes are cut away as folders, the rest survives; one is an image.
        file_names = []
        for payload in PAYLOADS[:3]:
            stored = upload(server, attacker_token, chat_room["id"], f"{payload}.txt", b"plain text")
            file_names.append(stored["file"]["name"])
        image = upload(server, attacker_token, chat_room["id"], '"><svg onload=alert(1)>.png', png_bytes(), "image/png")
        assert image["file"]["thumbnail_url"], image
        file_names.append(image["file"]["name"])
        assert any("<img src=x onerror=alert(1)>" in name for name in file_names), file_names

        _context, page = pages.open("victim")
        log_in(page, victim_name)
        wait_list_connected(page)

        # The room list, as rendered by the server.
        for room in public_rooms:
            expect(page.locator(f".public-room[data-room-id='{room['id']}'] .room-name")).to_have_text(room["name"])
        mine = page.locator(f"#my-rooms .room-item[data-room-id='{chat_room['id']}']")
        expect(mine.locator(".room-name")).to_have_text(chat_room["name"])
        expect(mine.locator(".room-preview")).to_have_text(f"{attacker['username']}: {file_names[-1]}")
        assert_inert(page, "#my-rooms")
        assert_inert(page, "#public-rooms")

        # Live: a new room with a payload name arrives (room_added) and a payload message
        # updates the preview (unread).
        live_room = api(
            server, attacker_token, "POST", "/rooms", json={"name": "<script>alert(1)</script> live", "type": "private"}
        ).json()["room"]
        api(server, attacker_token, "POST", f"/rooms/{live_room['id']}/members", json={"username": victim_name})
        live_item = page.locator(f"#my-rooms .room-item[data-room-id='{live_room['id']}']")
        expect(live_item.locator(".room-name")).to_have_text("<script>alert(1)</script> live")
        ack = client.call(
            "send_message", {"room_id": live_room["id"], "body": '"><svg onload=alert(1)>', "client_id": "live1"}
        )
        assert ack["ok"], ack
        expect(live_item.locator(".room-preview")).to_have_text(f'{attacker["username"]}: "><svg onload=alert(1)>')
        expect(live_item.locator(".unread-count")).to_have_text("1")
        assert_inert(page, "#my-rooms")
        shot(page, "xss-room-list-desktop")

        # The chat page: the title, every body and every file name are text.
        page.goto(f"/rooms/{chat_room['id']}")
        wait_connected(page)
        expect(page.locator("#room-name")).to_have_text(chat_room["name"])
        assert page.title().startswith(chat_room["name"])
        bodies = page.locator("#message-list .msg.kind-text .msg-body")
        expect(bodies).to_have_count(len(PAYLOADS))
        assert bodies.all_text_contents() == PAYLOADS
        names = page.locator("#message-list .msg.kind-file .file-name")
        expect(names).to_have_count(len(file_names))
        assert names.all_text_contents() == file_names
        thumb = page.locator("#message-list .msg-image")
        expect(thumb).to_have_attribute("alt", file_names[-1])
        assert_inert(page, "#message-list")

        # Live on the chat page: a payload message and a payload file arrive by socket.
        ack = client.call(
            "send_message",
            {"room_id": chat_room["id"], "body": "<img src=x onerror=alert(1)> live", "client_id": "live2"},
        )
        assert ack["ok"], ack
        live_file = upload(
            server, attacker_token, chat_room["id"], "<svg onload=alert(1)> live.pdf", b"%PDF-1.4\n%%EOF\n"
        )
        expect(page.locator(".msg-body", has_text="<img src=x onerror=alert(1)> live")).to_have_count(1)
        expect(page.locator(".file-name", has_text=live_file["file"]["name"])).to_have_count(1)
        assert_inert(page, "#message-list")
        assert_inert(page, "#member-list")

        # The full-size viewer and the leave confirmation show names as text too.
        thumb.click()
        viewer = page.locator("dialog.image-viewer")
        expect(viewer.locator(".viewer-title")).to_have_text(file_names[-1])
        assert_inert(page, "dialog.image-viewer .viewer-bar")
        viewer.get_by_role("button", name="Close").click()
        page.get_by_role("button", name="Leave").click()
        confirm = page.locator("dialog.confirm-dialog")
        expect(confirm.locator(".modal-title")).to_have_text(f"Leave {chat_room['name']}?")
        assert_inert(page, "dialog.confirm-dialog")
        confirm.get_by_role("button", name="Cancel").click()
        shot(page, "xss-chat-desktop")

        _phone_context, phone = pages.open("victim-phone", **MOBILE)
        log_in(phone, victim_name)
        phone.goto(f"/rooms/{chat_room['id']}")
        wait_connected(phone)
        expect(phone.locator("#message-list .msg.kind-text")).to_have_count(len(PAYLOADS) + 1)
        assert_inert(phone, "#message-list")
        shot(phone, "xss-chat-mobile")
    finally:
        client.close()


@pytest.mark.parametrize("username", ["<script>", "<img src=x>", '"><svg', "a&b;c"])
def test_usernames_cannot_carry_markup(new_page, server, username):
    response = requests.post(
        f"{server.url}/api/v1/auth/signup", json={"username": username, "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "username" in response.json()["error"]["fields"]

    page = new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"dialog opened: {dialog.message}"))
    page.goto("/auth/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/auth/signup$"))
    expect(page.locator("#username-help .error-text")).to_be_visible()
    expect(page.locator("main :is(script, svg, img[src='x'])")).to_have_count(0)


def assert_formatted_inert(page):
    found = page.eval_on_selector_all("#message-list .msg-body.is-formatted", FOUND_IN_BODIES)
    assert set(found["tags"]) <= FORMATTED_TAGS, found
    assert found["handlers"] == [], found
    assert all(href.lower().startswith(("http://", "https://", "mailto:")) for href in found["hrefs"]), found
    assert all(link == ["_blank", "noopener noreferrer nofollow"] for link in found["links"]), found
    assert_inert(page, "#message-list")


def test_markdown_payloads_typed_into_the_page_stay_inert(pages, server):
    writer, writer_token = api_user(server, unique_name("mallory"))
    reader, reader_token = api_user(server, unique_name("victim"))
    room = api(server, writer_token, "POST", "/rooms", json={"name": "Markdown payloads", "type": "public"}).json()
    room = room["room"]
    assert api(server, reader_token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    views = []
    for label, user in (("writer", writer), ("reader", reader)):
        _context, page = pages.open(label)
        log_in(page, user["username"])
        page.goto(f"/rooms/{room['id']}")
        wait_connected(page)
        views.append(page)
    page, victim = views

    box = page.locator("#composer-input")
    for body in MARKDOWN_XSS:
        box.fill(body)
        box.press("Enter")
    stored = "#message-list .msg.kind-text:not(.is-pending) .msg-body"
    for view in views:  # the writer's acks and the reader's live events
        expect(view.locator(stored)).to_have_count(len(MARKDOWN_XSS))
        assert_formatted_inert(view)
    body = victim.locator(stored)
    expect(body.nth(0)).to_have_text("[x](javascript:alert(1))")
    expect(body.nth(3)).to_have_text("<img src=x onerror=alert(1)>")
    expect(body.nth(10).locator("pre code")).to_have_text("<script>alert(1)</script>\n")
    expect(body.nth(8).locator("a")).to_have_attribute("href", "https://evil.test/x.png")  # a link, never an image
    shot(victim, "xss-markdown-desktop")

    # From history, after a reload, and on a phone.
    victim.reload()
    wait_connected(victim)
    expect(victim.locator(stored)).to_have_count(len(MARKDOWN_XSS))
    assert_formatted_inert(victim)
    _phone_context, phone = pages.open("victim-phone", **MOBILE)
    log_in(phone, reader["username"])
    phone.goto(f"/rooms/{room['id']}")
    wait_connected(phone)
    expect(phone.locator(stored)).to_have_count(len(MARKDOWN_XSS))
    assert_formatted_inert(phone)
    shot(phone, "xss-markdown-mobile")


# Every Notification the page makes, recorded as it is made (the browser's own, which a
# headless Chromium does not display): window.__notified lists {title, body}.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  if (typeof Real !== "function") return;
  window.__notified = [];
  window.Notification = class extends Real {
    constructor(title, options = {}) {
      super(title, options);
      window.__notified.push({ title, body: options.body ?? "" });
    }
  };
})();
"""
FOUND_IN = """(nodes) => {
  const elements = nodes.flatMap((node) => [...node.querySelectorAll("*")]);
  return {
    tags: [...new Set(elements.map((el) => el.tagName))],
    handlers: elements.flatMap((el) => [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => el.tagName)),
  };
}"""
REACTIONS = ["👍", "❤️", "👨‍👩‍👧", "🇰🇷"]


def one_line(text, limit):
    """What the pages' `truncate` shows of a text: on one line, cut at `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def only_tags(page, selector, allowed):
    """The elements under `selector` are of `allowed` tags only, with no handler."""
    found = page.eval_on_selector_all(selector, FOUND_IN)
    assert set(found["tags"]) <= allowed and found["handlers"] == [], (selector, found)


def test_payloads_in_the_new_surfaces_render_as_text(pages, server):
    """Issue 24: the whole corpus through what issues 19 to 23 added, one page load per
    surface: rendered bodies, reply quotes, reactions and the sidebar's room names on
    the chat page; search snippets and their rooms on the search page; desktop
    notifications on the room list; room names on the admin pages and in the audit log.
    (Emails' HTML is escaped: tests/test_emails.py.)"""
    attacker, attacker_token = api_user(server, unique_name("mallory"))
    victim, victim_token = api_user(server, unique_name("victim"))
    named = []
    for payload in PAYLOADS:
        response = api(server, attacker_token, "POST", "/rooms", json={"name": payload, "type": "public"})
        assert response.status_code == 201, response.text
        named.append(response.json()["room"])
        assert api(server, victim_token, "POST", f"/rooms/{named[-1]['id']}/join").status_code == 200
    room = named[0]
    client = ChatClient(server, attacker_token).connect()
    try:
        # Every body of the corpus, each a reply to the one before: every quote is a payload.
        sent = []
        for i, body in enumerate(CORPUS):
            payload = {"room_id": room["id"], "body": body, "client_id": f"n{i}"}
            if sent:
                payload["reply_to"] = sent[-1]
            ack = client.call("send_message", payload)
            assert ack["ok"], ack
            sent.append(ack["message"]["id"])
        for message_id, emoji in zip(sent, REACTIONS, strict=False):
            assert client.call("react", {"message_id": message_id, "emoji": emoji})["ok"]

        # The chat page: bodies, quotes, reactions, and the sidebar's names.
        _context, page = pages.open("victim")
        log_in(page, victim["username"])
        page.goto(f"/rooms/{room['id']}")
        wait_connected(page)
        stored_bodies = "#message-list .msg.kind-text .msg-body"
        expect(page.locator(stored_bodies)).to_have_count(len(CORPUS))
        assert_formatted_inert(page)
        quotes = page.locator("#message-list .msg-quote-text")
        expect(quotes).to_have_count(len(CORPUS) - 1)
        assert quotes.all_text_contents() == [one_line(body, 140) for body in CORPUS[:-1]]
        only_tags(page, "#message-list .msg-quote", {"SPAN"})
        expect(page.locator("#message-list .reaction-emoji")).to_have_text(REACTIONS)
        only_tags(page, "#message-list .reaction-bar", {"LI", "BUTTON", "SPAN"})
        names = page.locator("#sidebar-rooms .room-name")
        expect(names).to_have_count(len(PAYLOADS))
        assert sorted(names.all_text_contents()) == sorted(PAYLOADS)
        assert_inert(page, "#sidebar-rooms")
        shot(page, "xss-new-surfaces-chat")

        # The search page: every hit's snippet is its body, marks and text only.
        page.goto("/search?q=alert")
        hits = page.locator(".search-hit")
        expected = [body for body in CORPUS if "alert" in body.lower()]
        expect(hits.first).to_be_visible()
        while page.locator("#search-more").is_visible():
            count = hits.count()
            page.locator("#search-more").click()
            expect(hits).not_to_have_count(count)
        expect(hits).to_have_count(len(expected))
        assert sorted(page.locator(".search-hit-text").all_text_contents()) == sorted(expected)
        only_tags(page, ".search-hit-text", {"MARK"})
        expect(page.locator(".search-group-title").first).to_contain_text(room["name"])
        assert_inert(page, "#search-results")
        shot(page, "xss-new-surfaces-search")

        # Desktop notifications on the room list: a mention with a payload in each room.
        context, listing = pages.open("victim-list", permissions=["notifications"])
        context.add_init_script(RECORD_NOTIFICATIONS)
        log_in(listing, victim["username"])
        wait_list_connected(listing)
        bodies = [f"@{victim['username']} {payload}" for payload in PAYLOADS]
        for i, (target, body) in enumerate(zip(named, bodies, strict=True)):
            ack = client.call("send_message", {"room_id": target["id"], "body": body, "client_id": f"m{i}"})
            assert ack["ok"], ack
        notified = lambda: listing.evaluate("() => window.__notified")  # noqa: E731
        wait_until(lambda: len(notified()) >= len(named), 15, "a notification for each room")
        assert sorted(map(tuple, (n.values() for n in notified()))) == sorted(
            (
                f"{attacker['username']} mentioned you in {target['name']}",
                one_line(f"{attacker['username']}: {body}", 200),
            )
            for target, body in zip(named, bodies, strict=True)
        )
        assert_inert(listing, "#my-rooms")
    finally:
        client.close()

    # The admin pages, for the victim made a site admin: the rooms, a room's delete
    # confirmation, and the audit log naming a deleted room.
    server.database.execute("UPDATE users SET is_admin = ? WHERE id = ?", True, victim["id"])
    assert api(server, victim_token, "DELETE", f"/admin/rooms/{named[-1]['id']}").status_code == 200
    page.goto("/admin/rooms")
    for target in named[:-1]:
        row = page.locator(f"#admin-rooms tr:has(a[href$='/admin/rooms/{target['id']}/delete'])")
        expect(row.locator("td").first).to_have_text(re.compile("^" + re.escape(target["name"]) + r" \("))
    assert_inert(page, "#admin-rooms")
    page.goto(f"/admin/rooms/{named[1]['id']}/delete")
    expect(page.locator("main")).to_contain_text(named[1]["name"])
    assert_inert(page, "main")
    page.goto("/admin/audit")
    deleted = re.compile("^" + re.escape(named[-1]["name"]) + "$")
    expect(page.locator("#admin-audit td", has_text=deleted)).to_have_count(1)
    assert_inert(page, "#admin-audit")
    shot(page, "xss-new-surfaces-audit")


def test_payloads_in_emails_render_as_text(live_server, browser):
    """The emails of what a member missed, opened in the browser: the corpus in the
    messages they list, payloads in the rooms' names, each email one document."""
    delay, listed = 1, 10  # services/emails.py LISTED_MAX
    # Room name -> the bodies its email lists (fewer batches than names: the first names).
    chunks = [CORPUS[start : start + listed] for start in range(0, len(CORPUS), listed)]
    batches = dict(zip(PAYLOADS, chunks, strict=False))
    with SmtpServer() as smtp:
        node = live_server("sqlite", env=mail_env(smtp, delay))
        _attacker, attacker_token = api_user(node, unique_name("mallory"))
        victim, victim_token = api_user(node, unique_name("victim"))
        address = give_address(node.database, victim["username"])
        # Online while the messages come, so that each room's email lists all of its batch.
        client, online = ChatClient(node, attacker_token).connect(), ChatClient(node, victim_token).connect()
        try:
            for name, batch in batches.items():
                room = api(node, attacker_token, "POST", "/rooms", json={"name": name, "type": "public"}).json()["room"]
                assert api(node, victim_token, "POST", f"/rooms/{room['id']}/join").status_code == 200
                for body in batch:
                    ack = client.call("send_message", {"room_id": room["id"], "body": f"{body}\n@{victim['username']}"})
                    assert ack["ok"], ack
        finally:
            client.close(), online.close()
        emails = smtp.inbox.wait_for(len(batches), address, timeout=delay + 20)

    pages = Pages(browser, node)
    try:
        _context, page = pages.open("mail reader")
        for email in emails:
            name = email["Subject"].split(" in ", 1)[1]
            page.set_content(email.get_body(("html",)).get_content())
            assert_inert(page, "body")
            assert page.title() == email["Subject"]
            text = " ".join(page.locator("body").inner_text().split())
            assert name in text
            assert all(one_line(f"{body} @{victim['username']}", 500) in text for body in batches[name]), text
        shot(page, "xss-email")
        assert pages.problems == [], pages.problems
    finally:
        pages.close()
