"""Issue 20 in real browsers: the @ autocomplete (a Hangul name, initial consonants, the
keys, an IME still composing), mentions highlighted (mine more strongly), the question
before @room in a room of more than five, the room list's badges (grey unread, red
mentions, muted rooms greyed), the tab's title and favicon, the room's notification
menu followed by another tab, and desktop notifications: asked for only on a click, shown
for another room with the room's id as tag, closed once the room is read in another tab.
Screenshots in Korean go to test-artifacts/.

The page uses the real Notification API; an init script wraps it to record what is
constructed and closed. Pages come from `Pages`: any console error (a CSP violation is
one), script error or native dialog fails the test.
"""

import re

import pytest
from playwright.sync_api import expect

from ..support.browser import MOBILE, log_in, send, shot, wait_connected, wait_list_connected
from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, create_user, unique_name

pytestmark = pytest.mark.browser

KOREAN = {"locale": "ko-KR", "extra_http_headers": {"Accept-Language": "ko-KR,ko;q=0.9"}}

# Wraps the real Notification: records each one made (title, tag, body) and each close,
# and counts permission requests; the page's own calls go through to the browser.
RECORD_NOTIFICATIONS = """(() => {
  const Real = window.Notification;
  if (!Real) return;
  const notes = [];
  window.__notes = notes;
  window.__permissionRequests = 0;
  class Recorded extends Real {
    constructor(title, options = {}) {
      super(title, options);
      notes.push({ title, tag: options.tag, body: options.body, closed: false, note: this });
    }
    close() {
      for (const entry of notes) if (entry.note === this) entry.closed = true;
      super.close();
    }
    static requestPermission(...args) {
      window.__permissionRequests += 1;
      return Real.requestPermission(...args);
    }
    static get permission() { return Real.permission; }
  }
  window.Notification = Recorded;
})();"""
NOTES_JS = "() => (window.__notes || []).map(({ title, tag, body, closed }) => ({ title, tag, body, closed }))"


def public_room(server, owner_token, *others, name):
    room = api(server, owner_token, "POST", "/rooms", json={"name": name, "type": "public"}).json()["room"]
    for _user, token in others:
        assert api(server, token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    return room


def open_room(page, room, connected="연결됨"):
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page, connected)


def say(sock, room, body, client_id, **extra):
    ack = sock.call("send_message", {"room_id": room["id"], "body": body, "client_id": client_id, **extra})
    assert ack["ok"], ack
    return ack["message"]


def test_autocomplete_with_hangul_and_mentions_highlighted(pages, server):
    a_user, a_token = api_user(server, unique_name("writer"))
    kim, kim_token = api_user(server, unique_name("김민수"))
    minji, minji_token = api_user(server, unique_name("Minji"))
    room = public_room(server, a_token, (kim, kim_token), (minji, minji_token), name="멘션 테스트")
    _ac, a = pages.open("A", **KOREAN)
    log_in(a, a_user["username"])
    open_room(a, room)
    _kc, k = pages.open("K", **KOREAN)
    log_in(k, kim["username"])
    open_room(k, room)

    box = a.locator("#composer-input")
    options = a.locator(".composer-field .mention-list [role=option]")
    # "@" alone offers every member but me, then @room and @here.
    box.press_sequentially("@")
    expect(options).to_have_count(4)
    expect(options.nth(2)).to_have_attribute("data-word", "room")
    expect(options.nth(3)).to_have_attribute("data-word", "here")
    expect(a.locator(".mention-list")).not_to_contain_text(a_user["username"])

    # Initial consonants find 김민수; the list is a listbox the box points into.
    box.press_sequentially("ㄱㅁ")
    expect(options).to_have_count(1)
    expect(options.first).to_have_text(f"@{kim['username']}")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    shot(a, "mention-autocomplete-ko")

    # While an IME composes, Enter belongs to it: the list stays, nothing is sent.
    box.dispatch_event("keydown", {"key": "Enter", "isComposing": True, "keyCode": 229})
    expect(options).to_have_count(1)
    expect(box).to_have_value("@ㄱㅁ")

    # Enter picks: `@김민수… `, and a particle after it still mentions him.
    box.press("Enter")
    expect(a.locator(".mention-list")).to_be_hidden()
    expect(box).to_have_value(f"@{kim['username']} ")
    box.press("Backspace")
    box.press_sequentially("님 확인 부탁해요 ")

    # Escape closes the list and keeps the text; the arrow keys move; Tab picks.
    box.press_sequentially("@")
    expect(options).to_have_count(4)
    box.press("Escape")
    expect(a.locator(".mention-list")).to_be_hidden()
    expect(box).to_have_value(f"@{kim['username']}님 확인 부탁해요 @")
    box.press_sequentially("m")
    expect(a.locator(".mention-list")).to_be_hidden()  # closed for this @ until it is typed again
    box.press("Backspace")
    box.press("Backspace")
    box.press_sequentially("@ㅁ")
    expect(options).to_have_count(1)  # 김민수, by the ㅁ of 민 inside it; Minji is Latin
    box.press("Backspace")
    box.press_sequentially("mi")
    expect(options).to_have_count(1)
    box.press("ArrowDown")
    box.press("Tab")
    expect(box).to_have_value(f"@{kim['username']}님 확인 부탁해요 @{minji['username']} ")
    box.press("Enter")

    # K sees it: the mention of him strongly, the row marked; the other mention plainly.
    row = k.locator("#message-list > li.msg:not(.is-pending)", has_text="확인 부탁해요")
    expect(row).to_have_class(re.compile(r"\bis-mention\b"))
    expect(row.locator(".mention.is-me")).to_have_text(f"@{kim['username']}")
    expect(row.locator(".mention:not(.is-me)")).to_have_text(f"@{minji['username']}")
    expect(row.locator(".msg-body")).to_have_text(f"@{kim['username']}님 확인 부탁해요 @{minji['username']}")
    shot(k, "mention-highlighted-ko")
    # The sender's own copy: highlighted, not as a mention of her.
    mine = a.locator("#message-list > li.msg:not(.is-pending)", has_text="확인 부탁해요")
    expect(mine.locator(".mention")).to_have_count(2)
    expect(mine.locator(".mention.is-me")).to_have_count(0)
    expect(mine).not_to_have_class(re.compile(r"\bis-mention\b"))

    # The edit box completes too.
    k.locator("#composer-input").fill("내용 확인했습니다")
    k.locator("#composer-input").press("Enter")
    found = k.locator("#message-list > li.msg:not(.is-pending)", has_text="내용 확인했습니다")
    expect(found).to_have_count(1)
    reply = k.locator(f"#message-list > li[data-id='{found.get_attribute('data-id')}']")
    k.locator("#composer-input").press("ArrowUp")
    editor = reply.locator("textarea.msg-edit-input")
    expect(editor).to_be_focused()
    editor.press("End")
    editor.press_sequentially(" @wri")
    edit_options = reply.locator(".mention-list [role=option]")
    expect(edit_options).to_have_count(1)
    editor.press("Enter")
    expect(editor).to_have_value(f"내용 확인했습니다 @{a_user['username']} ")
    editor.press("Enter")
    expect(reply.locator(".mention")).to_have_text(f"@{a_user['username']}")
    a_reply = a.locator("#message-list > li.msg:not(.is-pending)", has_text="내용 확인했습니다")
    expect(a_reply.locator(".mention.is-me")).to_have_text(f"@{a_user['username']}")


def test_room_mention_asks_before_notifying_everyone(pages, server):
    a_user, a_token = api_user(server, unique_name("host"))
    others = [api_user(server, unique_name("guest")) for _ in range(5)]
    room = public_room(server, a_token, *others, name="전체 공지")
    _ac, a = pages.open("A", **KOREAN)
    log_in(a, a_user["username"])
    open_room(a, room)

    # Declined: nothing is stored, and the text comes back to be reworded.
    send(a, "@room 3시에 전체 회의")
    dialog = a.locator("dialog.confirm-dialog")
    expect(dialog).to_contain_text("6")
    shot(a, "mention-room-confirm-ko")
    dialog.get_by_role("button").first.click()
    expect(dialog).to_have_count(0)
    expect(a.locator("#composer-input")).to_have_value("@room 3시에 전체 회의")
    expect(a.locator("#message-list > li.msg.kind-text")).to_have_count(0)

    # Agreed: sent again with confirm, stored once.
    a.locator("#composer-input").press("Enter")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button").last.click()
    stored = a.locator("#message-list > li.msg.kind-text:not(.is-pending)")
    expect(stored).to_have_count(1)
    expect(stored.locator(".mention.is-everyone")).to_have_text("@room")
    messages = api(server, a_token, "GET", f"/rooms/{room['id']}/messages").json()["messages"]
    assert [m["body"] for m in messages if m["kind"] == "text"] == ["@room 3시에 전체 회의"]


def test_badges_title_favicon_and_the_notify_menu(pages, server):
    a_user, a_token = api_user(server, unique_name("reader"))
    b_user, b_token = api_user(server, unique_name("poster"))
    room = public_room(server, a_token, (b_user, b_token), name="공지방")
    quiet = public_room(server, a_token, (b_user, b_token), name="잡담방")
    _ac, a = pages.open("A", **KOREAN)
    log_in(a, a_user["username"])
    wait_list_connected(a)
    base = a.title()
    item = a.locator(f".room-item[data-room-id='{room['id']}']")
    quiet_item = a.locator(f".room-item[data-room-id='{quiet['id']}']")

    sock = ChatClient(server, b_token).connect()
    try:
        # Unread without a mention: a grey count, the title unchanged (mentions-only room).
        say(sock, room, "오늘 점심 뭐 먹어요?", "u1")
        expect(item.locator(".unread-count")).to_have_text("1")
        expect(item.locator(".mention-badge")).to_be_hidden()
        expect(a).to_have_title(base)
        # A mention: the red badge beside it, "(1)" in the title, a dot on the favicon.
        say(sock, room, f"@{a_user['username']}님 회의록 봐주세요", "u2")
        expect(item.locator(".unread-count")).to_have_text("2")
        expect(item.locator(".mention-badge")).to_be_visible()
        expect(item.locator(".mention-count")).to_have_text("@1")
        expect(item.locator(".mention-spoken")).to_have_text(re.compile("1"))
        expect(a).to_have_title(f"(1) {base}")
        expect(a.locator("link[rel=icon]")).to_have_attribute("href", re.compile(r"^data:image/png"))
        # A direct message counts whole.
        direct = api(server, b_token, "POST", "/rooms/direct", json={"usernames": [a_user["username"]]}).json()["room"]
        say(sock, direct, "잠깐 통화 가능해요?", "d1")
        say(sock, direct, "급한 건 아니에요", "d2")
        expect(a).to_have_title(f"(3) {base}")
        # Muted: greyed, not bold, but its mentions still show and count.
        assert api(server, a_token, "PUT", f"/rooms/{room['id']}/notify", json={"notify": "mute"}).status_code == 200
        expect(item).to_have_class(re.compile(r"\bis-muted\b"))
        expect(item.locator(".room-muted")).to_be_visible()
        expect(item.locator(".mention-badge")).to_be_visible()
        expect(a).to_have_title(f"(3) {base}")
        weight = item.locator(".room-preview").evaluate("node => getComputedStyle(node).fontWeight")
        assert weight == "400", weight
        say(sock, quiet, "새 소식 있어요", "q1")
        expect(quiet_item.locator(".unread-count")).to_have_text("1")
        shot(a, "room-list-badges-ko")

        # The room's menu sets it too; the list in the other tab follows (notify_changed).
        b2 = a.context.new_page()
        open_room(b2, room)
        expect(b2).to_have_title(re.compile(r"^\(2\) "))  # the room is read here: the two direct messages are left
        menu = b2.locator("#notify-menu")
        menu.locator("summary").click()
        expect(menu.locator("input[value=mute]")).to_be_checked()
        shot(b2, "room-notify-menu-ko")
        menu.locator("label[for=notify-all]").click()
        expect(item).not_to_have_class(re.compile(r"\bis-muted\b"))
        rooms = {r["id"]: r for r in api(server, a_token, "GET", "/rooms").json()["rooms"]}
        assert rooms[room["id"]]["notify"] == "all"
        # Reading the room took its badges away everywhere.
        expect(item.locator(".unread-badge")).to_be_hidden()
        expect(item.locator(".mention-badge")).to_be_hidden()
        b2.close()

        # On a phone the menu fits beside Invite and Leave.
        _pc, phone = pages.open("A-phone", **KOREAN, **MOBILE)
        log_in(phone, a_user["username"])
        open_room(phone, room)
        phone.locator("#notify-menu summary").click()
        expect(phone.locator("#notify-menu .notify-popover")).to_be_in_viewport(ratio=1)
        shot(phone, "room-notify-menu-mobile-ko")
    finally:
        sock.close()


def test_desktop_notification_shown_then_closed_when_read_in_another_tab(pages, server):
    a_user, a_token = api_user(server, unique_name("notified"))
    b_user, b_token = api_user(server, unique_name("sender"))
    room = public_room(server, a_token, (b_user, b_token), name="알림방")
    context, a = pages.open("A", permissions=["notifications"], **KOREAN)
    context.add_init_script(RECORD_NOTIFICATIONS)
    log_in(a, a_user["username"])
    wait_list_connected(a)
    # Permitted already: a switch (on), and the sound is off by default.
    expect(a.locator("#list-notify-desktop")).to_be_checked()
    expect(a.locator("#list-notify-sound")).not_to_be_checked()
    assert a.evaluate("() => window.__permissionRequests") == 0

    sock = ChatClient(server, b_token).connect()
    try:
        # A plain message in a mentions-only room alerts nobody; a mention does.
        say(sock, room, "그냥 잡담", "n0")
        message = say(sock, room, f"@{a_user['username']} 배포 확인 부탁드려요", "n1")
        a.wait_for_function("() => window.__notes.length === 1")
        notes = a.evaluate(NOTES_JS)
        assert notes[0]["tag"] == str(room["id"])
        assert a_user["username"] not in notes[0]["title"] and "알림방" in notes[0]["title"]
        assert "배포 확인 부탁드려요" in notes[0]["body"] and b_user["username"] in notes[0]["body"]
        assert notes[0]["closed"] is False

        # A burst: one notification per room at a time (the same tag, the old one closed).
        say(sock, room, f"@{a_user['username']} 하나 더", "n2")
        a.wait_for_function("() => window.__notes.length === 2")
        notes = a.evaluate(NOTES_JS)
        assert [n["tag"] for n in notes] == [str(room["id"])] * 2
        assert notes[0]["closed"] is True and notes[1]["closed"] is False

        # Read in another tab: the notification here closes.
        other = context.new_page()
        open_room(other, room)
        a.wait_for_function("() => window.__notes[1].closed")
        # That tab, showing the room, is not alerted about it; nor is this one.
        say(sock, room, f"@{a_user['username']} 지금 보고 계시죠?", "n3")
        expect(other.locator("#message-list .msg", has_text="지금 보고 계시죠?")).to_have_count(1)
        a.wait_for_timeout(800)
        assert len(a.evaluate(NOTES_JS)) == 2
        assert other.evaluate("() => window.__notes.length") == 0
        other.close()

        # A click on one focuses the tab and opens its room.
        say(sock, room, f"@{a_user['username']} 클릭해 보세요", "n4")
        a.wait_for_function("() => window.__notes.length === 3")
        a.evaluate("() => window.__notes[2].note.dispatchEvent(new Event('click'))")
        expect(a).to_have_url(re.compile(rf"/rooms/{room['id']}$"))
        wait_connected(a, "연결됨")
        assert message["mentions"] == [a_user["id"]]
    finally:
        sock.close()


def test_permission_asked_only_on_the_click_and_the_sound_choice_kept(pages):
    user_name = unique_name("asker")
    context, page = pages.open("A", **KOREAN)
    context.add_init_script(RECORD_NOTIFICATIONS)
    create_user(pages.server, user_name)
    log_in(page, user_name)
    wait_list_connected(page)
    state = page.evaluate("() => Notification.permission")
    if state == "default":
        button = page.locator("#desktop-settings .desktop-enable")
        expect(button).to_be_visible()
        assert page.evaluate("() => window.__permissionRequests") == 0
        button.click()
        page.wait_for_function("() => window.__permissionRequests === 1")
    sound = page.locator("#list-notify-sound")
    expect(sound).not_to_be_checked()
    sound.check()
    shot(page, "notification-settings-ko")
    page.reload()
    wait_list_connected(page)
    expect(page.locator("#list-notify-sound")).to_be_checked()
    assert page.evaluate("() => localStorage.getItem('webchat.notify.sound')") == "on"
