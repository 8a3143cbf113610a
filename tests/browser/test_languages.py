"""Issue 18 in real browsers: the UI in Korean and in English.

A Korean browser (`Accept-Language: ko-KR`, in Asia/Seoul) gets every page in Korean, from
the login page through signing up, a room, chatting, uploads and a kick; on each page no
text is English left untranslated (tests/support/i18n.py). The language switch and the
account page's setting then choose English, which holds across reloads and logins, and
"follow the browser" gives Korean back. Days and times are the reader's: one history read
in Seoul (Korean) and in UTC (English) puts a message at 15:00 UTC under different days.

Screenshots go to test-artifacts/lang-*.png.
"""

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from playwright.sync_api import expect

from ..support.accounts import PASSWORD
from ..support.browser import MOBILE, confirm, log_in, room_id_of, send, shot, wait_connected, wait_list_connected
from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, create_user
from ..support.i18n import untranslated

pytestmark = pytest.mark.browser

KOREAN = {"locale": "ko-KR", "timezone_id": "Asia/Seoul"}
ENGLISH_UTC = {"locale": "en-US", "timezone_id": "UTC"}
SEOUL = ZoneInfo("Asia/Seoul")
WEEKDAYS_KO = "월화수목금토일"
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def korean_day(day):
    """How the chat's day divider reads `day` in Korean: 3월 6일 (금)."""
    return f"{day.month}월 {day.day}일 ({WEEKDAYS_KO[day.weekday()]})"


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (40, 120, 220)).save(out, format="PNG")
    return out.getvalue()


def all_korean(page, name, allow):
    """Screenshot the page as lang-<name> and fail on any English left in it."""
    shot(page, f"lang-{name}")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    problems = untranslated(page, allow)
    assert not problems, f"{name}: " + "\n".join(problems)


def test_korean_from_the_login_page_to_a_kick_then_english(pages, server):
    tag = uuid.uuid4().hex[:6]
    owner_name, guest_name = f"준호{tag}", f"민지{tag}"
    room_name = f"주간 회의 {tag}"
    create_user(server, guest_name)
    allow = {owner_name, guest_name, room_name, "회의록.pdf", "화면.png", "빈파일.txt"}
    _context, page = pages.open("owner", **KOREAN)

    # An anonymous Korean browser: the login page is Korean, and so is signing up.
    page.goto("/rooms")
    expect(page).to_have_url(re.compile(r"/auth/login"))
    expect(page.get_by_role("heading", name="로그인")).to_be_visible()
    expect(page.get_by_label("사용자 이름")).to_be_focused()
    expect(page.locator(".lang-choice[aria-pressed=true]")).to_have_text("한국어")
    all_korean(page, "ko-login", allow)
    page.get_by_role("link", name="계정 만들기").click()
    username = page.locator("#username")
    username.press_sequentially(guest_name.upper())
    expect(page.locator("#username-help")).to_have_text("이미 사용 중인 사용자 이름이에요.")
    username.fill(owner_name)
    expect(page.locator("#username-help")).to_have_text(f"사용할 수 있는 이름이에요: {owner_name}")
    page.get_by_label("비밀번호", exact=True).fill(PASSWORD)
    page.get_by_label("비밀번호 확인").fill(PASSWORD + "?")
    page.get_by_role("button", name="가입하기").click()
    expect(page.locator("#password_confirm-help")).to_have_text("비밀번호가 서로 달라요.")
    all_korean(page, "ko-signup-error", allow)
    page.get_by_label("비밀번호", exact=True).fill(PASSWORD)
    page.get_by_label("비밀번호 확인").fill(PASSWORD)
    page.get_by_role("button", name="가입하기").click()
    expect(page).to_have_url(re.compile(r"/rooms/?$"))
    wait_list_connected(page)
    expect(page.get_by_role("heading", name="내 채팅방")).to_be_visible()
    all_korean(page, "ko-rooms-empty", allow)

    # A room: its notices, counts, day divider and times are Korean.
    page.get_by_label("채팅방 이름").fill(room_name)
    page.get_by_role("radio", name=re.compile("^공개:")).check()
    page.get_by_role("button", name="만들기", exact=True).click()
    expect(page).to_have_url(re.compile(r"/rooms/\d+$"))
    room_id = room_id_of(page)
    wait_connected(page, "연결됨")
    expect(page.locator(".msg.kind-system .system-text")).to_have_text(f"{owner_name}님이 채팅방을 만들었습니다")
    expect(page.locator("#member-count")).to_have_text("멤버 1명")
    expect(page.locator("#online-count")).to_have_text("1명 접속 중")
    today = datetime.now(SEOUL).date()
    expect(page.locator("#message-list .day-divider").first).to_have_text(korean_day(today))
    expect(page.locator(".msg.kind-system .msg-time")).to_have_text(re.compile(r"^(오전|오후) \d{1,2}:\d{2}$"))

    # The guest, in Korean too, finds it from outside, joins, and they talk.
    _guest_context, guest = pages.open("guest", **KOREAN)
    log_in(guest, guest_name)
    guest.goto(f"/rooms/{room_id}")
    expect(guest.locator("main p.muted")).to_have_text("아직 이 채팅방의 멤버가 아니에요. 멤버는 1명이에요.")
    all_korean(guest, "ko-join", allow)
    guest.get_by_role("button", name="채팅방 참여하기").click()
    wait_connected(guest, "연결됨")
    expect(page.locator(".msg.kind-system", has_text=f"{guest_name}님이 입장했습니다")).to_have_count(1)
    expect(page.locator("#member-count")).to_have_text("멤버 2명")
    expect(page.locator("#online-count")).to_have_text("2명 접속 중")
    send(page, "안녕하세요, 회의 자료 올릴게요")
    expect(guest.locator(".msg-body", has_text="회의 자료")).to_have_count(1)
    guest.locator("#composer-input").press_sequentially("네 확인", delay=30)
    expect(page.locator("#typing-indicator")).to_have_text(f"{guest_name}님이 입력 중…")
    guest.locator("#composer-input").press("Enter")
    expect(page.locator(".msg-body", has_text="네 확인")).to_have_count(1)

    # Uploads: a picture, a document, and one the page refuses, all said in Korean.
    page.locator("#file-input").set_input_files(
        [
            {"name": "화면.png", "mimeType": "image/png", "buffer": png_bytes()},
            {"name": "회의록.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES},
            {"name": "빈파일.txt", "mimeType": "text/plain", "buffer": b""},
        ]
    )
    expect(page.locator(".upload.is-failed", has_text="빈파일.txt")).to_contain_text("올리지 못했어요. 빈 파일이에요.")
    expect(guest.locator(".msg-image")).to_have_count(1)
    card = guest.locator(".file-card", has_text="회의록.pdf")
    expect(card.get_by_role("link", name="회의록.pdf 다운로드")).to_be_visible()
    expect(card.locator(".file-icon")).to_have_text("PDF")
    expect(page.locator(".receipt", has_text=f"{guest_name} 읽음")).to_have_count(1)
    all_korean(page, "ko-chat-owner", allow)
    page.locator(".upload.is-failed").get_by_role("button", name="빈파일.txt 알림 닫기").click()

    # Dialogs: deleting (cancelled) and the kick.
    mine = page.locator(".msg.is-own", has_text="회의 자료")
    mine.locator(".msg-bubble").hover()  # Delete is in the message's menu
    mine.get_by_role("button", name="이 메시지 삭제").click()
    expect(page.locator("dialog.confirm-dialog .modal-title")).to_have_text("이 메시지를 삭제할까요?")
    all_korean(page, "ko-delete-dialog", allow)
    confirm(page, "취소")
    page.get_by_role("button", name=f"{guest_name}님 내보내기").click()
    expect(page.locator("dialog.confirm-dialog .modal-title")).to_have_text(f"{guest_name}님을 내보낼까요?")
    confirm(page, "내보내기")
    kicked = f"{owner_name}님이 {guest_name}님을 내보냈습니다"
    expect(page.locator(".msg.kind-system", has_text=kicked)).to_have_count(1)
    expect(page.locator("#member-count")).to_have_text("멤버 1명")
    notice = guest.locator("#chat-notice")
    expect(notice).to_contain_text("이 채팅방에서 내보내졌어요.")
    expect(notice.get_by_role("link", name="내 채팅방 목록으로")).to_be_visible()
    expect(guest.locator("#composer-input")).to_have_attribute("placeholder", "이 채팅방에는 더 이상 글을 쓸 수 없어요")
    all_korean(guest, "ko-chat-kicked", allow)
    all_korean(page, "ko-chat-after-kick", allow)

    # The room list with a room in it, the account page and an error page.
    page.get_by_role("link", name="채팅방", exact=True).click()
    wait_list_connected(page)
    item = page.locator(f"#my-rooms .room-item[data-room-id='{room_id}']")
    expect(item.locator(".room-members")).to_have_text("멤버 1명")
    expect(item.locator(".room-preview")).to_have_text(f"{owner_name}님이 {guest_name}님을 내보냈습니다")
    expect(item.locator(".room-time")).to_have_text(re.compile(r"^(지금|\d+분 전)$"))
    all_korean(page, "ko-rooms", allow)
    page.get_by_role("link", name="계정").click()
    expect(page.get_by_role("heading", name="계정", exact=True)).to_be_visible()
    expect(page.get_by_role("radio", name="브라우저 설정 따르기")).to_be_checked()
    all_korean(page, "ko-account", allow)
    page.goto("/rooms/999999")
    expect(page.locator("#error-heading")).to_be_visible()
    expect(page.get_by_role("link", name="내 채팅방 목록으로")).to_be_visible()
    expect(page.locator(".error-code")).to_have_text("오류 코드 ROOM_NOT_FOUND")
    all_korean(page, "ko-error", allow)

    # The switch at the foot of the page: English, here and after a reload.
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/rooms/999999$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="This room is not available.")).to_be_visible()
    page.goto(f"/rooms/{room_id}")
    wait_connected(page)
    expect(page.locator(".msg.kind-system", has_text=f"{guest_name} was removed by {owner_name}")).to_have_count(1)
    page.reload()
    wait_connected(page)
    expect(page.locator("#member-count")).to_have_text("1 member")
    shot(page, "lang-en-chat-after-switch")
    # ... and across logging out and in again (the browser remembers it).
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    log_in(page, owner_name)
    expect(page.get_by_role("heading", name="Your rooms")).to_be_visible()

    # The account page: following the browser again is Korean; choosing English is the
    # user's own, which a fresh Korean browser then gets too.
    page.get_by_role("link", name="Account").click()
    page.get_by_role("radio", name="Follow the browser").check()
    page.get_by_role("button", name="Save language").click()
    expect(page.locator(".flash")).to_have_text("언어 설정을 저장했어요.")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    page.get_by_role("radio", name="English").check()
    page.get_by_role("button", name="언어 저장").click()
    expect(page.locator(".flash")).to_have_text("Language saved.")
    expect(page.get_by_role("radio", name="English")).to_be_checked()
    _fresh_context, fresh = pages.open("fresh", **KOREAN)
    fresh.goto("/auth/login")
    expect(fresh.locator("html")).to_have_attribute("lang", "ko")
    log_in(fresh, owner_name)
    expect(fresh.locator("html")).to_have_attribute("lang", "en")
    expect(fresh.get_by_role("heading", name="Your rooms")).to_be_visible()


def test_days_and_times_are_the_readers(pages, server):
    """One history: a message at 15:00 UTC is on the next day for a reader in Seoul, and on
    the same day in UTC; times read 오후 3:07 and 6:07 AM; the room list says 5분 전."""
    owner, token = api_user(server, f"시간{uuid.uuid4().hex[:6]}")
    room = api(server, token, "POST", "/rooms", json={"name": "Timezones 시간대", "type": "public"}).json()["room"]
    sock = ChatClient(server, token).connect()
    try:
        for body in ("before midnight", "at midnight in Seoul", "afternoon in Seoul", "five minutes ago"):
            sent = {"room_id": room["id"], "body": body, "client_id": str(uuid.uuid4())}
            assert sock.call("send_message", sent)["ok"]
    finally:
        sock.close()
    # Two days before Seoul's today (after it, early in January: the year stays this one).
    today = datetime.now(SEOUL).date()
    day = today - timedelta(days=2) if today.timetuple().tm_yday > 3 else today + timedelta(days=3)
    at = lambda d, h, m: datetime(d.year, d.month, d.day, h, m, tzinfo=UTC)  # noqa: E731
    now = datetime.now(UTC)
    times = {  # seq -> when: the room's "created" notice, then the four messages
        1: at(day, 14, 0),
        2: at(day, 14, 30),
        3: at(day, 15, 0),
        4: at(day + timedelta(days=1), 6, 7),
        5: now - timedelta(minutes=5, seconds=10),
    }
    for seq, when in times.items():
        server.database.execute(
            "UPDATE messages SET created_at = ? WHERE room_id = ? AND seq = ?",
            when.replace(tzinfo=None).isoformat(sep=" "),
            room["id"],
            seq,
        )

    bodies = {2: "before midnight", 3: "at midnight in Seoul", 4: "afternoon in Seoul", 5: "five minutes ago"}

    def first_of_each_day(page):
        """[divider, body or notice] of each message that opens a day, as the page shows them."""
        return page.eval_on_selector_all(
            "#message-list > li.msg:has(> .day-divider)",
            """items => items.map(li =>
            [li.querySelector('.day-divider').textContent, li.querySelector('.msg-body, .system-text').textContent])""",
        )

    def days_in(zone, label, notice):
        """What first_of_each_day should be for a reader in `zone`."""
        opening, last = [], None
        for seq, when in sorted(times.items()):
            local = when.astimezone(zone).date()
            if local != last:
                opening.append([label(local), bodies.get(seq, notice)])
                last = local
        return opening

    _seoul_context, seoul = pages.open("seoul", **KOREAN)
    log_in(seoul, owner["username"])
    item = seoul.locator(f"#my-rooms .room-item[data-room-id='{room['id']}']")
    expect(item.locator(".room-time")).to_have_text("5분 전")
    shot(seoul, "lang-ko-rooms-relative")
    seoul.goto(f"/rooms/{room['id']}")
    wait_connected(seoul, "연결됨")
    expect(seoul.locator("#message-list > li.msg")).to_have_count(5)
    seoul_days = days_in(SEOUL, korean_day, f"{owner['username']}님이 채팅방을 만들었습니다")
    assert first_of_each_day(seoul) == seoul_days
    # The message at 15:00 UTC opens the next day in Seoul, not the one before it.
    assert [korean_day(day + timedelta(days=1)), "at midnight in Seoul"] in seoul_days
    expect(seoul.locator(".msg", has_text="afternoon in Seoul").locator(".msg-time")).to_have_text("오후 3:07")
    expect(seoul.locator(".msg", has_text="at midnight in Seoul").locator(".msg-time")).to_have_text("오전 12:00")
    shot(seoul, "lang-ko-days-seoul")
    # The same on a phone: the footer's switch leaves the chat its height.
    _phone_context, phone = pages.open("seoul-phone", **KOREAN, **MOBILE)
    log_in(phone, owner["username"])
    phone.goto(f"/rooms/{room['id']}")
    wait_connected(phone, "연결됨")
    expect(phone.locator(".lang-switch")).to_be_in_viewport()
    expect(phone.locator("#composer-input")).to_be_in_viewport()
    shot(phone, "lang-ko-days-seoul-mobile")

    _utc_context, utc = pages.open("utc", **ENGLISH_UTC)
    log_in(utc, owner["username"])
    expect(utc.locator(f"#my-rooms .room-item[data-room-id='{room['id']}'] .room-time")).to_have_text("5 minutes ago")
    utc.goto(f"/rooms/{room['id']}")
    wait_connected(utc)
    expect(utc.locator("#message-list > li.msg")).to_have_count(5)  # open_room's page, rendered
    utc_days = days_in(UTC, lambda d: f"{d:%a, %B} {d.day}", f"{owner['username']} created the room")
    assert first_of_each_day(utc) == utc_days
    assert all(body != "at midnight in Seoul" for _label, body in utc_days)
    expect(utc.locator(".msg", has_text="afternoon in Seoul").locator(".msg-time")).to_have_text("6:07 AM")
    shot(utc, "lang-en-days-utc")
