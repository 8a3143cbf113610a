"""Issue 21 in a real browser: the header's search box (Ctrl+K and /), results grouped
by room with sender, time and the match highlighted, the filter chips, the empty and
loading states, and a hit 5,000 messages back opened in its room: the page loads a
window around it (not the 5,000 between), marks it, pages down towards the latest as
the reader scrolls, and jumps to the latest at once. Screenshots in Korean go to
test-artifacts/.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from ..support.browser import log_in, shot, wait_connected, wait_list_connected
from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, unique_name

pytestmark = pytest.mark.browser

KOREAN = {"locale": "ko-KR", "extra_http_headers": {"Accept-Language": "ko-KR,ko;q=0.9"}}
FILLERS = 5000


def sock_send(sock, room, body, client_id):
    ack = sock.call("send_message", {"room_id": room["id"], "body": body, "client_id": client_id})
    assert ack["ok"], ack
    return ack["message"]


def bury(server, room, sender, count):
    """`count` messages from `sender` after the room's last one, written straight into
    the database (sending 5,000 would take most of a minute): seq and rev continue the
    room's counters, as the server's own writes do."""
    (last_seq, last_rev), *_ = server.database.query("SELECT last_seq, last_rev FROM rooms WHERE id = ?", room["id"])
    start = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        (
            room["id"],
            last_seq + i,
            last_rev + i,
            sender["id"],
            "text",
            f"잡담 {i:04d} 🙂",
            (start + timedelta(milliseconds=i)).isoformat(sep=" "),
        )
        for i in range(1, count + 1)
    ]
    server.database.execute_many(
        "INSERT INTO messages (room_id, seq, rev, sender_id, kind, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    server.database.execute(
        "UPDATE rooms SET last_seq = ?, last_rev = ?, counted_messages = counted_messages + ? WHERE id = ?",
        last_seq + count,
        last_rev + count,
        count,
        room["id"],
    )


def loaded_seqs(page):
    return page.eval_on_selector_all(
        "#message-list > li.msg[data-seq]", "items => items.map(li => Number(li.dataset.seq))"
    )


def test_search_from_the_header_and_open_a_hit_far_back(pages, server):
    a_user, a_token = api_user(server, unique_name("지민"))
    b_user, b_token = api_user(server, unique_name("bob"))
    team = api(server, a_token, "POST", "/rooms", json={"name": "디자인팀", "type": "public"}).json()["room"]
    other = api(server, a_token, "POST", "/rooms", json={"name": "총무팀", "type": "public"}).json()["room"]
    for room in (team, other):
        assert api(server, b_token, "POST", f"/rooms/{room['id']}/join").status_code == 200
    mine = ChatClient(server, a_token).connect()
    theirs = ChatClient(server, b_token).connect()
    try:
        hit = sock_send(mine, team, "내일 회의실예약 확인 부탁해요 📅", "hit")
        sock_send(theirs, other, "예약은 제가 할게요", "other-room")
        sock_send(theirs, team, "점심 메뉴 정해요", "noise")
    finally:
        mine.close()
        theirs.close()
    bury(server, team, b_user, FILLERS)

    _context, page = pages.open("A", **KOREAN)
    log_in(page, a_user["username"])

    # "/" from the room list focuses the header's box; Enter searches.
    wait_list_connected(page)  # its scripts are running
    page.locator("body").press("/")
    box = page.locator("#site-search")
    expect(box).to_be_focused()
    box.fill("예약")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=%EC%98%88%EC%95%BD$"))
    results = page.locator("#search-results")
    expect(results.locator(".search-group")).to_have_count(2)
    expect(page.locator("#search-status")).to_have_text("메시지 2개를 찾았어요")
    # Grouped by room, the room of the newest hit first; each hit with sender, time and the match marked.
    expect(results.locator(".search-group-title a")).to_have_text(["총무팀", "디자인팀"])
    team_hit = results.locator(f".search-group[data-room-id='{team['id']}'] .search-hit")
    expect(team_hit.locator(".search-hit-sender")).to_have_text(a_user["username"])
    expect(team_hit.locator(".search-hit-time")).not_to_be_empty()
    expect(team_hit.locator("mark")).to_have_text("예약")
    expect(team_hit.locator(".search-hit-text")).to_have_text("내일 회의실예약 확인 부탁해요 📅")
    shot(page, "search-results-ko")

    # A chip narrows the search, shows as pressed and goes into the query (and the URL).
    page.locator(".filter-chip", has_text="내가 보낸 메시지").click()
    expect(box).to_have_value(f"예약 from:{a_user['username']}")
    expect(page.locator(".filter-chip", has_text="내가 보낸 메시지")).to_have_attribute("aria-pressed", "true")
    expect(results.locator(".search-group")).to_have_count(1)
    expect(page.locator("#search-status")).to_have_text("메시지 1개를 찾았어요")
    # A filter typed into the query shows as a chip that takes it out again.
    box.fill("예약 after:2020-01-01")
    box.press("Enter")
    removable = page.locator("#search-active .filter-chip")
    expect(removable).to_have_text(re.compile("2020-01-01 이후"))
    expect(results.locator(".search-hit")).to_have_count(2)
    removable.click()
    expect(box).to_have_value("예약")

    # The empty state says what found nothing.
    box.fill("없는단어")
    box.press("Enter")
    expect(results.locator(".search-empty-title")).to_have_text("“없는단어”에 맞는 메시지가 없어요.")
    shot(page, "search-empty-ko")
    # Back returns to the earlier search.
    page.go_back()
    expect(box).to_have_value("예약")
    expect(results.locator(".search-hit")).to_have_count(2)

    # Ctrl+K from the chat page, then the hit 5,000 messages back opens its room there.
    team_hit.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/rooms/{team['id']}\?seq={hit['seq']}$"))
    wait_connected(page, "연결됨")
    target = page.locator(f"#message-list > li.msg[data-seq='{hit['seq']}']")
    expect(target).to_have_class(re.compile(r"\bis-hit\b"))
    expect(target).to_be_in_viewport()
    seqs = loaded_seqs(page)
    assert len(seqs) <= 100, f"a window around the hit, not the {FILLERS} after it: {len(seqs)} loaded"
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), "the window has no holes"
    jump = page.locator("#new-messages")
    expect(jump).to_be_visible()
    expect(jump).to_contain_text("최신 메시지로 이동")
    shot(page, "search-hit-in-room-ko")

    # Scrolling down pages towards the latest, without holes.
    top_before = max(seqs)
    page.locator("#message-scroller").evaluate("s => { s.scrollTop = s.scrollHeight; }")
    expect(page.locator(f"#message-list > li.msg[data-seq='{top_before + 1}']")).to_have_count(1)
    seqs = loaded_seqs(page)
    assert seqs == list(range(seqs[0], seqs[-1] + 1))

    # The button: straight to the latest messages.
    jump.click()
    ((last,),) = server.database.query("SELECT last_seq FROM rooms WHERE id = ?", team["id"])
    expect(page.locator(f"#message-list > li.msg[data-seq='{last}']")).to_be_in_viewport()
    expect(jump).to_be_hidden()
    assert len(loaded_seqs(page)) <= 100

    # Ctrl+K works from the chat page too, even with the composer focused.
    page.locator("#composer-input").focus()
    page.keyboard.press("Control+k")
    expect(box).to_be_focused()


def test_search_page_in_english_explains_and_reports_bad_queries(pages, server):
    user, _token = api_user(server, unique_name("eve"))
    _context, page = pages.open("E", locale="en-US")
    log_in(page, user["username"])
    page.goto("/search")
    expect(page.locator("#search-status")).to_have_text("Type a word, or pick a filter.")
    expect(page.locator("#search-help")).to_have_attribute("open", "")
    expect(page.locator("#site-search")).to_be_focused()
    # While the server answers: the loading state.
    held = []
    page.route("**/api/v1/search?*", lambda route: held.append(route))
    page.locator("#site-search").fill("report")
    page.locator("#site-search").press("Enter")
    expect(page.locator("#search-status")).to_have_text("Searching…")
    expect(page.locator("#search-results")).to_have_attribute("aria-busy", "true")
    expect(page.locator("#search-page")).to_have_class(re.compile(r"\bis-loading\b"))
    held[0].continue_()
    page.unroute("**/api/v1/search?*")
    expect(page.locator("#search-results")).to_have_attribute("aria-busy", "false")
    expect(page.locator(".search-empty-title")).to_have_text("No messages match “report”.")
    # A query of only punctuation is the server's VALIDATION_ERROR, shown in words.
    page.locator("#site-search").fill('"" -')
    page.locator("#site-search").press("Enter")
    expect(page.locator("#search-status")).to_have_text(re.compile(r"\S"))
    expect(page.locator("#search-results .search-hit")).to_have_count(0)
    shot(page, "search-help-en")
