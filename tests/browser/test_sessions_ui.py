"""Sessions per device in a real browser (issue 24): the account page lists the user's
sessions with this one marked, and ending another browser's session sends that browser,
which has a room open with a live socket, to the login page at once: the server
disconnects its socket and the page finds its session gone, with no reload by the user."""

import re

import pytest
from playwright.sync_api import expect

from ..support.browser import log_in, shot, wait_connected
from ..support.http_client import api, api_user, unique_name

pytestmark = pytest.mark.browser

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)


def test_ending_another_browsers_session_sends_it_to_login_at_once(pages, server):
    user, token = api_user(server, unique_name("s"))
    room = api(server, token, "POST", "/rooms", json={"name": "Sessions", "type": "public"}).json()["room"]

    _b_context, b = pages.open("B", user_agent=PHONE_UA)
    log_in(b, user["username"])
    b.goto(f"/rooms/{room['id']}")
    wait_connected(b)

    _a_context, a = pages.open("A")
    log_in(a, user["username"])
    a.goto("/auth/password")
    items = a.locator("#session-list .session-item")
    # A, B, and the API login that made the room.
    expect(items).to_have_count(3)
    this = a.locator('#session-list .session-item[data-current="true"]')
    expect(this).to_contain_text("This device")
    # The page's script writes the times in the reader's zone, as the room list does.
    expect(this.locator("time").first).not_to_contain_text("UTC")
    expect(items.first).to_have_attribute("data-current", "true")
    phone = items.filter(has_text="Mobile Safari 17 · iOS 17 · iPhone")
    expect(phone).to_have_count(1)
    shot(a, "sessions-1-account-page")

    phone.get_by_role("button", name="End").click()
    expect(a.locator(".flash")).to_have_text("The session was ended. That device is signed out.")
    expect(items).to_have_count(2)
    expect(a.locator("#session-list")).not_to_contain_text("iPhone")
    shot(a, "sessions-2-ended")

    # B's page goes to the login page by itself, coming back to its room after a login.
    expect(b).to_have_url(re.compile(rf"/auth/login\?next=%2Frooms%2F{room['id']}$"))
    expect(b.get_by_role("heading", name="Log in")).to_be_visible()
    shot(b, "sessions-3-other-browser-signed-out")

    # A is still signed in; "End all other sessions" ends the API login too.
    a.get_by_role("button", name="End all other sessions").click()
    expect(a.locator(".flash")).to_have_text("1 other session was ended.")
    expect(items).to_have_count(1)
    assert api(server, token, "GET", "/rooms").status_code == 401
