"""Writing in real Chromium (issue 22, parts 2 and 3 and three bugs of part 7): Korean input
through the DevTools protocol's IME (`Input.imeSetComposition`, `Input.insertText`) and,
for the orders CDP cannot make (Chrome with a real Korean IME, Safari), through
synthetic composition and key events; drafts per room that survive a room switch, a
reload and a logout, never reach another user of the browser, and go when the send is
acked; and the lightbox, invite and focus bugs. What was stored is read through the API.

Pages come from `Pages`: any console error (a Content-Security-Policy violation is one),
script error or native dialog fails the test.
"""

import io
import json
import re

import pytest
import requests
from PIL import Image
from playwright.sync_api import expect

from ..support.accounts import PASSWORD
from ..support.browser import MOBILE, log_in, shot, wait_connected
from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, unique_name
from ..support.polling import wait_until

pytestmark = pytest.mark.browser

KOREAN = {"locale": "ko-KR", "extra_http_headers": {"Accept-Language": "ko-KR,ko;q=0.9"}}
ENGLISH = {"locale": "en-US", "extra_http_headers": {"Accept-Language": "en-US,en;q=0.9"}}
CONNECTED = {"ko-KR": "연결됨", "en-US": "Connected"}


def public_room(server, owner_token, *members, name="입력 테스트"):
    room = api(server, owner_token, "POST", "/rooms", json={"name": name, "type": "public"}).json()["room"]
    for _user, token in members:
        assert api(server, token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    return room


def open_room(page, room, locale="ko-KR"):
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page, CONNECTED[locale])


def fresh_token(server, user):
    """An access token for `user` now (logging out revokes the ones they had)."""
    response = requests.post(
        f"{server.url}/api/v1/auth/token", json={"username": user["username"], "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def texts_by(server, token, room, user):
    """The bodies of `user`'s stored text messages in `room`, oldest first (the API's word)."""
    response = api(server, token, "GET", f"/rooms/{room['id']}/messages")
    assert response.status_code == 200, response.text
    messages = response.json()["messages"]
    return [m["body"] for m in messages if m["kind"] == "text" and (m["sender"] or {}).get("id") == user["id"]]


def sent_then_marker(page, server, token, room, user, expected):
    """Send a marker with a plain Enter: once it is stored, whatever came before it has
    been sent (the outbox keeps the order), so `expected` then the marker is all there is."""
    marker = unique_name("끝")
    box = page.locator("#composer-input")
    box.fill(marker)
    box.press("Enter")
    expect(page.locator("#message-list > li.msg:not(.is-pending) .msg-body", has_text=marker)).to_have_count(1)
    assert texts_by(server, token, room, user)[-len(expected) - 1 :] == [*expected, marker]


def compose(cdp, *steps):
    """What a Korean (or Japanese) IME shows while a syllable (a word) is being composed."""
    for text in steps:
        cdp.send("Input.imeSetComposition", {"text": text, "selectionStart": len(text), "selectionEnd": len(text)})


def committed(box):
    """Wait until the composition in `box` has ended (its compositionend has fired)."""
    expect(box).to_have_attribute("data-test-composition", "ended")
    box.evaluate("box => { delete box.dataset.testComposition; }")


def watch_compositions(page):
    """Mark each box whose composition ends, for `committed`."""
    page.evaluate(
        """() => document.addEventListener('compositionend', (event) => {
             event.target.dataset.testComposition = 'ended'; }, true)"""
    )


# The sequences CDP cannot make, as the browsers fire them (lib/enterkey.js lists them).
# Each returns whether the browser's default of each Enter keydown was prevented.
SEQUENCES = """(box, [order, syllable]) => {
  const fire = (event) => { box.dispatchEvent(event); return event.defaultPrevented; };
  const key = (type, init) => new KeyboardEvent(type, { bubbles: true, cancelable: true, ...init });
  const composition = (type, data) => new CompositionEvent(type, { bubbles: true, data });
  const prevented = [];
  box.focus();
  fire(composition("compositionstart", ""));
  fire(composition("compositionupdate", syllable));
  box.value += syllable;
  if (order === "chrome-korean-ime") {
    // keydown 229 while composing, the IME commits, then the same Enter again as keyCode 13.
    prevented.push(fire(key("keydown", { key: "Process", code: "Enter", keyCode: 229, isComposing: true })));
    fire(composition("compositionend", syllable));
    prevented.push(fire(key("keydown", { key: "Enter", code: "Enter", keyCode: 13 })));
  } else {
    // Safari: the composition ends first, then a keydown 229 that is not composing.
    fire(composition("compositionend", syllable));
    prevented.push(fire(key("keydown", { key: "Enter", code: "Enter", keyCode: 229 })));
  }
  fire(key("keyup", { key: "Enter", code: "Enter", keyCode: 13 }));
  return prevented;
}"""


def test_korean_enter_sends_the_whole_syllable_once(pages, server):
    a_user, a_token = api_user(server, unique_name("입력"))
    room = public_room(server, a_token)
    _ac, a = pages.open("A", **KOREAN)
    log_in(a, a_user["username"])
    open_room(a, room)
    box = a.locator("#composer-input")
    cdp = a.context.new_cdp_session(a)
    watch_compositions(a)

    # Hangul composing, Enter: no new line, one message with the last syllable in it.
    box.focus()
    cdp.send("Input.insertText", {"text": "회의는 세 시에 "})
    compose(cdp, "ㅎ", "하", "한")
    expect(box).to_have_value("회의는 세 시에 한")
    box.press("Enter")
    mine = a.locator("#message-list > li.msg:not(.is-pending) .msg-body")
    expect(mine).to_have_text(["회의는 세 시에 한"])
    expect(box).to_have_value("")
    sent_then_marker(a, server, a_token, room, a_user, ["회의는 세 시에 한"])

    # A whole word committed by insertText (an IME's commit), then Enter: sent as written.
    box.focus()
    compose(cdp, "ㅇ", "아", "안")
    cdp.send("Input.insertText", {"text": "안녕하세요"})
    expect(box).to_have_value("안녕하세요")
    box.press("Enter")
    expect(box).to_have_value("")
    sent_then_marker(a, server, a_token, room, a_user, ["안녕하세요"])

    # Japanese: Enter during the candidate commits it and sends nothing; the next Enter sends.
    box.focus()
    compose(cdp, "にほん", "日本")
    box.press("Enter")
    committed(box)
    expect(box).to_have_value("日本")
    box.press("End")
    cdp.send("Input.insertText", {"text": "語"})
    expect(box).to_have_value("日本語")
    shot(a, "input-japanese-committed-ko")
    box.press("Enter")
    expect(box).to_have_value("")
    sent_then_marker(a, server, a_token, room, a_user, ["日本語"])

    # Shift+Enter is a new line, in the middle of Hangul too; Enter sends both lines.
    box.focus()
    cdp.send("Input.insertText", {"text": "첫 줄"})
    box.press("Shift+Enter")
    compose(cdp, "ㄷ", "두", "둘")
    cdp.send("Input.insertText", {"text": "둘째 줄"})
    expect(box).to_have_value("첫 줄\n둘째 줄")
    box.press("Enter")
    sent_then_marker(a, server, a_token, room, a_user, ["첫 줄\n둘째 줄"])

    # Chrome with a real Korean IME, and Safari: one message each, no new line left.
    for order, start, syllable in [("chrome-korean-ime", "크롬에서 보내", "요"), ("safari", "사파리에서 보내", "요")]:
        box.fill(start)
        prevented = box.evaluate(SEQUENCES, [order, syllable])
        assert all(prevented), (order, prevented)
        expect(box).to_have_value("")
        sent_then_marker(a, server, a_token, room, a_user, [start + syllable])


def test_korean_enter_in_the_edit_box_and_the_mention_list(pages, server):
    a_user, a_token = api_user(server, unique_name("수정"))
    kim, kim_token = api_user(server, unique_name("김민수"))
    room = public_room(server, a_token, (kim, kim_token))
    _ac, a = pages.open("A", **KOREAN)
    log_in(a, a_user["username"])
    open_room(a, room)
    box = a.locator("#composer-input")
    cdp = a.context.new_cdp_session(a)
    watch_compositions(a)
    box.fill("회의는 세 시")
    box.press("Enter")
    row = a.locator("#message-list > li.msg:not(.is-pending)", has=a.locator(".msg-body", has_text="회의는 세 시"))
    expect(row).to_have_count(1)
    row = a.locator(f"#message-list > li[data-id='{row.get_attribute('data-id')}']")
    message_id = int(row.get_attribute("data-id"))

    def body():
        messages = api(server, a_token, "GET", f"/rooms/{room['id']}/messages").json()["messages"]
        return next(m for m in messages if m["id"] == message_id)

    # Up edits it; Hangul composing, Enter: saved once, with the syllable.
    box.press("ArrowUp")
    editor = row.locator("textarea.msg-edit-input")
    expect(editor).to_be_focused()
    editor.press("End")
    cdp.send("Input.insertText", {"text": "에 해"})
    compose(cdp, "ㅇ", "요")
    editor.press("Enter")
    expect(row.locator("textarea")).to_have_count(0)
    expect(row.locator(".msg-body")).to_have_text("회의는 세 시에 해요")
    assert body()["body"] == "회의는 세 시에 해요"
    assert body()["edited_at"]

    # Japanese in the edit box: Enter commits the candidate, nothing is saved yet.
    box.press("ArrowUp")
    expect(editor).to_be_focused()
    editor.press("End")
    compose(cdp, "ですね")
    editor.press("Enter")
    committed(editor)
    expect(editor).to_have_value("회의는 세 시에 해요ですね")
    assert body()["body"] == "회의는 세 시에 해요"
    # Shift+Enter: a new line; the other orders save once too.
    editor.press("Shift+Enter")
    expect(editor).to_have_value("회의는 세 시에 해요ですね\n")
    editor.fill("회의는 네 시로 옮겼어")
    assert all(editor.evaluate(SEQUENCES, ["chrome-korean-ime", "요"]))
    expect(row.locator("textarea")).to_have_count(0)
    expect(row.locator(".msg-body")).to_have_text("회의는 네 시로 옮겼어요")
    assert body()["body"] == "회의는 네 시로 옮겼어요"
    expect(box).to_be_focused()

    # The @ list: Enter while the name's syllable composes picks the person, sends nothing.
    cdp.send("Input.insertText", {"text": "@"})
    compose(cdp, "ㄱ", "기", "김")
    options = a.locator(".composer-field .mention-list [role=option]")
    expect(options).to_have_count(1)
    box.press("Enter")
    expect(box).to_have_value(f"@{kim['username']} ")
    expect(a.locator(".composer-field .mention-list")).to_be_hidden()
    cdp.send("Input.insertText", {"text": "확인 부탁해요"})
    box.press("Enter")
    sent_then_marker(a, server, a_token, room, a_user, [f"@{kim['username']} 확인 부탁해요"])


def draft_keys(page):
    """The keys of the drafts kept in this browser, and what they hold."""
    return json.loads(
        page.evaluate(
            """() => JSON.stringify(Object.fromEntries(Object.keys(localStorage)
                 .filter((key) => key.startsWith('webchat.draft.')).map((key) => [key, JSON.parse(localStorage[key])])))"""
        )
    )


def log_out(page):
    page.locator("#logout-button").click()
    expect(page).to_have_url(re.compile(r"/auth/login"))


def test_drafts_survive_switches_reloads_and_logout_and_stay_private(pages, server):
    a_user, a_token = api_user(server, unique_name("초안"))
    b_user, b_token = api_user(server, unique_name("other"))
    room = public_room(server, a_token, (b_user, b_token), name="초안 방")
    other = public_room(server, a_token, name="다른 방")
    context, a = pages.open("A", **KOREAN)
    log_in(a, a_user["username"])
    open_room(a, room)
    box = a.locator("#composer-input")
    key = f"webchat.draft.{a_user['id']}.{room['id']}"

    # Typed, then off to another room at once (within the save's delay) and back.
    box.press_sequentially("내일 회의 자료는")
    open_room(a, other)
    expect(a.locator("#composer-input")).to_have_value("")
    open_room(a, room)
    expect(box).to_have_value("내일 회의 자료는")
    assert draft_keys(a)[key]["text"] == "내일 회의 자료는"

    # A reload, then a logout and a login of the same user.
    box.press_sequentially(" 공유 폴더에")
    a.reload()
    wait_connected(a, "연결됨")
    expect(box).to_have_value("내일 회의 자료는 공유 폴더에")
    expect(box).to_be_focused()
    shot(a, "input-draft-restored-ko")
    log_out(a)
    log_in(a, a_user["username"])
    open_room(a, room)
    expect(box).to_have_value("내일 회의 자료는 공유 폴더에")

    # Sent and acked: the draft goes, and a reload shows an empty composer.
    box.press("Enter")
    expect(a.locator("#message-list > li.msg:not(.is-pending) .msg-body", has_text="공유 폴더에")).to_have_count(1)
    expect(box).to_have_value("")
    assert texts_by(server, fresh_token(server, a_user), room, a_user) == ["내일 회의 자료는 공유 폴더에"]
    assert key not in draft_keys(a)
    a.reload()
    wait_connected(a, "연결됨")
    expect(box).to_have_value("")

    # A new draft, then B logs in on the same browser: B does not see it, and it is gone.
    box.press_sequentially("A만 보는 초안")
    open_room(a, other)
    assert draft_keys(a)[key]["text"] == "A만 보는 초안"
    log_out(a)
    log_in(a, b_user["username"])
    wait_until(lambda: draft_keys(a) == {}, 10, "another user's drafts to go when they log in")
    open_room(a, room)
    expect(a.locator("#composer-input")).to_have_value("")
    log_out(a)
    log_in(a, a_user["username"])
    open_room(a, room)
    expect(box).to_have_value("")
    context.close()


@pytest.mark.parametrize("outbox_store", [True, False], ids=["indexeddb", "no-indexeddb"])
def test_a_send_the_page_did_not_see_acked_is_not_lost(pages, server, outbox_store):
    a_user, a_token = api_user(server, unique_name("대기"))
    room = public_room(server, a_token, name="대기 방")
    context, a = pages.open("A", **KOREAN)
    if not outbox_store:
        # A browser without IndexedDB: the outbox lives in memory and goes with the tab.
        context.add_init_script("Object.defineProperty(window, 'indexedDB', { value: undefined });")
    log_in(a, a_user["username"])
    open_room(a, room)
    key = f"webchat.draft.{a_user['id']}.{room['id']}"

    # Offline: two sends wait in the outbox, kept in the draft under their client_ids.
    pages.offline.add("A")
    context.set_offline(True)
    expect(a.locator("#connection-status")).not_to_have_attribute("data-state", "connected")
    box = a.locator("#composer-input")
    for text in ["오프라인 첫째", "오프라인 둘째"]:
        box.fill(text)
        box.press("Enter")
    expect(a.locator("#message-list > li.msg.is-pending")).to_have_count(2)
    box.press_sequentially("아직 쓰는 중")
    pending = draft_keys(a)[key]["pending"]
    assert [p["text"] for p in pending] == ["오프라인 첫째", "오프라인 둘째"]

    # The tab is closed before any ack. Meanwhile the first one reached the server after
    # all (here: sent with its client_id by another client of A's), the second did not.
    a.close()
    sock = ChatClient(server, a_token).connect()
    try:
        ack = sock.call(
            "send_message", {"room_id": room["id"], "body": "오프라인 첫째", "client_id": pending[0]["clientId"]}
        )
    finally:
        sock.close()
    assert ack["ok"], ack
    context.set_offline(False)
    pages.offline.discard("A")

    a = context.new_page()
    open_room(a, room)
    if outbox_store:
        # The outbox kept both: it sends them again with their client_ids, so the first is
        # stored once and the second now; the draft gives back only what was being written.
        expect(a.locator("#message-list > li.msg:not(.is-pending) .msg-body", has_text="오프라인 둘째")).to_have_count(
            1
        )
        expect(a.locator("#composer-input")).to_have_value("아직 쓰는 중")
        expect(a.locator("#message-list > li.msg.is-pending")).to_have_count(0)
        assert texts_by(server, a_token, room, a_user) == ["오프라인 첫째", "오프라인 둘째"]
    else:
        # The stored one is done, the lost one is back in the composer, before the text
        # that was being written; nothing was sent twice.
        expect(a.locator("#composer-input")).to_have_value("오프라인 둘째\n아직 쓰는 중")
        assert texts_by(server, a_token, room, a_user) == ["오프라인 첫째"]
        shot(a, "input-draft-lost-send-back-ko")
    assert draft_keys(a)[key]["pending"] == []


def test_the_page_works_without_storage(pages, server):
    a_user, a_token = api_user(server, unique_name("private"))
    room = public_room(server, a_token, name="Private mode")
    context, a = pages.open("A", **ENGLISH)
    # As in a browser whose storage is switched off: every use of localStorage throws.
    context.add_init_script(
        "Object.defineProperty(window, 'localStorage', { get() { throw new DOMException('denied', 'SecurityError'); } });"
    )
    log_in(a, a_user["username"])
    open_room(a, room, "en-US")
    box = a.locator("#composer-input")
    box.press_sequentially("still works")
    box.press("Enter")
    expect(a.locator("#message-list > li.msg:not(.is-pending) .msg-body", has_text="still works")).to_have_count(1)
    assert texts_by(server, a_token, room, a_user) == ["still works"]
    a.reload()
    wait_connected(a)
    expect(box).to_have_value("")


def small_png():
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (40, 120, 220)).save(out, format="PNG")
    return out.getvalue()


def test_typing_in_the_lightbox_goes_to_the_composer(pages, server):
    a_user, a_token = api_user(server, unique_name("viewer"))
    room = public_room(server, a_token, name="Lightbox")
    response = api(
        server, a_token, "POST", f"/rooms/{room['id']}/files", files={"file": ("blue.png", small_png(), "image/png")}
    )
    assert response.status_code == 201, response.text
    _ac, a = pages.open("A", **ENGLISH)
    log_in(a, a_user["username"])
    open_room(a, room, "en-US")
    box = a.locator("#composer-input")
    viewer = a.locator("dialog.image-viewer")

    # Typed while the picture shows: it closes, every character is in the composer, and
    # Enter sends it.
    a.locator(".msg-image-link").click()
    expect(viewer).to_be_visible()
    shot(a, "input-lightbox-open-desktop")
    a.keyboard.type("nice photo!")
    expect(viewer).to_have_count(0)
    expect(box).to_be_focused()
    expect(box).to_have_value("nice photo!")
    a.keyboard.press("Enter")
    expect(a.locator("#message-list > li.msg:not(.is-pending) .msg-body", has_text="nice photo!")).to_have_count(1)
    assert texts_by(server, a_token, room, a_user) == ["nice photo!"]

    # Closed by Escape or by its button: the focus is back in the composer.
    for close in ("Escape", "button"):
        a.locator(".msg-image-link").click()
        expect(viewer).to_be_visible()
        if close == "Escape":
            a.keyboard.press("Escape")
        else:
            viewer.get_by_role("button", name="Close").click()
        expect(viewer).to_have_count(0)
        expect(box).to_be_focused()


def test_one_enter_on_a_suggestion_invites(pages, server):
    owner, owner_token = api_user(server, unique_name("host"))
    guest_name = unique_name("guest")
    api_user(server, guest_name)
    api_user(server, unique_name("guest"))
    room = public_room(server, owner_token, name="Invites")
    _oc, page = pages.open("owner", **ENGLISH)
    log_in(page, owner["username"])
    open_room(page, room, "en-US")

    page.locator(".invite-menu > summary").click()
    box = page.get_by_role("combobox", name="Invite someone to this room")
    box.press_sequentially(guest_name, delay=10)
    option = page.get_by_role("option", name=guest_name, exact=True)
    expect(option).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(page.locator(".invite-status")).to_have_text(f"{guest_name} was invited.")
    members = api(server, owner_token, "GET", "/rooms").json()["rooms"]
    assert next(r for r in members if r["id"] == room["id"])["member_count"] == 2
    expect(page.locator(".msg.kind-system", has_text=f"invited {guest_name}")).to_have_count(1)

    # A suggestion left from an earlier prefix is dropped as soon as the text no longer fits it.
    box.press_sequentially("guest", delay=10)
    expect(page.get_by_role("option")).not_to_have_count(0)
    box.press_sequentially("zzz")
    expect(page.get_by_role("option")).to_have_count(0)


@pytest.mark.parametrize("viewport", ["desktop", "mobile"])
def test_opening_a_room_focuses_the_composer_on_a_desktop_only(pages, server, viewport):
    a_user, a_token = api_user(server, unique_name("focus"))
    room = public_room(server, a_token, name="Focus")
    _ac, a = pages.open("A", **ENGLISH, **(MOBILE if viewport == "mobile" else {}))
    log_in(a, a_user["username"])
    open_room(a, room, "en-US")
    box = a.locator("#composer-input")
    if viewport == "desktop":
        expect(box).to_be_focused()
        a.keyboard.type("typed at once")
        expect(box).to_have_value("typed at once")
    else:
        # A phone: no keyboard popping up over the messages.
        expect(box).not_to_be_focused()
        assert a.evaluate("() => matchMedia('(pointer: coarse)').matches")
    shot(a, f"input-room-opened-{viewport}")
