"""Browser fixtures: Debian's Chromium, driven by Playwright's sync API, against the real
server (`live_server` and `live_database`, tests/conftest.py, for tests needing more).

- `browser`: one headless Chromium for the session.
- `server`: one running eventlet node on SQLite per test module.
- `new_page(**context_options)`: a page in a fresh browser context (its own cookies, so
  one per user), with `base_url` set to the server; pass `support.browser.MOBILE` for a
  phone. After the test, any script error or Content-Security-Policy violation fails it.
- `pages`: `support.browser.Pages` on the server, for tests that open many contexts (or
  take one offline); any console error, script error or dialog fails the test.
"""

import pytest
from playwright.sync_api import expect, sync_playwright

from ..support import live
from ..support.browser import DESKTOP, TIMEOUT_MS, Pages
from ..support.services import CHROMIUM, require_chromium

CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live.ServerFarm(tmp_path_factory) as farm:
        yield farm.server("sqlite")


def _is_problem(message):
    # A form answered with 400 or 401 is logged as a failed load: that is the page working.
    return message.type == "error" and not message.text.startswith("Failed to load resource")


@pytest.fixture
def new_page(browser, server):
    contexts = []
    problems = []

    def make(**context_options):
        options = {**DESKTOP, "base_url": server.url, **context_options}
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"{page.url}: script error: {error}"))
        page.on("console", lambda msg: _is_problem(msg) and problems.append(f"{page.url}: console: {msg.text}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def pages(browser, server):
    pages = Pages(browser, server)
    yield pages
    pages.close()
    assert not pages.problems, "\n".join(pages.problems)
