"""Issue 22 in a real browser: the dark theme, focus rings and the Tab order.

- The pages follow the system's light or dark setting, live, until the account page's
  switch (System / Light / Dark, used here with the keyboard only) picks one, which this
  browser keeps: after a reload, a logout, and on the login page.
- Every page, in both themes, at 1280x800 and 390x844: the auth pages (signup with every
  field's error at once), the room list with its badges, the chat page with a mention, a
  reaction, the emoji picker and a confirmation dialog, the search page with its marks,
  the account page, the join page and the error pages (signed in and out). Screenshots go
  to test-artifacts/theme-<device>-<theme>-<page>.png.
- Keyboard only: on every page, every Tab stop is a visible control with a focus ring in
  the primary colour, the page itself never takes focus (after the last control, focus
  leaves for the browser and comes back to the skip link), and the skip link moves focus
  to the content; a confirmation dialog's buttons ring too, and Escape gives focus back.
  The chat page's message list is left out (issue 22's chat half).
- The chat's drop target speaks the page's language.
"""

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from ..support.accounts import PASSWORD
from ..support.browser import VIEWPORTS, log_in, shot, wait_connected, wait_list_connected
from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, unique_name

pytestmark = pytest.mark.browser

ENGLISH = {"locale": "en-US", "timezone_id": "UTC"}


def background_luminance(page):
    """WCAG luminance of the page's background (the root's, from --bg), once its
    stylesheets have loaded."""
    page.wait_for_load_state("load")
    rgb = page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    assert rgb.startswith("rgb("), f"{page.url}: the background is {rgb}"
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", rgb)[:3])

    def channel(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def expect_theme(page, theme):
    luminance = background_luminance(page)
    assert (luminance < 0.05) if theme == "dark" else (luminance > 0.8), (theme, luminance, page.url)


def world(server):
    """Me and a teammate in a public room (a mention of me, a reaction, a notice), a
    private room, and a public room I have not joined."""
    me, my_token = api_user(server, unique_name("mina"))
    mate, mate_token = api_user(server, unique_name("jun"))
    team = api(server, mate_token, "POST", "/rooms", json={"name": "Design team", "type": "public"}).json()["room"]
    secret = api(server, mate_token, "POST", "/rooms", json={"name": "Budget", "type": "private"}).json()["room"]
    lounge = api(server, mate_token, "POST", "/rooms", json={"name": "Lounge", "type": "public"}).json()["room"]
    for room in (team, secret):
        assert api(server, mate_token, "POST", f"/rooms/{room['id']}/members", json={"username": me["username"]}).ok
    mine, theirs = ChatClient(server, my_token).connect(), ChatClient(server, mate_token).connect()
    try:

        def send(sock, room, body, client_id):
            ack = sock.call("send_message", {"room_id": room["id"], "body": body, "client_id": client_id})
            assert ack["ok"], ack
            return ack["message"]

        own = send(mine, team, "The meeting notes are in the shared folder.", "own")
        assert theirs.call("react", {"message_id": own["id"], "emoji": "👍", "add": True})["ok"]
        send(theirs, team, f"@{me['username']} can you review the meeting agenda today?", "mention")
        send(theirs, team, "Lunch at noon? https://example.com/menu", "link")
        send(theirs, secret, "Quarterly numbers attached soon.", "secret")
    finally:
        mine.close()
        theirs.close()
    return {"me": me, "mate": mate, "team": team, "secret": secret, "lounge": lounge}


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("device", ["desktop", "mobile"])
def test_every_page_in_both_themes(pages, server, device, theme):
    w = world(server)
    _context, page = pages.open(f"{device}-{theme}", **VIEWPORTS[device], color_scheme=theme, **ENGLISH)

    def look(name):
        expect_theme(page, theme)
        # Nothing wider than the screen (on a phone, the header's Log out used to be cut off).
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (name, width)
        shot(page, f"theme-{device}-{theme}-{name}")

    page.goto("/auth/login")
    look("login")
    # Signup: a taken name and a short password, both told at once.
    page.goto("/auth/signup")
    page.locator("#username").fill(w["mate"]["username"])
    page.locator("#password").fill("short")
    page.locator("#password_confirm").fill("short")
    page.locator("#signup-form button[type=submit]").click()
    expect(page.locator("#username-help")).to_have_text("That username is taken.")
    expect(page.locator("#password-help .error-text")).to_be_visible()
    look("signup-errors")

    log_in(page, w["me"]["username"])
    wait_list_connected(page)
    team_item = page.locator(f".room-item[data-room-id='{w['team']['id']}']")
    expect(team_item.locator(".mention-badge")).to_be_visible()
    expect(team_item.locator(".unread-badge")).to_be_visible()
    look("rooms")

    page.goto(f"/rooms/{w['team']['id']}")
    wait_connected(page)
    expect(page.locator(".msg.is-mention")).to_have_count(1)
    expect(page.locator(".reaction-chip")).to_have_count(1)
    look("chat")
    # The emoji picker takes its colours from the page's.
    mention = page.locator(".msg.is-mention")
    mention.locator(".msg-bubble").hover()
    mention.get_by_role("button", name="Add a reaction").click()
    mention.locator(".react-menu .react-more").click()
    picker = page.locator("dialog.picker-dialog emoji-picker")
    expect(picker.locator("button.emoji").first).to_be_visible()
    surface = page.evaluate("() => getComputedStyle(document.documentElement).getPropertyValue('--surface').trim()")
    assert picker.evaluate("el => getComputedStyle(el).getPropertyValue('--background').trim()") == surface
    look("chat-picker")
    page.keyboard.press("Escape")
    expect(page.locator("dialog.picker-dialog")).to_have_count(0)
    # A confirmation dialog.
    page.locator("#leave-button").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    look("chat-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)

    page.goto("/search?q=meeting")
    expect(page.locator(".search-hit-text mark").first).to_be_visible()
    look("search")
    page.goto("/auth/password")
    look("account")
    page.goto(f"/rooms/{w['lounge']['id']}")
    expect(page.get_by_role("button", name="Join room")).to_be_visible()
    look("join")
    page.goto("/rooms/999999")
    expect(page.locator("#error-heading")).to_have_text("This room is not available.")
    look("error")
    page.locator("#logout-button").click()
    expect(page).to_have_url(re.compile(r"/auth/login"))
    page.goto("/no/such/page")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    look("error-signed-out")


def test_the_theme_follows_the_system_until_the_account_page_picks_one(pages, server):
    me, _token = api_user(server, unique_name("yuna"))
    _context, page = pages.open("me", color_scheme="dark", **ENGLISH)
    page.goto("/auth/login")
    expect(page.locator("html")).to_have_attribute("data-theme", "system")
    expect_theme(page, "dark")
    page.emulate_media(color_scheme="light")  # the system changes its mind: the page follows, live
    expect_theme(page, "light")
    log_in(page, me["username"])

    def choose(label):
        """Pick a theme and save it, with the keyboard only."""
        page.goto("/auth/password")
        choice = page.get_by_label(label, exact=True)
        choice.focus()
        page.keyboard.press("Space")
        expect(choice).to_be_checked()
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Save theme")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator(".flash")).to_have_text("Theme saved.")

    page.goto("/auth/password")
    expect(page.get_by_label("Follow the system", exact=True)).to_be_checked()
    choose("Dark theme")  # while the system says light
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect_theme(page, "dark")
    expect(page.get_by_label("Dark theme", exact=True)).to_be_checked()
    page.reload()
    expect_theme(page, "dark")
    page.goto("/rooms")
    expect_theme(page, "dark")
    # The choice is this browser's: the login page after a logout keeps it.
    page.locator("#logout-button").click()
    expect(page).to_have_url(re.compile(r"/auth/login"))
    expect_theme(page, "dark")
    log_in(page, me["username"])

    page.emulate_media(color_scheme="dark")
    choose("Light theme")  # while the system says dark
    expect_theme(page, "light")
    choose("Follow the system")
    expect(page.locator("html")).to_have_attribute("data-theme", "system")
    expect_theme(page, "dark")
    page.emulate_media(color_scheme="light")
    expect_theme(page, "light")


# --- keyboard only ----------------------------------------------------------------------

# The focused element, as the walk sees it: whether the page has focus at all, and for a
# focused control whether it shows and has a ring in the primary colour (box-shadow or outline).
FOCUSED = """() => {
  const el = document.activeElement;
  const inPage = document.hasFocus();
  if (!el || el === document.body || el === document.documentElement) {
    return { inPage, what: el ? el.tagName : "nothing", control: false };
  }
  const rgb = (hex) => {
    const n = parseInt(hex.trim().slice(1), 16);
    return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
  };
  const primary = rgb(getComputedStyle(document.documentElement).getPropertyValue("--primary"));
  const style = getComputedStyle(el);
  const outlined = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0 && style.outlineColor === primary;
  const box = el.getBoundingClientRect();
  const label = (el.getAttribute("aria-label") || el.textContent || el.getAttribute("name") || "").trim();
  return {
    inPage,
    what: `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} ${label.slice(0, 30)}`,
    control: el.matches("a[href], button, input, select, textarea, summary, [tabindex]"),
    ring: outlined || style.boxShadow.includes(primary),
    shown: box.width > 0 && box.height > 0 && el.checkVisibility(),
    inMessageList: Boolean(el.closest("#message-scroller")),
    skipLink: el.classList.contains("skip-link"),
  };
}"""


def tab_cycle(page, limit=80):
    """The page's Tab stops, once round from the skip link: until focus leaves the page for
    the browser (and the next Tab brings it back to the skip link) or goes straight back to
    the skip link. The page itself (its body) taking focus on the way is a dead stop."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUSED)
        if not stops:
            if stop.get("skipLink"):
                stops.append(stop)
            continue
        if not stop["inPage"]:
            page.keyboard.press("Tab")
            assert page.evaluate(FOCUSED).get("skipLink"), f"{page.url}: focus came back elsewhere"
            return stops
        if stop.get("skipLink"):
            return stops
        stops.append(stop)
    raise AssertionError(f"{page.url}: no way round in {limit} Tabs: {[s['what'] for s in stops]}")


def check_keyboard(page, name):
    """Every stop a visible control with a ring; the skip link takes focus to the content."""
    stops = tab_cycle(page)
    problems = [
        f"{s['what']}: " + ("the page itself" if not s["control"] else "no ring" if not s["ring"] else "not shown")
        for s in stops
        if not s.get("inMessageList") and not (s["control"] and s["ring"] and s["shown"])
    ]
    assert not problems, f"{name}: " + "; ".join(problems)
    # The skip link: the first stop, shown when focused, and Enter moves focus to <main>.
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, box
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)"), name
    return stops


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_by_keyboard(pages, server, theme):
    w = world(server)
    _context, page = pages.open(f"keys-{theme}", color_scheme=theme, **ENGLISH)
    page.goto("/auth/login")
    check_keyboard(page, "login")
    page.goto("/auth/signup")
    check_keyboard(page, "signup")
    page.goto("/no/such/page")
    check_keyboard(page, "error signed out")
    log_in(page, w["me"]["username"])
    wait_list_connected(page)
    stops = check_keyboard(page, "rooms")
    assert any("Design team" in s["what"] for s in stops)
    page.goto("/auth/password")
    check_keyboard(page, "account")
    page.goto("/search?q=meeting")
    expect(page.locator(".search-hit-text mark").first).to_be_visible()
    stops = check_keyboard(page, "search")
    assert any(s["what"].startswith("a ") and "meeting" in s["what"] for s in stops), [s["what"] for s in stops]
    page.goto(f"/rooms/{w['lounge']['id']}")
    check_keyboard(page, "join")
    page.goto("/rooms/999999")
    check_keyboard(page, "error")
    page.goto(f"/rooms/{w['team']['id']}")
    wait_connected(page)
    stops = check_keyboard(page, "chat")
    assert any(s["what"].startswith("textarea#composer-input") for s in stops)
    # A dialog (lib/dialog.js), by keyboard: its buttons ring too, and Escape gives focus back.
    page.locator("#leave-button").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    for key, name in (("Tab", "Leave room"), ("Shift+Tab", "Cancel")):
        page.keyboard.press(key)
        focused = page.evaluate(FOCUSED)
        assert focused.get("ring") and focused["shown"] and focused["what"] == f"button {name}", focused
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(page.locator("#leave-button")).to_be_focused()


def test_the_drop_target_speaks_the_page_language(pages, server):
    me, token = api_user(server, unique_name("drop"))
    room = api(server, token, "POST", "/rooms", json={"name": "Files", "type": "public"}).json()["room"]
    _context, page = pages.open("drop", **ENGLISH)
    log_in(page, me["username"])
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page)
    transfer = page.evaluate_handle(
        "() => { const t = new DataTransfer(); t.items.add(new File(['x'], 'a.txt')); return t; }"
    )
    target = page.locator(".chat-main")
    target.dispatch_event("dragenter", {"dataTransfer": transfer})
    expect(target).to_have_class(re.compile(r"\bis-drop-target\b"))
    label = target.evaluate("el => getComputedStyle(el, '::after').content")
    assert label == '"Drop files to share them"'
    shot(page, "theme-drop-target")
    target.dispatch_event("dragleave", {"dataTransfer": transfer})
    expect(target).not_to_have_class(re.compile(r"\bis-drop-target\b"))


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (40, 120, 220)).save(out, format="PNG")
    return out.getvalue()


def test_a_signed_out_file_link_logs_in_and_lands_on_the_file(pages, server):
    me, token = api_user(server, unique_name("files"))
    room = api(server, token, "POST", "/rooms", json={"name": "Files", "type": "public"}).json()["room"]

    def upload(name, data, content_type):
        response = api(server, token, "POST", f"/rooms/{room['id']}/files", files={"file": (name, data, content_type)})
        return response.json()["message"]["file"]["url"]

    def log_in_from_the_link(page, url):
        page.goto(url)
        expect(page).to_have_url(re.compile(r"/auth/login\?next="))
        page.locator("#username").fill(me["username"])
        page.locator("#password").fill(PASSWORD)
        return page.locator("#login-form button[type=submit]")

    # A picture opens in the browser: the page is the file.
    _context, page = pages.open("signed-out", **ENGLISH)
    picture = upload("chart.png", png_bytes(), "image/png")
    log_in_from_the_link(page, picture).click()
    expect(page).to_have_url(re.compile(re.escape(picture) + "$"))
    # Any other file is downloaded, as from the chat.
    _context, page = pages.open("signed-out-2", **ENGLISH)
    notes = upload("notes.txt", b"hello, file", "text/plain")
    submit = log_in_from_the_link(page, notes)
    with page.expect_download() as download:
        submit.click()
    assert download.value.suggested_filename == "notes.txt"
    assert Path(download.value.path()).read_bytes() == b"hello, file"
