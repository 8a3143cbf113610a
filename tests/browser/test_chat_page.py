"""The chat page's layout in real browsers (issue 22, part 7): the room sidebar (live
badges, one click to another room, a drawer on a phone), the message menu (Delete in it,
a long press on a touch screen), the message list as one Tab stop, a direct room without
a "created" notice, a removed member's header, rooms of one name told apart, and the
share of a phone's screen the messages get. Screenshots at 1280x800 and 390x844 go to
test-artifacts/.

Pages come from `Pages`: any console error (a Content-Security-Policy violation is one),
script error or native dialog fails the test.
"""

import re
import time

import pytest
from playwright.sync_api import expect

from ..support.browser import MOBILE, confirm, log_in, room_id_of, send, shot, wait_connected, wait_list_connected
from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, unique_name

pytestmark = pytest.mark.browser

KOREAN = {"locale": "ko-KR", "extra_http_headers": {"Accept-Language": "ko-KR,ko;q=0.9"}}


def make_room(server, token, name, room_type="public"):
    response = api(server, token, "POST", "/rooms", json={"name": name, "type": room_type})
    assert response.status_code == 201, response.text
    return response.json()["room"]


def join(server, token, room):
    assert api(server, token, "POST", f"/rooms/{room['id']}/join").status_code == 200


def invite(server, token, room, user):
    assert (
        api(server, token, "POST", f"/rooms/{room['id']}/members", json={"username": user["username"]}).status_code
        == 200
    )


def say(sock, room, body):
    ack = sock.call("send_message", {"room_id": room["id"], "body": body, "client_id": unique_name("c")})
    assert ack["ok"], ack
    return ack["message"]


def open_room(pages, label, user, room, **options):
    _context, page = pages.open(label, **options)
    log_in(page, user["username"])
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page, "연결됨" if options.get("locale") == "ko-KR" else "Connected")
    return page


def sidebar_item(page, room):
    return page.locator(f"#sidebar-rooms .room-item[data-room-id='{room['id']}']")


def message(page, text):
    return page.locator("#message-list > li.msg:not(.is-pending)", has=page.locator(".msg-body", has_text=text))


def focused(page):
    """What has the focus: tag, id, classes and data-id, as a short string."""
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return `${e.tagName}#${e.id}.${[...e.classList].join('.')}[${e.dataset?.id ?? ''}]`; }"
    )


def test_sidebar_lists_my_rooms_live_and_switches_in_one_click(pages, server):
    a_user, a_token = api_user(server, unique_name("alice"))
    b_user, b_token = api_user(server, unique_name("bob"))
    design = make_room(server, a_token, "Design")
    join(server, b_token, design)
    design_b = make_room(server, b_token, "Design", "private")
    invite(server, b_token, design_b, a_user)
    # Activity a second apart: the lists order by times stored to the second.
    time.sleep(1.1)
    general = make_room(server, b_token, "General 일반")
    join(server, a_token, general)
    time.sleep(1.1)
    direct = api(server, b_token, "POST", "/rooms/direct", json={"usernames": [a_user["username"]]}).json()["room"]
    a = open_room(pages, "A", a_user, design)

    # Newest activity first, as on the room list (the direct room by its creation: it has no
    # message yet); the open room is the current page.
    items = a.locator("#sidebar-rooms > .room-item")
    expect(items.locator(".room-name")).to_have_text([b_user["username"], "General 일반", "Design", "Design"])
    expect(sidebar_item(a, design).locator(".room-link")).to_have_attribute("aria-current", "page")
    expect(a.locator("#sidebar-rooms [aria-current]")).to_have_count(1)
    expect(sidebar_item(a, general).locator(".room-link")).to_have_attribute("href", f"/rooms/{general['id']}")
    # Two rooms named Design: each says its type, members and owner; the others only their name.
    mine = sidebar_item(a, design).locator(".room-details")
    theirs = sidebar_item(a, design_b).locator(".room-details")
    expect(mine).to_be_visible()
    expect(mine.locator(".room-kind")).to_have_text("Public")
    expect(mine.locator(".room-members")).to_have_text("2 members")
    expect(mine.locator(".room-owner")).to_have_text(f"Owner: {a_user['username']}")
    expect(theirs.locator(".room-kind")).to_have_text("Private")
    expect(theirs.locator(".room-owner")).to_have_text(f"Owner: {b_user['username']}")
    expect(sidebar_item(a, general).locator(".room-details")).to_be_hidden()
    shot(a, "chat-sidebar-same-names-desktop")
    expect(a.locator("#sidebar-toggle")).to_be_hidden()  # no drawer on a wide screen

    sock = ChatClient(server, b_token).connect()
    try:
        # Live: an unread message, then a mention, each moving its room to the top.
        say(sock, general, "Standup moved to 10")
        expect(sidebar_item(a, general).locator(".unread-count")).to_have_text("1")
        expect(sidebar_item(a, general).locator(".mention-badge")).to_be_hidden()
        say(sock, design_b, f"@{a_user['username']} can you review?")
        expect(sidebar_item(a, design_b).locator(".mention-count")).to_have_text("@1")
        expect(sidebar_item(a, design_b).locator(".unread-count")).to_have_text("1")
        expect(items.first).to_have_attribute("data-room-id", str(design_b["id"]))
        # Muted in another tab: greyed, said to screen readers.
        assert api(server, a_token, "PUT", f"/rooms/{general['id']}/notify", json={"notify": "mute"}).status_code == 200
        expect(sidebar_item(a, general)).to_have_class(re.compile(r"\bis-muted\b"))
        expect(sidebar_item(a, general).locator(".room-muted")).to_have_text("Muted")
        # Added to a room (its name is text, never markup), then removed from one.
        launch = make_room(server, b_token, '<img src=x onerror="alert(1)"> Launch', "private")
        invite(server, b_token, launch, a_user)
        expect(items.first.locator(".room-name")).to_have_text('<img src=x onerror="alert(1)"> Launch')
        expect(a.locator("#room-sidebar img")).to_have_count(0)
        assert (
            api(server, b_token, "DELETE", f"/rooms/{design_b['id']}/members/{a_user['username']}").status_code == 200
        )
        expect(sidebar_item(a, design_b)).to_have_count(0)
        # The name is no longer shared: the details go.
        expect(sidebar_item(a, design)).not_to_have_class(re.compile(r"\bis-shared\b"))
        expect(mine).to_be_hidden()
        say(sock, direct, "Lunch?")
        expect(sidebar_item(a, direct).locator(".unread-count")).to_have_text("1")
        shot(a, "chat-sidebar-desktop")

        # One click opens another room; it is read there, and it is the current page.
        a.evaluate("window.__samePage = true")
        sidebar_item(a, direct).locator(".room-link").click()
        expect(a).to_have_url(re.compile(rf"/rooms/{direct['id']}$"))
        wait_connected(a)
        assert a.evaluate("window.__samePage === undefined")
        expect(sidebar_item(a, direct).locator(".room-link")).to_have_attribute("aria-current", "page")
        expect(sidebar_item(a, design).locator(".room-link")).not_to_have_attribute("aria-current", "page")
        expect(sidebar_item(a, direct)).to_have_attribute("data-unread", "0")
        expect(sidebar_item(a, launch).locator(".room-name")).to_have_text('<img src=x onerror="alert(1)"> Launch')
    finally:
        sock.close()


def test_sidebar_is_a_drawer_on_a_phone(pages, server):
    a_user, a_token = api_user(server, unique_name("민지"))
    b_user, b_token = api_user(server, unique_name("준호"))
    here = make_room(server, a_token, "프로젝트")
    other = make_room(server, a_token, "잡담")
    join(server, b_token, other)
    direct = api(server, b_token, "POST", "/rooms/direct", json={"usernames": [a_user["username"]]}).json()["room"]
    a = open_room(pages, "A", a_user, here, **MOBILE, **KOREAN)
    sidebar, toggle = a.locator("#room-sidebar"), a.locator("#sidebar-toggle")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle.locator(".toggle-badge")).to_be_hidden()

    # A direct message elsewhere: the button's badge counts it (as the tab's title does).
    sock = ChatClient(server, b_token).connect()
    try:
        say(sock, direct, "지금 통화돼요?")
        expect(toggle.locator(".toggle-count")).to_have_text("1")
        say(sock, other, "그냥 잡담")  # not addressed to me: no count
        expect(sidebar_item(a, other).locator(".unread-count")).to_have_text("1")
        expect(toggle.locator(".toggle-count")).to_have_text("1")
    finally:
        sock.close()

    # Open: the drawer, the focus on the open room; Escape closes and gives the focus back.
    toggle.click()
    expect(sidebar).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sidebar_item(a, here).locator(".room-link")).to_be_focused()
    expect(a.locator("#sidebar-backdrop")).to_be_visible()
    a.wait_for_timeout(300)  # the slide-in
    shot(a, "chat-sidebar-drawer-mobile-ko")
    a.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    # A tap outside closes it too; focus leaving it (Shift+Tab from its first link) as well.
    toggle.click()
    expect(sidebar).to_be_visible()
    a.mouse.click(370, 420)
    expect(sidebar).to_be_hidden()
    expect(a.locator("#sidebar-backdrop")).to_be_hidden()
    toggle.click()
    a.locator("#room-sidebar .back-link").focus()
    a.keyboard.press("Shift+Tab")
    expect(sidebar).to_be_hidden()
    # One tap on a room opens it.
    toggle.click()
    sidebar_item(a, direct).locator(".room-link").click()
    expect(a).to_have_url(re.compile(rf"/rooms/{direct['id']}$"))
    wait_connected(a, "연결됨")
    expect(toggle.locator(".toggle-badge")).to_be_hidden()  # the open room's messages are not "elsewhere"
    expect(a.locator("#sidebar-rooms [aria-current=page] .room-name")).to_have_text(b_user["username"])


def test_message_actions_live_in_its_menu(pages, server):
    a_user, a_token = api_user(server, unique_name("alice"))
    b_user, b_token = api_user(server, unique_name("bob"))
    room = make_room(server, a_token, "Menus")
    join(server, b_token, room)
    a = open_room(pages, "A", a_user, room)
    send(a, "Delete me from the menu")
    own = message(a, "Delete me from the menu")
    expect(own).to_have_count(1)
    tools = own.locator(".msg-tools")

    # No Delete link under the message: it is in the menu, with Reply, React and Edit.
    expect(own.locator(".msg-actions .msg-delete")).to_have_count(0)
    expect(tools.locator(".msg-tool")).to_have_text(["Reply", "React", "Edit", "Delete"])
    a.mouse.move(5, 5)
    expect(tools).to_have_css("opacity", "0")
    own.locator(".msg-bubble").hover()
    expect(tools).to_have_css("opacity", "1")
    shot(a, "chat-message-menu-desktop")
    tools.get_by_role("button", name="Delete this message").click()
    confirm(a, "Delete")
    expect(own.locator(".msg-body.is-deleted")).to_have_count(0)
    expect(a.locator("#message-list .msg-body.is-deleted")).to_have_text("message deleted")

    # On a phone: a long press opens the menu (a tap still toggles it).
    b = open_room(pages, "B", b_user, room, **MOBILE)
    send(a, "Press and hold this one")
    theirs = message(b, "Press and hold this one")
    expect(theirs).to_have_count(1)
    box = theirs.locator(".msg-bubble").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = b.context.new_cdp_session(b)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    b.wait_for_timeout(800)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    expect(theirs).to_have_class(re.compile(r"\bis-active\b"))
    expect(theirs.locator(".msg-tools")).to_have_css("opacity", "1")
    expect(theirs.locator(".msg-tool")).to_have_text(["Reply", "React"])
    b.wait_for_timeout(300)  # whatever the finger's lifting does, the menu stays open
    expect(theirs).to_have_class(re.compile(r"\bis-active\b"))
    shot(b, "chat-message-menu-long-press-mobile")
    theirs.locator(".msg-tools .msg-reply-button").click()
    expect(b.locator("#reply-bar")).to_contain_text("Replying to")
    # A short tap on the message hides the menu again.
    box = theirs.locator(".msg-body").bounding_box()
    b.touchscreen.tap(box["x"] + 10, box["y"] + box["height"] / 2)
    expect(theirs).not_to_have_class(re.compile(r"\bis-active\b"))


def test_the_message_list_is_one_tab_stop(pages, server):
    a_user, a_token = api_user(server, unique_name("alice"))
    b_user, b_token = api_user(server, unique_name("bob"))
    room = make_room(server, a_token, "Keys")
    join(server, b_token, room)
    a = open_room(pages, "A", a_user, room)
    sock = ChatClient(server, b_token).connect()
    try:
        linked = say(sock, room, "Notes are at https://example.com/notes and https://example.com/more")
    finally:
        sock.close()
    for text in ("first of mine", "second of mine", "third of mine"):
        send(a, text)
    expect(message(a, "third of mine")).to_have_count(1)
    newest = message(a, "third of mine").get_attribute("data-id")

    # The whole page from the top: every stop visible, never the page itself, and the list
    # one stop (the newest message on screen), its links and menus not in the way.
    a.locator(".skip-link").focus()
    stops = []
    for _ in range(60):
        a.keyboard.press("Tab")
        stop = a.evaluate(
            "() => { const e = document.activeElement; const r = e.getBoundingClientRect();"
            " return {tag: e.tagName, id: e.id, dataId: e.dataset?.id ?? null, inList: !!e.closest('#message-list'),"
            " visible: r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'"
            " && (e.tagName === 'LI' || getComputedStyle(e.closest('.msg-tools') ?? e).opacity !== '0'),"
            " last: e.matches('.lang-choice:last-of-type')}; }"
        )
        stops.append(stop)
        if stop["last"]:
            break
    assert stops[-1]["last"], stops
    assert all(s["tag"] != "BODY" for s in stops), stops
    assert all(s["visible"] for s in stops), [s for s in stops if not s["visible"]]
    in_list = [i for i, s in enumerate(stops) if s["inList"]]
    assert [(stops[i]["tag"], stops[i]["dataId"]) for i in in_list] == [("LI", newest)], stops
    assert [s["id"] for s in stops[in_list[0] + 1 : in_list[0] + 3]] == ["attach-button", "composer-input"], stops

    # In the list: the arrows, Home and End; a visible ring; the menu on keyboard focus.
    last = a.locator(f"#message-list > li[data-id='{newest}']")
    last.focus()
    a.keyboard.press("ArrowUp")
    expect(message(a, "second of mine")).to_be_focused()
    a.keyboard.press("Home")
    expect(a.locator("#message-list > li.msg").first).to_be_focused()
    a.keyboard.press("End")
    expect(last).to_be_focused()
    ring = last.locator(".msg-bubble").evaluate("node => getComputedStyle(node).outlineStyle")
    assert ring == "solid", ring
    expect(last.locator(".msg-tools")).to_have_css("opacity", "1")
    shot(a, "chat-keyboard-focus-desktop")

    # Enter opens the message's menu; the arrows move in it, Escape goes back.
    theirs = a.locator(f"#message-list > li[data-id='{linked['id']}']")
    for _ in range(3):
        a.keyboard.press("ArrowUp")
    expect(theirs).to_be_focused()
    a.keyboard.press("Enter")
    expect(theirs.locator(".msg-reply-button")).to_be_focused()
    a.keyboard.press("ArrowRight")
    expect(theirs.locator(".msg-react-button")).to_be_focused()
    # The room's owner may delete anyone's message (issue 23): the last action, then round.
    a.keyboard.press("ArrowRight")
    expect(theirs.locator(".msg-delete")).to_be_focused()
    a.keyboard.press("ArrowRight")
    expect(theirs.locator(".msg-reply-button")).to_be_focused()
    # Inside the message, Tab and Shift+Tab reach its other controls (the menu comes last),
    # and Tab leaves the list for the composer.
    a.keyboard.press("Shift+Tab")
    expect(theirs.locator(".msg-body a").nth(1)).to_be_focused()
    a.keyboard.press("Shift+Tab")
    expect(theirs.locator(".msg-body a").first).to_be_focused()
    a.keyboard.press("Shift+Tab")
    expect(theirs).to_be_focused()
    a.keyboard.press("Enter")
    a.keyboard.press("Tab")
    expect(theirs.locator(".msg-react-button")).to_be_focused()
    a.keyboard.press("Tab")
    expect(theirs.locator(".msg-delete")).to_be_focused()
    a.keyboard.press("Tab")
    expect(a.locator("#attach-button")).to_be_focused()
    a.keyboard.press("Shift+Tab")
    expect(theirs).to_be_focused()  # the message, not its controls, once the focus has left them
    a.keyboard.press("Escape")
    expect(theirs).to_be_focused()

    # Operable: a reaction from the keyboard, then a delete; the focus stays on the message.
    a.keyboard.press("Enter")
    a.keyboard.press("ArrowRight")
    a.keyboard.press("Enter")
    expect(theirs.locator(".react-menu .react-quick").first).to_be_focused()
    a.keyboard.press("Enter")
    expect(theirs.locator(".reaction-chip")).to_have_count(1)
    expect(theirs).to_be_focused()
    mine = message(a, "first of mine")
    mine.focus()
    a.keyboard.press("ContextMenu")
    expect(mine.locator(".msg-reply-button")).to_be_focused()
    a.keyboard.press("End")
    expect(mine.locator(".msg-delete")).to_be_focused()
    a.keyboard.press("Enter")
    dialog = a.locator("dialog.confirm-dialog")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    a.keyboard.press("Tab")
    a.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    expect(a.locator("#message-list .msg-body.is-deleted")).to_have_count(1)
    expect(a.locator("#message-list > li.msg:focus .msg-body.is-deleted")).to_have_count(1)


def test_a_direct_room_starts_with_its_first_message(pages, server):
    a_user, _a_token = api_user(server, unique_name("alice"))
    _b_user, b_token = api_user(server, unique_name("bob"))
    direct = api(server, b_token, "POST", "/rooms/direct", json={"usernames": [a_user["username"]]}).json()["room"]
    a = open_room(pages, "A", a_user, direct)
    expect(a.locator("#message-list > li")).to_have_count(0)
    expect(a.locator("#message-list")).not_to_contain_text("created the room")
    send(a, "Hi, the first words here")
    first = message(a, "Hi, the first words here")
    expect(first).to_have_attribute("data-seq", "1")
    expect(a.locator("#message-list > li.msg")).to_have_count(1)
    a.goto("/rooms")
    item = a.locator(f"#my-rooms .room-item[data-room-id='{direct['id']}']")
    expect(item.locator(".room-preview")).to_have_text(f"{a_user['username']}: Hi, the first words here")
    expect(item.locator(".room-owner")).to_be_hidden()


def test_a_removed_member_keeps_no_stale_counts(pages, server):
    a_user, a_token = api_user(server, unique_name("owner"))
    b_user, b_token = api_user(server, unique_name("guest"))
    room = make_room(server, a_token, "Counted")
    join(server, b_token, room)
    _a = open_room(pages, "A", a_user, room)
    b = open_room(pages, "B", b_user, room)
    expect(b.locator("#member-count")).to_have_text("2 members")
    expect(b.locator("#online-count")).to_have_text("2 online")
    assert api(server, a_token, "DELETE", f"/rooms/{room['id']}/members/{b_user['username']}").status_code == 200
    expect(b.locator("#chat-notice")).to_contain_text("You were removed from this room.")
    expect(b.locator("#member-count")).to_be_hidden()
    expect(b.locator("#online-count")).to_be_hidden()
    expect(b.locator("#member-panel")).to_be_hidden()
    expect(b.locator(".chat-meta .room-type")).to_have_text("Public")
    expect(sidebar_item(b, room)).to_have_count(0)
    expect(b.locator("#sidebar-empty")).to_be_visible()
    # The chat takes the member panel's place.
    assert b.locator(".chat-main").bounding_box()["width"] > 900
    shot(b, "chat-removed-header-desktop")


def test_rooms_of_one_name_are_told_apart(pages, server):
    a_user, a_token = api_user(server, unique_name("alice"))
    b_user, b_token = api_user(server, unique_name("bob"))
    mine = make_room(server, a_token, "Design")
    theirs = make_room(server, b_token, "Design", "private")
    invite(server, b_token, theirs, a_user)
    join(server, b_token, mine)
    make_room(server, a_token, "General")
    _context, a = pages.open("A")
    log_in(a, a_user["username"])
    wait_list_connected(a)

    # The room list: every room says its type, members and owner.
    for room, kind, owner in ((mine, "Public", a_user), (theirs, "Private", b_user)):
        item = a.locator(f"#my-rooms .room-item[data-room-id='{room['id']}']")
        expect(item.locator(".room-type")).to_have_text(kind)
        expect(item.locator(".room-members")).to_have_text("2 members")
        expect(item.locator(".room-owner")).to_have_text(f"Owner: {owner['username']}")
    public = a.locator(f".public-room[data-room-id='{mine['id']}']")
    expect(public.locator(".room-owner")).to_have_text(f"Owner: {a_user['username']}")
    shot(a, "rooms-same-names-desktop")

    # The search page's room filter: the two Designs with what tells them apart.
    a.goto("/search")
    options = a.locator("#search-room option")
    expect(options.filter(has_text="General")).to_have_text("General")
    expect(a.locator(f"#search-room option[value='{mine['id']}']")).to_have_text(
        f"Design (Public, 2 members, owner {a_user['username']})"
    )
    expect(a.locator(f"#search-room option[value='{theirs['id']}']")).to_have_text(
        f"Design (Private, 2 members, owner {b_user['username']})"
    )


def test_messages_get_most_of_a_phone_screen(pages, server):
    a_user, a_token = api_user(server, unique_name("지민"))
    b_user, b_token = api_user(server, unique_name("준호"))
    room = make_room(server, a_token, "모바일 화면 테스트")
    join(server, b_token, room)
    for label, options in (("en", {}), ("ko", KOREAN)):
        page = open_room(pages, f"phone-{label}", a_user, room, **MOBILE, **options)
        for i in range(8):
            send(page, f"{label} 메시지 {i}: 화면의 대부분이 메시지에 쓰여야 해요")
        expect(page.locator("#message-list .msg.is-pending")).to_have_count(0)
        viewport = page.viewport_size["height"]
        scroller = page.locator("#message-scroller").bounding_box()
        assert scroller["height"] >= 0.7 * viewport, (scroller["height"], viewport)
        # Nothing wider than the phone; the composer, the members and the room's controls in reach.
        assert page.evaluate("document.documentElement.scrollWidth") == 390
        controls = (
            "#composer-input",
            "#send-button",
            ".member-summary",
            "#sidebar-toggle",
            "#room-actions",
            ".lang-switch",
        )
        for selector in controls:
            box = page.locator(selector).bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= viewport, (selector, box)
        shot(page, f"chat-phone-{label}")
        # Someone typing: said over the foot of the list, which keeps its height.
        sock = ChatClient(server, b_token).connect()
        try:
            sock.call("typing", {"room_id": room["id"]})
            expect(page.locator("#typing-indicator")).not_to_be_empty()
            assert page.locator("#message-scroller").bounding_box()["height"] == scroller["height"]
            shot(page, f"chat-phone-typing-{label}")
        finally:
            sock.close()
    # The room as a desktop shows it, for comparison.
    desk = open_room(pages, "desktop", a_user, room)
    shot(desk, "chat-room-desktop")
    assert room_id_of(desk) == room["id"]
