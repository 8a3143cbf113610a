"""Signing up, out and in, in a real browser against the real server, on a desktop and a
phone viewport. Screenshots of each step go to test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from ..support.accounts import PASSWORD
from ..support.browser import VIEWPORTS, shot
from ..support.http_client import create_user, unique_name

pytestmark = pytest.mark.browser


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request):
    return request.param


def rooms_url(server):
    return re.compile(re.escape(server.url) + r"/rooms/?$")


def login_url(server):
    return re.compile(re.escape(server.url) + r"/auth/login(\?.*)?$")


def test_signup_logout_login(new_page, server, viewport):
    taken = create_user(server, unique_name("taken"))["username"]
    free = unique_name("new")
    page = new_page(**VIEWPORTS[viewport])

    page.goto("/auth/signup")
    username = page.get_by_label("Username")
    help_text = page.locator("#username-help")
    expect(username).to_be_focused()
    expect(help_text).to_contain_text("2 to 32")
    shot(page, f"signup-1-empty-{viewport}")

    # The live check answers while the user types, without submitting anything.
    username.press_sequentially(taken.upper())
    expect(help_text).to_have_text("That username is taken.")
    expect(help_text.locator(".error-text")).to_be_visible()
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(re.compile(r"/auth/signup$"))
    shot(page, f"signup-2-taken-{viewport}")

    username.fill("")
    expect(help_text).to_have_text("2 to 32 letters, digits, _ . or -")
    expect(username).to_have_attribute("aria-invalid", "false")

    username.fill(free)
    expect(help_text).to_have_text(f"“{free}” is available.")
    expect(help_text.locator(".ok-text")).to_be_visible()
    expect(username).to_have_attribute("aria-invalid", "false")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    shot(page, f"signup-3-available-{viewport}")

    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(rooms_url(server))
    expect(page.locator(".whoami")).to_have_text(free)
    shot(page, f"signup-4-rooms-{viewport}")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(login_url(server))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator(".whoami")).to_have_count(0)
    shot(page, f"signup-5-logged-out-{viewport}")
    page.goto("/rooms")
    expect(page).to_have_url(login_url(server))

    page.get_by_label("Username").fill(free)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(rooms_url(server))
    expect(page.locator(".whoami")).to_have_text(free)
    shot(page, f"signup-6-logged-in-again-{viewport}")


def test_wrong_password_shows_an_error(new_page, server, viewport):
    user = create_user(server, unique_name("oops"))
    page = new_page(**VIEWPORTS[viewport])
    page.goto("/auth/login")
    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page).to_have_url(login_url(server))
    expect(page.get_by_label("Username")).to_have_value(user["username"])
    expect(page.get_by_label("Password")).to_have_value("")
    # The name is kept, so the cursor waits in the password field.
    expect(page.get_by_label("Password")).to_be_focused()
    shot(page, f"login-wrong-password-{viewport}")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(rooms_url(server))
    expect(page.locator(".whoami")).to_have_text(user["username"])


def test_signup_errors_are_shown_next_to_the_fields(new_page, server, viewport):
    page = new_page(**VIEWPORTS[viewport])
    page.goto("/auth/signup")
    page.get_by_label("Username").fill(unique_name("mismatch"))
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD + "!")
    page.get_by_role("button", name="Sign up").click()

    confirm = page.get_by_label("Confirm password")
    expect(page.locator("#password_confirm-help")).to_have_text("The passwords do not match.")
    expect(confirm).to_have_attribute("aria-invalid", "true")
    # Passwords are never sent back: both are typed again, starting with the first.
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page).to_have_url(re.compile(r"/auth/signup$"))
    shot(page, f"signup-mismatch-{viewport}")


def test_keyboard_focus_is_visible(new_page, server):
    page = new_page()
    page.goto("/auth/login")
    username = page.get_by_label("Username")
    expect(username).to_be_focused()
    page.keyboard.press("Tab")
    password = page.get_by_label("Password")
    expect(password).to_be_focused()
    # The focus ring is drawn (a box-shadow or an outline), not removed.
    ring = password.evaluate(
        "el => { const s = getComputedStyle(el); return [s.boxShadow, s.outlineStyle, s.outlineWidth]; }"
    )
    assert ring[0] != "none" or (ring[1] != "none" and ring[2] != "0px"), ring
    shot(page, "login-focus-desktop")
