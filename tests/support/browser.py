"""Helpers for the browser tests: viewports, screenshots, browser contexts that record
every problem a page shows, and the steps most tests take (log in, wait for the socket)."""

import re
from pathlib import Path

from playwright.sync_api import expect

from .accounts import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
MOBILE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
VIEWPORTS = {"desktop": DESKTOP, "mobile": MOBILE}
# Bounded waits, generous enough for a loaded CI machine.
TIMEOUT_MS = 10_000
# What Chromium logs when a request or a WebSocket cannot reach the network.
NETWORK_NOISE = re.compile(
    r"ERR_INTERNET_DISCONNECTED|ERR_NAME_NOT_RESOLVED|ERR_CONNECTION|WebSocket connection to|"
    r"net::ERR_"
)


def shot(page, name):
    """Save a full-page screenshot as test-artifacts/<name>.png (gitignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class Pages:
    """Browser contexts (one per user and device) that record every problem a page shows."""

    def __init__(self, browser, server):
        self.browser, self.server = browser, server
        self.contexts = []
        self.problems = []
        self.offline = set()

    def open(self, label, **options):
        context = self.browser.new_context(base_url=self.server.url, **{**DESKTOP, **options})
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on(
            "dialog",
            lambda dialog: (self.problems.append(f"{label}: dialog {dialog.type}: {dialog.message}"), dialog.dismiss()),
        )
        page.on("pageerror", lambda error: self.problems.append(f"{label}: script error: {error}"))
        page.on("console", lambda message: self._console(label, message))
        return context, page

    def _console(self, label, message):
        if message.type != "error":
            return
        text = message.text
        # A form answered with 400 or 401 is logged as a failed load: that is the page working.
        if text.startswith("Failed to load resource") and label not in self.offline and "net::" not in text:
            return
        if label in self.offline and NETWORK_NOISE.search(text):
            return
        self.problems.append(
            f"{label}: console error: {text} @ {message.location} {message.page.url if message.page else None}"
        )

    def close(self):
        for context in self.contexts:
            context.close()


def log_in(page, username):
    """Log in through the form, in whatever language the page speaks."""
    page.goto("/auth/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/rooms/?$"))


def wait_connected(page, text="Connected"):
    """The chat page's socket is connected, and says so (`text` in the page's language)."""
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected")
    expect(page.locator("#connection-status")).to_contain_text(text)


def wait_list_connected(page):
    expect(page.locator("#rooms-page")).to_have_attribute("data-connection", "connected")


def room_id_of(page):
    return int(re.search(r"/rooms/(\d+)$", page.url).group(1))


def send(page, text):
    box = page.locator("#composer-input")
    box.fill(text)
    box.press("Enter")


def stored(page):
    """(seq, text of the body) of every stored text message on the page, in DOM order."""
    return page.eval_on_selector_all(
        "#message-list > li.msg.kind-text:not(.is-pending)",
        "items => items.map(li => [Number(li.dataset.seq), li.querySelector('.msg-body').textContent])",
    )


def assert_clean_history(page):
    """Every seq at most once, in ascending DOM order, and no message left pending."""
    seqs = page.eval_on_selector_all(
        "#message-list > li.msg[data-seq]", "items => items.map(li => Number(li.dataset.seq))"
    )
    assert seqs == sorted(set(seqs)), f"duplicates or disorder: {seqs}"
    expect(page.locator("#message-list .msg.is-pending")).to_have_count(0)


def confirm(page, button_name):
    """Answer the page's confirmation <dialog> with `button_name`."""
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button_name, exact=True).click()
    expect(dialog).to_have_count(0)
