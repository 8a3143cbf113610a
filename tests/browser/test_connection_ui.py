"""The connection as the pages show it, in a real browser against the real server: a
short drop shows no banner; a long one shows it (offline, then "retrying in N s" counting
down) and "Retry now" connects at once; during an outage the member list shows everyone's
presence as unknown until a fresh list comes; the room list has the same banner.

Going offline on purpose makes Chromium log failed connections: `Pages.offline` tolerates
them for that context while it is offline, and every other console error fails the test.
"""

import re

import pytest
from playwright.sync_api import expect

from ..support.browser import MOBILE, log_in, shot, wait_connected, wait_list_connected
from ..support.http_client import api, api_user, unique_name
from ..support.socketgate import SocketGate

pytestmark = pytest.mark.browser

# Notes on the page whether the banner was ever shown (read back with BANNER_SHOWN).
WATCH_BANNER = """() => {
  const banner = document.getElementById("connection-banner");
  window.__bannerShown = !banner.hidden;
  new MutationObserver(() => { if (!banner.hidden) window.__bannerShown = true; })
    .observe(banner, { attributes: true, attributeFilter: ["hidden"] });
}"""
BANNER_SHOWN = "() => window.__bannerShown"


def open_room(pages, label, user, room, **options):
    context, page = pages.open(label, **options)
    log_in(page, user["username"])
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page)
    return context, page


def offline(pages, label, context, page):
    pages.offline.add(label)
    context.set_offline(True)
    expect(page.locator("#connection-status")).not_to_have_attribute("data-state", "connected")


def test_a_short_drop_shows_no_banner(pages, server):
    user, token = api_user(server, unique_name("blip"))
    room = api(server, token, "POST", "/rooms", json={"name": "Blips"}).json()["room"]
    context, page = open_room(pages, "blip", user, room)
    page.evaluate(WATCH_BANNER)

    offline(pages, "blip", context, page)
    page.wait_for_timeout(1000)
    context.set_offline(False)
    wait_connected(page)
    # Past the moment a banner would have come for a drop that started a second ago.
    page.wait_for_timeout(2500)
    expect(page.locator("#connection-banner")).to_be_hidden()
    assert page.evaluate(BANNER_SHOWN) is False
    pages.offline.discard("blip")


def test_a_long_outage_shows_the_banner_counting_down_and_retry_now_connects(pages, server):
    user, token = api_user(server, unique_name("outage"))
    room = api(server, token, "POST", "/rooms", json={"name": "Outages"}).json()["room"]
    context, page = pages.open("outage")
    gate = SocketGate(context)
    log_in(page, user["username"])
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page)
    banner = page.locator("#connection-banner")
    text = banner.locator(".connection-banner-text")

    # The network goes (and the server with it, though the network comes back first):
    # after 2 s the banner says so.
    gate.shut = True
    offline(pages, "outage", context, page)
    expect(banner).to_have_attribute("data-kind", "offline")
    expect(text).to_have_text("You're offline. Waiting for the network…")
    expect(banner.get_by_role("button", name="Retry now")).to_be_visible()
    shot(page, "connection-offline-desktop")

    # The network is back, the server is not: the wait before each attempt counts down.
    context.set_offline(False)
    expect(banner).to_have_attribute("data-kind", "retrying")
    expect(text).to_have_text(re.compile(r"^Not connected. Retrying in [345] s…$"), timeout=30_000)
    seconds = int(re.search(r"(\d) s", text.text_content()).group(1))
    expect(text).to_have_text(f"Not connected. Retrying in {seconds - 1} s…")
    shot(page, "connection-retrying-desktop")

    # The server is back and the next attempt more than 4 s away: Retry now connects at once.
    expect(text).to_have_text("Not connected. Retrying in 5 s…", timeout=60_000)
    gate.shut = False
    banner.get_by_role("button", name="Retry now").click()
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected", timeout=3000)
    expect(banner).to_be_hidden()
    # The page caught up quietly and works: a message goes out.
    page.locator("#composer-input").fill("back again")
    page.locator("#composer-input").press("Enter")
    expect(page.locator("#message-list > li.msg.kind-text:not(.is-pending)", has_text="back again")).to_have_count(1)
    pages.offline.discard("outage")


def test_presence_is_unknown_during_an_outage_and_fresh_after(pages, server):
    a_user, a_token = api_user(server, unique_name("present"))
    b_user, b_token = api_user(server, unique_name("watcher"))
    room = api(server, a_token, "POST", "/rooms", json={"name": "Presence"}).json()["room"]
    assert api(server, a_token, "POST", f"/rooms/{room['id']}/members", json={"username": b_user["username"]}).ok
    _a_context, a = open_room(pages, "A", a_user, room)
    b_context, b = open_room(pages, "B", b_user, room)
    a_in_b = b.locator(f"#member-list .member[data-user-id='{a_user['id']}']")
    expect(a_in_b).to_have_class(re.compile(r"\bis-online\b"))
    expect(b.locator("#online-count")).to_have_text("2 online")

    offline(pages, "B", b_context, b)
    for member in (a_in_b, b.locator(f"#member-list .member[data-user-id='{b_user['id']}']")):
        expect(member).to_have_class(re.compile(r"\bis-unknown\b"))
        expect(member).not_to_have_class(re.compile(r"\bis-online\b"))
        expect(member.locator(".sr-only")).to_have_text(", status unknown")
    expect(b.locator("#online-count")).to_have_text("online status unknown")
    expect(b.locator("#connection-banner")).to_have_attribute("data-kind", "offline")
    shot(b, "presence-unknown-desktop")

    b_context.set_offline(False)
    wait_connected(b)
    expect(a_in_b).to_have_class(re.compile(r"\bis-online\b"))
    expect(a_in_b.locator(".sr-only")).to_have_text(", online")
    expect(b.locator("#member-list .member.is-unknown")).to_have_count(0)
    expect(b.locator("#online-count")).to_have_text("2 online")
    pages.offline.discard("B")

    # On a phone: the banner above the messages, the folded member list says it too.
    phone_context, phone = open_room(pages, "A-phone", a_user, room, **MOBILE)
    offline(pages, "A-phone", phone_context, phone)
    expect(phone.locator("#connection-banner")).to_have_attribute("data-kind", "offline")
    expect(phone.locator("#member-summary-counts")).to_have_text("2 · online status unknown")
    shot(phone, "connection-offline-mobile")
    phone_context.set_offline(False)
    wait_connected(phone)
    expect(phone.locator("#connection-banner")).to_be_hidden()
    pages.offline.discard("A-phone")


def test_the_room_list_shows_the_banner_too(pages, server):
    user, _token = api_user(server, unique_name("lister"))
    context, page = pages.open("list")
    log_in(page, user["username"])
    wait_list_connected(page)
    banner = page.locator("#connection-banner")
    expect(banner).to_be_hidden()
    pages.offline.add("list")
    context.set_offline(True)
    expect(banner).to_have_attribute("data-kind", "offline")
    expect(banner.locator(".connection-banner-text")).to_have_text("You're offline. Waiting for the network…")
    shot(page, "connection-rooms-offline-desktop")
    context.set_offline(False)
    wait_list_connected(page)
    expect(banner).to_be_hidden()
    pages.offline.discard("list")
