"""Issue 19 in real browsers: edits in place (Enter saves, Escape cancels, the Up arrow,
"(edited)" live for the other user, the edit history), reactions (live both ways, toggled
off, the full picker, the server's limit), replies (the reply bar, a quote, the jump to an
original 300 messages back, a file as a reply) and the room's change feed (a page that was
offline shows every edit, delete and reaction when it comes back, from one `/changes`
request, without a reload). Screenshots in Korean go to test-artifacts/.

Pages come from `Pages`: any console error (a Content-Security-Policy violation is one),
script error or native dialog fails the test.
"""

import re

import pytest
from playwright.sync_api import expect

from ..support.browser import assert_clean_history, log_in, send, shot, wait_connected
from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, unique_name

pytestmark = pytest.mark.browser

KOREAN = {"locale": "ko-KR", "extra_http_headers": {"Accept-Language": "ko-KR,ko;q=0.9"}}


def room_with(server, owner_token, *others, name="Changes"):
    room = api(server, owner_token, "POST", "/rooms", json={"name": name, "type": "public"}).json()["room"]
    for _user, token in others:
        assert api(server, token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    return room


def open_room(pages, label, user, room, **options):
    context, page = pages.open(label, **options)
    log_in(page, user["username"])
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page, "연결됨" if options.get("locale") == "ko-KR" else "Connected")
    return context, page


def message(page, text):
    """The stored message whose body holds `text` (never one that only quotes it)."""
    return page.locator("#message-list > li.msg:not(.is-pending)", has=page.locator(".msg-body", has_text=text))


def pinned(page, text):
    """The message whose body holds `text` now, found by its id from then on (an editor
    takes the body's place while it is edited)."""
    li = message(page, text)
    expect(li).to_have_count(1)
    return page.locator(f"#message-list > li[data-id='{li.get_attribute('data-id')}']")


def menu(page, li, tool):
    """Show `li`'s menu (hover) and click its `tool` (a .msg-tool class)."""
    li.locator(".msg-bubble").hover()
    li.locator(f".msg-tools .{tool}").click()


def sock_send(sock, room, body, client_id, **extra):
    ack = sock.call("send_message", {"room_id": room["id"], "body": body, "client_id": client_id, **extra})
    assert ack["ok"], ack
    return ack["message"]


def test_edit_in_place_up_arrow_and_history(pages, server):
    a_user, a_token = api_user(server, unique_name("에디터"))
    b_user, b_token = api_user(server, unique_name("reader"))
    room = room_with(server, a_token, (b_user, b_token), name="수정 테스트")
    _ac, a = open_room(pages, "A", a_user, room, **KOREAN)
    _bc, b = open_room(pages, "B", b_user, room, **KOREAN)

    send(a, "회의는 3시에 해요")
    send(a, "자료는 공유 폴더에 있어요")
    first = pinned(a, "회의는 3시에 해요")
    expect(message(b, "자료는 공유 폴더에 있어요")).to_have_count(1)

    # Escape cancels: nothing is sent, the body is as it was.
    menu(a, first, "msg-edit-button")
    editor = first.locator("textarea.msg-edit-input")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("회의는 3시에 해요")
    editor.fill("회의는 취소")
    editor.press("Escape")
    expect(first.locator("textarea")).to_have_count(0)
    expect(first.locator(".msg-body")).to_have_text("회의는 3시에 해요")
    expect(a.locator("#composer-input")).to_be_focused()

    # Enter saves; the other user sees the new body and "(edited)" at once.
    menu(a, first, "msg-edit-button")
    editor.fill("회의는 4시로 옮겼어요")
    shot(a, "message-edit-box-ko")
    editor.press("Enter")
    expect(first.locator("textarea")).to_have_count(0)
    expect(first.locator(".msg-body")).to_have_text("회의는 4시로 옮겼어요")
    b_first = message(b, "회의는 4시로 옮겼어요")
    expect(b_first.locator(".msg-edited")).to_have_text("(수정됨)")
    expect(b_first.locator(".msg-edited")).to_have_attribute("title", re.compile(r"수정됨"))

    # The Up arrow in an empty composer edits my newest message; Shift+Enter is a new line.
    second = pinned(a, "자료는 공유 폴더에 있어요")
    a.locator("#composer-input").press("ArrowUp")
    editor = second.locator("textarea.msg-edit-input")
    expect(editor).to_be_focused()
    editor.press("End")
    editor.press("Shift+Enter")
    editor.press_sequentially("링크도 보낼게요")
    editor.press("Enter")
    expect(message(b, "링크도 보낼게요").locator(".msg-body")).to_have_text(
        "자료는 공유 폴더에 있어요\n링크도 보낼게요"
    )
    expect(message(b, "링크도 보낼게요").locator(".msg-edited")).to_have_count(1)

    # A refusal is shown under the editor, and the editor stays.
    a.locator("#composer-input").press("ArrowUp")
    editor = second.locator("textarea.msg-edit-input")
    editor.fill("   ")
    editor.press("Enter")
    expect(second.locator(".msg-edit-error")).to_have_text("먼저 메시지를 입력하세요.")
    editor.press("Escape")

    # The history: every version, oldest first, with its time.
    b_first.locator(".msg-edited").click()
    dialog = b.locator("dialog.history-dialog")
    expect(dialog.locator(".history-item")).to_have_count(2)
    expect(dialog.locator(".history-body")).to_have_text(["회의는 3시에 해요", "회의는 4시로 옮겼어요"])
    expect(dialog.locator(".history-label")).to_have_text(["원본", "현재"])
    expect(dialog.locator(".history-meta time").first).not_to_be_empty()
    shot(b, "message-edit-history-ko")
    dialog.get_by_role("button", name="닫기").click()
    expect(dialog).to_have_count(0)

    # Others' messages offer no Edit.
    message(b, "회의는 4시로").locator(".msg-bubble").hover()
    expect(message(b, "회의는 4시로").locator(".msg-edit-button")).to_have_count(0)
    assert_clean_history(a)
    assert_clean_history(b)


def test_reactions_live_toggle_picker_and_limit(pages, server):
    a_user, a_token = api_user(server, unique_name("지민"))
    b_user, b_token = api_user(server, unique_name("bob"))
    room = room_with(server, a_token, (b_user, b_token), name="반응 테스트")
    _ac, a = open_room(pages, "A", a_user, room, **KOREAN)
    _bc, b = open_room(pages, "B", b_user, room, **KOREAN)

    send(b, "금요일에 회식 어때요? 🍻")
    a_msg = message(a, "금요일에 회식")
    b_msg = message(b, "금요일에 회식")
    expect(a_msg).to_have_count(1)

    # A reacts from the quick menu; both see it at once.
    menu(a, a_msg, "msg-react-button")
    a_msg.locator(".react-menu .react-quick", has_text="👍").click()
    a_chip = a_msg.locator(".reaction-chip", has_text="👍")
    b_chip = b_msg.locator(".reaction-chip", has_text="👍")
    expect(a_chip).to_have_attribute("aria-pressed", "true")
    expect(a_chip.locator(".reaction-count")).to_have_text("1")
    expect(b_chip).to_have_attribute("aria-pressed", "false")
    expect(b_chip).to_have_attribute("title", re.compile(re.escape(a_user["username"])))

    # B joins in with a click on the chip; A takes theirs back with a click.
    b_chip.click()
    expect(a_chip.locator(".reaction-count")).to_have_text("2")
    expect(b_chip).to_have_attribute("aria-pressed", "true")
    expect(b_chip).to_have_attribute("title", re.compile(re.escape(b_user["username"])))
    a_chip.click()
    expect(b_chip.locator(".reaction-count")).to_have_text("1")
    expect(a_chip).to_have_attribute("aria-pressed", "false")

    # The full picker: our own data, in Korean, and a click reacts.
    menu(a, a_msg, "msg-react-button")
    a_msg.locator(".react-menu .react-more").click()
    picker = a.locator("dialog.picker-dialog emoji-picker")
    expect(picker.locator("button.emoji").first).to_be_visible()
    expect(picker.locator("input.search")).to_have_attribute("placeholder", "이모지 검색")
    picker.locator("input.search").fill("하트")
    expect(picker.locator("#search-results button.emoji").first).to_be_visible()
    shot(a, "reaction-picker-ko")
    chosen = picker.locator("#search-results button.emoji").first
    emoji = chosen.text_content()
    chosen.click()
    expect(a.locator("dialog.picker-dialog")).to_have_count(0)
    expect(b_msg.locator(".reaction-chip", has_text=emoji)).to_have_count(1)
    expect(a_msg.locator(".reaction-chip", has_text=emoji)).to_have_attribute("aria-pressed", "true")
    shot(b, "reaction-bar-ko")

    # Past 50 distinct emoji the server says no, and the page says so.
    sock = ChatClient(server, b_token).connect()
    try:
        distinct = {"👍", emoji}
        for code in range(0x1F600, 0x1F650):
            if len(distinct) >= 50:
                break
            if chr(code) in distinct:
                continue
            distinct.add(chr(code))
            ack = sock.call(
                "react", {"message_id": int(a_msg.get_attribute("data-id")), "emoji": chr(code), "add": True}
            )
            assert ack["ok"], ack
    finally:
        sock.close()
    expect(a_msg.locator(".reaction-chip")).to_have_count(50)
    menu(a, a_msg, "msg-react-button")
    a_msg.locator(".react-menu .react-quick", has_text="🙏").click()
    expect(a_msg.locator(".reaction-error")).to_have_text("이 메시지에는 더 이상 다른 반응을 추가할 수 없어요.")


def test_replies_quote_and_jump_far_back(pages, server, tmp_path):
    a_user, a_token = api_user(server, unique_name("하늘"))
    b_user, b_token = api_user(server, unique_name("bob"))
    room = room_with(server, a_token, (b_user, b_token), name="답장 테스트")
    sock = ChatClient(server, b_token).connect()
    try:
        seeded = [sock_send(sock, room, f"기록 {i:03d}", f"seed{i}") for i in range(1, 321)]
        parent = seeded[4]  # "기록 005", 315 messages back
        last = sock_send(sock, room, "5번 기록 다시 봐 주세요", "far-reply", reply_to=parent["id"])
    finally:
        sock.close()
    # A has read them (a room with unread messages would open at the first of them).
    assert api(server, a_token, "POST", f"/rooms/{room['id']}/read", json={"message_id": last["id"]}).status_code == 200
    _ac, a = open_room(pages, "A", a_user, room, **KOREAN)
    _bc, b = open_room(pages, "B", b_user, room, **KOREAN)

    # A reply to something loaded: the bar, Escape to drop it, then a reply with its quote.
    latest = message(a, "기록 320")
    menu(a, latest, "msg-reply-button")
    bar = a.locator("#reply-bar")
    expect(bar).to_be_visible()
    expect(bar.locator(".reply-bar-label")).to_contain_text(b_user["username"])
    expect(a.locator("#composer-input")).to_be_focused()
    a.locator("#composer-input").press("Escape")
    expect(bar).to_be_hidden()
    menu(a, latest, "msg-reply-button")
    send(a, "320번은 제가 확인했어요")
    expect(bar).to_be_hidden()
    reply = message(b, "320번은 제가 확인했어요")
    expect(reply.locator(".msg-quote .msg-quote-sender")).to_have_text(b_user["username"])
    expect(reply.locator(".msg-quote .msg-quote-text")).to_have_text("기록 320")
    shot(b, "reply-with-quote-ko")

    # A file can answer too.
    menu(a, latest, "msg-reply-button")
    upload = tmp_path / "회의록.txt"
    upload.write_text("회의록", encoding="utf-8")
    a.locator("#file-input").set_input_files(str(upload))
    file_reply = b.locator("#message-list > li.msg.kind-file", has_text="회의록.txt")
    expect(file_reply.locator(".msg-quote-text")).to_have_text("기록 320")
    expect(bar).to_be_hidden()

    # The quote of a message far back: the page loads it and what lies between, and lights it up.
    far = message(a, "5번 기록 다시 봐 주세요")
    expect(a.locator(".msg-body", has_text="기록 005")).to_have_count(0)
    far.locator("button.msg-quote").click()
    original = message(a, "기록 005")
    expect(original).to_be_in_viewport()
    expect(original).to_have_class(re.compile(r"\bis-highlighted\b"))
    seqs = a.eval_on_selector_all(
        "#message-list > li.msg[data-seq]", "items => items.map(li => Number(li.dataset.seq))"
    )
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), "the loaded history has no holes"
    assert seqs[0] <= parent["seq"]
    assert_clean_history(a)
    # Older pages still load above it, and new messages still arrive below.
    send(b, "새 메시지")
    expect(message(a, "새 메시지")).to_have_count(1)


def test_offline_page_catches_up_on_edits_deletes_and_reactions(pages, server):
    a_user, a_token = api_user(server, unique_name("alice"))
    b_user, b_token = api_user(server, unique_name("bob"))
    room = room_with(server, a_token, (b_user, b_token), name="Feed")
    sock = ChatClient(server, b_token).connect()
    try:
        sent = [sock_send(sock, room, f"note {i}", f"note{i}") for i in range(1, 5)]
        a_context, a = pages.open("A")
        changes = []
        a.on("request", lambda r: "/changes?" in r.url and changes.append(r.url))
        log_in(a, a_user["username"])
        a.goto(f"/rooms/{room['id']}")
        wait_connected(a)
        expect(message(a, "note 4")).to_have_count(1)
        for _ in range(100):  # the page's events reach Python only while Playwright waits
            if changes:
                break
            a.wait_for_timeout(100)
        assert len(changes) == 1, changes
        del changes[:]
        a.evaluate("window.__sameDocument = true")

        pages.offline.add("A")
        a_context.set_offline(True)
        expect(a.locator("#connection-status")).not_to_have_attribute("data-state", "connected")
        for index, body in ((0, "note 1, edited"), (1, "note 2, edited")):
            ack = sock.call("edit_message", {"message_id": sent[index]["id"], "body": body})
            assert ack["ok"], ack
        assert sock.call("delete_message", {"message_id": sent[2]["id"]})["ok"]
        ack = sock.call("react", {"message_id": sent[3]["id"], "emoji": "🎉", "add": True})
        assert ack["ok"], ack
        expect(message(a, "note 1, edited")).to_have_count(0)

        a_context.set_offline(False)
        wait_connected(a)
        pages.offline.discard("A")
    finally:
        sock.close()
    expect(message(a, "note 1, edited")).to_have_count(1)
    expect(message(a, "note 2, edited").locator(".msg-edited")).to_have_count(1)
    expect(a.locator(f"#message-list > li[data-id='{sent[2]['id']}'] .msg-body.is-deleted")).to_have_count(1)
    expect(message(a, "note 4").locator(".reaction-chip", has_text="🎉")).to_have_count(1)
    assert len(changes) == 1, changes
    assert re.search(r"after_rev=\d+", changes[0])
    assert a.evaluate("window.__sameDocument") is True, "the page was reloaded"
    assert_clean_history(a)
