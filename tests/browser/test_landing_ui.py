"""Issue 22, landing, in a real browser: a room opens at my first unread message with the
"New messages" divider above it (80 unread: further back than the latest page), the
button back up to it once I scrolled on, the "N new" button instead of a moving page
while I am scrolled up, and coming back to a room where I left it.
"""

import re

import pytest
from playwright.sync_api import expect

from ..support.browser import log_in, shot, wait_connected
from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, unique_name

pytestmark = pytest.mark.browser

KOREAN = {"locale": "ko-KR", "extra_http_headers": {"Accept-Language": "ko-KR,ko;q=0.9"}}


def sock_send_many(server, token, room, bodies, prefix):
    sock = ChatClient(server, token).connect()
    try:
        sent = []
        for i, body in enumerate(bodies):
            ack = sock.call("send_message", {"room_id": room["id"], "body": body, "client_id": f"{prefix}{i}"})
            assert ack["ok"], ack
            sent.append(ack["message"])
        return sent
    finally:
        sock.close()


def seqs(page):
    return page.eval_on_selector_all(
        "#message-list > li.msg[data-seq]", "items => items.map(li => Number(li.dataset.seq))"
    )


def top_message(page):
    """The seq of the first message whose bottom is inside the scroller's view."""
    return page.locator("#message-scroller").evaluate(
        """s => {
          const top = s.getBoundingClientRect().top;
          const li = [...s.querySelectorAll('#message-list > li.msg[data-seq]')]
            .find(node => node.getBoundingClientRect().bottom > top + 1);
          return li ? Number(li.dataset.seq) : null;
        }"""
    )


def open_room(page, room, text="연결됨"):
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page, text)


def test_a_room_opens_at_the_first_of_80_unread(pages, server):
    a_user, a_token = api_user(server, unique_name("수아"))
    b_user, b_token = api_user(server, unique_name("bob"))
    room = api(server, a_token, "POST", "/rooms", json={"name": "안 읽은 메시지", "type": "public"}).json()["room"]
    assert api(server, b_token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    read = sock_send_many(server, b_token, room, [f"읽은 것 {i}" for i in range(1, 31)], "read")

    _context, page = pages.open("A", **KOREAN)
    log_in(page, a_user["username"])
    open_room(page, room)
    # Read them all: down to the last, and the pointer follows.
    expect(page.locator("#message-list > li.unread-divider")).to_have_count(1)
    page.locator("#message-scroller").evaluate("s => { s.scrollTop = s.scrollHeight; }")
    expect(page.locator("#message-list > li.msg", has_text="읽은 것 30")).to_be_in_viewport()
    pointer = None
    for _ in range(50):
        ((pointer,),) = server.database.query(
            "SELECT last_read_seq FROM memberships WHERE room_id = ? AND user_id = ?", room["id"], a_user["id"]
        )
        if pointer == read[-1]["seq"]:
            break
        page.wait_for_timeout(100)
    assert pointer == read[-1]["seq"]
    page.goto("/rooms")

    unread = sock_send_many(server, b_token, room, [f"새 소식 {i:02d}" for i in range(1, 81)], "new")
    assert unread[0]["seq"] == pointer + 1
    open_room(page, room)
    divider = page.locator("#message-list > li.unread-divider")
    expect(divider).to_have_count(1)
    expect(divider).to_be_in_viewport()
    first = page.locator(f"#message-list > li.msg[data-seq='{unread[0]['seq']}']")
    expect(first).to_be_in_viewport()
    assert page.evaluate(
        "() => document.querySelector('#message-list > li.unread-divider').nextElementSibling.dataset.seq"
    ) == str(unread[0]["seq"]), "the divider sits right above the first unread message"
    assert top_message(page) <= unread[0]["seq"], "the first unread is at the top of the view, not scrolled past"
    assert max(seqs(page)) < unread[-1]["seq"], "a window at the first unread, not the latest page"
    expect(page.locator("#new-messages")).to_contain_text("최신 메시지로 이동")
    shot(page, "landing-first-unread-ko")

    # Reading on, the divider goes above the view: a button leads back up to it.
    scroller = page.locator("#message-scroller")
    scroller.evaluate("s => { s.scrollTop += s.clientHeight; }")
    back_up = page.locator("#first-unread")
    expect(back_up).to_be_visible()
    expect(back_up).to_have_text(re.compile("첫 번째 안 읽은 메시지|First unread"))
    back_up.click()
    expect(divider).to_be_in_viewport()
    expect(back_up).to_be_hidden()

    # Reading down to the end pages in the rest, without holes; then the button is done.
    last = page.locator(f"#message-list > li.msg[data-seq='{unread[-1]['seq']}']")
    for _ in range(8):
        if last.count():
            break
        scroller.evaluate("s => { s.scrollTop = s.scrollHeight; }")
        page.wait_for_timeout(200)
    expect(last).to_have_count(1)
    loaded = seqs(page)
    assert loaded == list(range(loaded[0], loaded[-1] + 1)), "no holes between the window and the latest"
    scroller.evaluate("s => { s.scrollTop = s.scrollHeight; }")
    expect(page.locator("#new-messages")).to_be_hidden()
    scroller.evaluate("s => { s.scrollTop = s.scrollHeight - s.clientHeight - 300; }")
    expect(back_up).to_be_hidden()


def scroll_up_to(page, text):
    """Page older messages in until `text` is loaded, then put it at the top of the view."""
    scroller = page.locator("#message-scroller")
    target = page.locator("#message-list > li.msg", has_text=text)
    for _ in range(8):
        if target.count():
            break
        scroller.evaluate("s => { s.scrollTop = 0; }")
        page.wait_for_timeout(250)
    expect(target).to_have_count(1)
    target.evaluate(
        """li => {
          const s = document.getElementById('message-scroller');
          s.scrollTop += li.getBoundingClientRect().top - s.getBoundingClientRect().top;
        }"""
    )
    page.wait_for_timeout(500)  # the place is saved a moment after scrolling stops
    return target


def test_new_messages_wait_below_and_a_room_reopens_where_i_left_it(pages, server):
    a_user, a_token = api_user(server, unique_name("eve"))
    b_user, b_token = api_user(server, unique_name("bob"))
    room = api(server, a_token, "POST", "/rooms", json={"name": "Place", "type": "public"}).json()["room"]
    other = api(server, a_token, "POST", "/rooms", json={"name": "Other", "type": "public"}).json()["room"]
    assert api(server, b_token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    history = sock_send_many(server, b_token, room, [f"line {i:03d}" for i in range(1, 121)], "h")
    seq_040 = history[39]["seq"]
    # All read already (on another device, say): the room opens at the bottom.
    read = api(server, a_token, "POST", f"/rooms/{room['id']}/read", json={"message_id": history[-1]["id"]})
    assert read.status_code == 200

    _context, page = pages.open("A", locale="en-US")
    log_in(page, a_user["username"])
    open_room(page, room, "Connected")
    expect(page.locator("#message-list > li.msg", has_text="line 120")).to_be_in_viewport()
    expect(page.locator("#message-list > li.unread-divider")).to_have_count(0)
    scroll_up_to(page, "line 040")
    assert top_message(page) == seq_040
    loaded = seqs(page)
    assert loaded == list(range(loaded[0], loaded[-1] + 1)), "older pages joined without holes"

    # While I am up here, new messages wait below behind the button; the view stays.
    sock_send_many(server, b_token, room, ["fresh 1", "fresh 2", "fresh 3"], "f")
    expect(page.locator("#new-messages")).to_contain_text("3 new messages")
    assert top_message(page) == seq_040

    # Away and back with those three unread: the room opens at them, below the divider.
    page.goto(f"/rooms/{other['id']}")
    wait_connected(page, "Connected")
    open_room(page, room, "Connected")
    expect(page.locator("#message-list > li.unread-divider")).to_be_in_viewport()
    expect(page.locator("#message-list > li.msg", has_text="fresh 1")).to_be_in_viewport()

    # Nothing unread now: up to line 040 again, away, and back: there again, far back as it is.
    target = scroll_up_to(page, "line 040")
    page.goto(f"/rooms/{other['id']}")
    wait_connected(page, "Connected")
    open_room(page, room, "Connected")
    expect(target).to_be_in_viewport()
    assert top_message(page) == seq_040
    expect(page.locator("#new-messages")).to_contain_text("Jump to the latest messages")
    shot(page, "landing-restored-place-en")
