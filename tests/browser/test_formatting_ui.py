"""Formatting (issue 22) in real browsers: the page inserts the server's sanitised HTML
(bold, italic, strike, code, a code block that scrolls sideways inside its bubble,
quotes, lists, links that open a new tab without the opener), still highlights a
mention inside bold (never inside code), wraps long URLs at 390 px, shows a message
still pending as its text, edits and the history in source text; the composer's
formatting hint, and the counter only near the limit. Screenshots at 1280x800 and
390x844 go to test-artifacts/.

Pages come from `Pages`: any console error (a CSP violation is one), script error or
native dialog fails the test.
"""

import re

import pytest
from playwright.sync_api import expect

from ..support.browser import MOBILE, log_in, send, shot, wait_connected
from ..support.http_client import api, api_user, unique_name

pytestmark = pytest.mark.browser

LONG_LINE = "result = compute(" + ", ".join(f"argument_{i}" for i in range(30)) + ")"
LONG_URL_PATH = "/healthz?" + "&".join(f"parameter{i}=value{i}" for i in range(12))


def open_room(pages, label, user, room, **options):
    context, page = pages.open(label, **options)
    log_in(page, user["username"])
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page)
    return context, page


def message(page, text):
    """The stored message whose body holds `text`."""
    return page.locator("#message-list > li.msg:not(.is-pending)", has=page.locator(".msg-body", has_text=text))


def assert_fits(page):
    """No bubble reaches past the message list, and the page does not scroll sideways."""
    overflow = page.eval_on_selector_all(
        "#message-list .msg-bubble",
        """(bubbles) => {
          const list = document.querySelector("#message-scroller").getBoundingClientRect();
          const page = document.documentElement;
          return {
            bubbles: bubbles.filter((b) => b.getBoundingClientRect().right > list.right + 1).length,
            page: page.scrollWidth - page.clientWidth,
          };
        }""",
    )
    assert overflow == {"bubbles": 0, "page": 0}, overflow


def test_formatting_renders_and_stays_inside_the_bubble(pages, server):
    a_user, a_token = api_user(server, unique_name("writer"))
    b_user, b_token = api_user(server, unique_name("reader"))
    room = api(server, a_token, "POST", "/rooms", json={"name": "Formatting", "type": "public"}).json()["room"]
    assert api(server, b_token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    _ac, a = open_room(pages, "A", a_user, room)
    _bc, b = open_room(pages, "B", b_user, room)

    # The composer says how to format, and shows no counter far from the limit.
    expect(a.locator("#composer-format-hint")).to_have_text("**bold**  *italic*  `code`  > quote")
    expect(a.locator("#composer-format-hint")).to_be_visible()
    expect(a.locator("#composer-counter")).to_be_hidden()

    send(a, "**Release** at 3 *today*, ~~tomorrow~~ with `make deploy`")
    send(a, f"**@{b_user['username']} please review** (not `@{b_user['username']}` in code)")
    send(a, f"Docs: {server.url}/healthz에서 확인해요")
    a.locator("#composer-input").fill(f"```\n{LONG_LINE}\n```\n> quoted\n\n- one\n- two\n\n1. first\n2. second")
    a.locator("#composer-input").press("Enter")
    send(a, f"{server.url}{LONG_URL_PATH} and averyveryveryveryveryveryveryveryveryveryverylongwordwithoutspaces")

    first = message(b, "Release").locator(".msg-body")
    expect(first.locator("strong")).to_have_text("Release")
    expect(first.locator("em")).to_have_text("today")
    expect(first.locator("s")).to_have_text("tomorrow")
    expect(first.locator("code")).to_have_text("make deploy")

    # A mention inside bold is highlighted, and alerts me; the same name in code is text.
    mentioned = message(b, "please review")
    expect(mentioned.locator("strong .mention.is-me")).to_have_text(f"@{b_user['username']}")
    expect(mentioned).to_have_class(re.compile(r"\bis-mention\b"))
    expect(mentioned.locator("code")).to_have_text(f"@{b_user['username']}")
    expect(mentioned.locator("code .mention")).to_have_count(0)

    # The link stops before the Hangul, opens a new tab, and leaves no opener behind.
    link = message(b, "Docs").locator(".msg-body a")
    expect(link).to_have_attribute("href", f"{server.url}/healthz")
    expect(link).to_have_text(f"{server.url}/healthz")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    with b.expect_popup() as opened:
        link.click()
    popup = opened.value
    popup.wait_for_load_state()
    assert popup.url == f"{server.url}/healthz"
    assert popup.evaluate("() => window.opener") is None
    popup.close()

    # The code block keeps its long line and scrolls sideways inside the bubble.
    block = message(b, "quoted").locator(".msg-body")
    expect(block.locator("pre code")).to_have_text(LONG_LINE + "\n")
    expect(block.locator("blockquote")).to_have_text("quoted")
    expect(block.locator("ul > li")).to_have_text(["one", "two"])
    expect(block.locator("ol > li")).to_have_text(["first", "second"])
    pre = block.locator("pre")
    widths = pre.evaluate("(el) => [el.scrollWidth, el.clientWidth, getComputedStyle(el).overflowX]")
    assert widths[0] > widths[1] and widths[2] == "auto", widths
    assert_fits(b)
    shot(b, "formatting-desktop")

    # At 390 px the long URL and the long word wrap inside their bubble.
    _pc, phone = open_room(pages, "B-phone", b_user, room, **MOBILE)
    expect(message(phone, "averyvery").locator(".msg-body a")).to_have_attribute("href", f"{server.url}{LONG_URL_PATH}")
    assert_fits(phone)
    shot(phone, "formatting-mobile")
    message(phone, "quoted").scroll_into_view_if_needed()
    shot(phone, "formatting-mobile-code")

    # The counter shows near the limit only.
    limit = int(a.locator("#composer-counter").inner_text().split("/")[-1])
    a.locator("#composer-input").fill("가" * (limit - 10))
    expect(a.locator("#composer-counter")).to_be_visible()
    expect(a.locator("#composer-count")).to_have_text(str(limit - 10))
    shot(a, "formatting-counter-desktop")
    a.locator("#composer-input").fill("짧아요")
    expect(a.locator("#composer-counter")).to_be_hidden()
    a.locator("#composer-input").fill("")


def test_pending_edits_and_history_show_the_source(pages, server):
    a_user, _a_token = api_user(server, unique_name("writer"))
    room = api(server, _a_token, "POST", "/rooms", json={"name": "Pending", "type": "public"}).json()["room"]
    a_context, a = open_room(pages, "A", a_user, room)

    # Offline, a message waits as the text it is: it has no HTML until it is stored.
    pages.offline.add("A")
    a_context.set_offline(True)
    expect(a.locator("#connection-status")).not_to_have_attribute("data-state", "connected")
    send(a, "**not yet** <b>sent</b>")
    pending = a.locator("#message-list .msg.is-pending .msg-body")
    expect(pending).to_have_text("**not yet** <b>sent</b>")
    expect(pending.locator("strong, b")).to_have_count(0)
    a_context.set_offline(False)
    stored = message(a, "not yet").locator(".msg-body")
    expect(stored.locator("strong")).to_have_text("not yet", timeout=20_000)
    expect(stored).to_have_text("not yet <b>sent</b>")
    expect(stored.locator("b")).to_have_count(0)

    # The editor holds the source; the saved edit is rendered; the history is source text.
    # By its id: the editor takes the body's place while it is open.
    li = a.locator(f"#message-list > li[data-id='{message(a, 'not yet').get_attribute('data-id')}']")
    li.locator(".msg-bubble").hover()
    li.locator(".msg-tools .msg-edit-button").click()
    editor = li.locator("textarea.msg-edit-input")
    expect(editor).to_have_value("**not yet** <b>sent</b>")
    editor.fill("~~not yet~~ *sent*")
    editor.press("Enter")
    body = message(a, "sent").locator(".msg-body")
    expect(body.locator("s")).to_have_text("not yet")
    expect(body.locator("em")).to_have_text("sent")
    message(a, "sent").locator(".msg-edited").click()
    dialog = a.locator("dialog.history-dialog")
    expect(dialog.locator(".history-body")).to_have_text(["**not yet** <b>sent</b>", "~~not yet~~ *sent*"])
    expect(dialog.locator(".history-body :is(strong, em, s, b)")).to_have_count(0)
    shot(a, "formatting-history-desktop")
