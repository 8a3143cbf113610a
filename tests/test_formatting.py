"""Formatting (issue 22): a body is rendered once, when written, from the Markdown subset
into sanitised HTML; raw HTML and every other trick is text. The fast path for plain
messages makes the same HTML as the parser. Stored with the message on SQLite and
MariaDB: sends (one at a time and in a group-commit batch), edits, deletes, uploads, the
migration for older rows; every payload carries it, and reads never render."""

import io
import random
import threading
import time
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from webchat.extensions import db
from webchat.models import Message
from webchat.payloads import message_payload
from webchat.services import accounts, edits, formatting, messages, posting, rooms
from webchat.services.formatting import render, render_markdown, render_plain

from .support.accounts import bearer, login
from .support.xss import MARKDOWN_XSS

A = '<a href="{0}" target="_blank" rel="noopener noreferrer nofollow">{0}</a>'

# (body, its HTML): every construct of the subset, Korean text, and what is left as text.
CASES = [
    ("안녕하세요", "<p>안녕하세요</p>"),
    ("첫 줄\n둘째 줄", "<p>첫 줄<br>\n둘째 줄</p>"),
    ("문단 하나\n\n\n문단 둘", "<p>문단 하나</p>\n<p>문단 둘</p>"),
    ("**굵게** *기울임* _기울임_ ~~취소~~", "<p><strong>굵게</strong> <em>기울임</em> <em>기울임</em> <s>취소</s></p>"),
    ("**중요**합니다", "<p><strong>중요</strong>합니다</p>"),
    ("***둘 다***", "<p><em><strong>둘 다</strong></em></p>"),
    ("`git push` 하세요", "<p><code>git push</code> 하세요</p>"),
    ("``a ` b``", "<p><code>a ` b</code></p>"),
    ("```python\nprint('안녕')\n  x = 1\n```", "<pre><code>print('안녕')\n  x = 1\n</code></pre>"),
    ("~~~\n**not bold**\n~~~", "<pre><code>**not bold**\n</code></pre>"),
    ("> 인용\n> 둘째 줄", "<blockquote>\n<p>인용<br>\n둘째 줄</p>\n</blockquote>"),
    ("> > 겹친 인용", "<blockquote>\n<blockquote>\n<p>겹친 인용</p>\n</blockquote>\n</blockquote>"),
    ("- 사과\n- 배", "<ul>\n<li>사과</li>\n<li>배</li>\n</ul>"),
    ("* 하나\n+ 둘", "<ul>\n<li>하나</li>\n</ul>\n<ul>\n<li>둘</li>\n</ul>"),
    ("1. 첫째\n2. 둘째", "<ol>\n<li>첫째</li>\n<li>둘째</li>\n</ol>"),
    ("3) 셋째", '<ol start="3">\n<li>셋째</li>\n</ol>'),
    ("- 위\n  - 아래", "<ul>\n<li>위\n<ul>\n<li>아래</li>\n</ul>\n</li>\n</ul>"),
    ("https://example.com/a?b=1&c=2", "<p>" + A.format("https://example.com/a?b=1&amp;c=2") + "</p>"),
    ("see http://a.kr/x.", "<p>see " + A.format("http://a.kr/x") + ".</p>"),
    ("(https://a.kr/wiki/A_(b))", "<p>(" + A.format("https://a.kr/wiki/A_(b)") + ")</p>"),
    ("mailto:team@a.kr 로 보내요", "<p>" + A.format("mailto:team@a.kr") + " 로 보내요</p>"),
    # The Hangul stop: after the URL, and before it with nothing between.
    ("https://a.kr/doc에서 보세요", "<p>" + A.format("https://a.kr/doc") + "에서 보세요</p>"),
    ("자료는https://a.kr/x.pdf입니다", "<p>자료는" + A.format("https://a.kr/x.pdf") + "입니다</p>"),
    ("<https://a.kr/doc에서>", "<p>&lt;" + A.format("https://a.kr/doc") + "에서&gt;</p>"),
    ("**https://a.kr/굵게**", "<p><strong>" + A.format("https://a.kr/") + "굵게</strong></p>"),
    ("`https://a.kr/x`", "<p><code>https://a.kr/x</code></p>"),
    ("**@alice** 확인해 주세요", "<p><strong>@alice</strong> 확인해 주세요</p>"),
    ("\\*별표\\* 그대로", "<p>*별표* 그대로</p>"),
    ("감사합니다~ 내일 봬요~~", "<p>감사합니다~ 내일 봬요~~</p>"),
    ("snake_case_name", "<p>snake_case_name</p>"),
    ('그가 "좋아요" 했어요', '<p>그가 "좋아요" 했어요</p>'),
    # Not in the subset: as typed.
    ("# 제목", "<p># 제목</p>"),
    ("a | b\n--|--\n1 | 2", "<p>a | b<br>\n--|--<br>\n1 | 2</p>"),
    ("위\n---", "<p>위<br>\n---</p>"),
    ("***", "<p>***</p>"),
    ("    들여쓴 코드", "<p>들여쓴 코드</p>"),
    ("[문서](https://a.kr/doc)", "<p>[문서](" + A.format("https://a.kr/doc") + ")</p>"),
    ("[r]: https://a.kr\n[r]", "<p>[r]: " + A.format("https://a.kr") + "<br>\n[r]</p>"),
    ("<b>굵게</b> &amp; &lt;", "<p>&lt;b&gt;굵게&lt;/b&gt; &amp;amp; &amp;lt;</p>"),
    ("example.com, me@a.kr, ftp://a.kr, //a.kr", "<p>example.com, me@a.kr, ftp://a.kr, //a.kr</p>"),
    ("", ""),
]


@pytest.mark.parametrize(("body", "html"), CASES)
def test_the_subset(body, html):
    assert render(body) == html


# Each must come out inert: no element but the subset's, no attribute but a link's, no
# address but http, https and mailto.
# The shared corpus, and a NUL before a script (a body the page cannot type).
XSS = [*MARKDOWN_XSS, "\x00<script>alert(1)</script>"]

ALLOWED = {
    "p": set(),
    "br": set(),
    "strong": set(),
    "em": set(),
    "s": set(),
    "code": set(),
    "pre": set(),
    "blockquote": set(),
    "ul": set(),
    "ol": {"start"},
    "li": set(),
    "a": {"href", "rel", "target"},
}


class Elements(HTMLParser):
    """Every start tag of an HTML fragment, with its attributes."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.found = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def assert_inert(html):
    for tag, attrs in Elements(html).found:
        assert tag in ALLOWED, html
        assert set(attrs) <= ALLOWED[tag], html
        if tag == "a":
            href = attrs.get("href")  # none at all when the sanitiser took it away
            assert href is None or href.lower().startswith(("http://", "https://", "mailto:")), html
            assert attrs["rel"] == "noopener noreferrer nofollow" and attrs["target"] == "_blank", html


@pytest.mark.parametrize("body", XSS)
def test_the_xss_corpus_comes_out_inert(body):
    html = render(body)
    assert_inert(html)
    assert "<script" not in html and "<img" not in html and "<svg" not in html


def test_html_in_code_is_escaped_text():
    assert render("`<img src=x onerror=alert(1)>`") == "<p><code>&lt;img src=x onerror=alert(1)&gt;</code></p>"
    assert (
        render("```\n<script>alert(1)</script>\n```")
        == "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;\n</code></pre>"
    )
    assert render("[x](javascript:alert(1))") == "<p>[x](javascript:alert(1))</p>"
    assert render("![i](https://evil.test/x.png)") == "<p>![i](" + A.format("https://evil.test/x.png") + ")</p>"


def test_the_sanitiser_is_a_wall_of_its_own():
    """Were the parser to let markup through, the sanitiser would still keep only the
    subset's tags, links' addresses and their rel and target."""
    dirty = (
        '<p onclick="x()">a<script>alert(1)</script><img src="https://evil.test/x.png">'
        '<a href="javascript:alert(1)">j</a><a href="data:text/html,x">d</a><a href="/relative">r</a>'
        '<a href="https://ok.test" rel="opener" target="_self" style="x">ok</a>'
        '<iframe src="https://evil.test"></iframe><h1>h</h1><table><tr><td>t</td></tr></table></p>'
    )
    clean = formatting._CLEANER.clean(dirty)
    assert_inert(clean)
    link = '<a target="_blank" rel="noopener noreferrer nofollow">{}</a>'
    assert clean == (
        "<p>a"
        + "".join(link.format(text) for text in "jdr")
        + '<a href="https://ok.test" target="_blank" rel="noopener noreferrer nofollow">ok</a></p>ht<p></p>'
    )


# Plain chat, the fast path's own: it must make exactly what the parser makes.
PLAIN = [
    "안녕하세요",
    "ok 👍",
    "내일 오전 10시 회의실예약 확인 부탁해요 (3)",
    "Can we move the standup to 9:30 tomorrow?",
    "PR #1423 리뷰 부탁드립니다 — 로그인 화면 수정이에요",
    "배포는 오후 3시에 진행하고 끝나면 #release 채널에 공유할게요",
    "he said \"yes\" and 'no'",
    "@alice @room 확인 부탁해요",
    "감사합니다~",
    "3-4명 정도 올 것 같아요. 1.5배 더 필요해요!",
    "가격: 10,000원 / 수량: 3개 = 30,000원",
    "{{7*7}}".replace("*", "x"),
    "첫 줄\n둘째 줄\n\n\n셋째 문단",
    "  앞뒤 공백  \n  둘째  ",
    "\n\n위아래 빈 줄\n\n",
    "칸   여러   개",
    "줄 끝 공백 둘  \n다음 줄",
    "   ",
    "[대괄호] (괄호) {중괄호} #해시 !느낌표 ?물음표 =등호 |파이프 $달러 %퍼센트 ^캐럿",
    "- 가운데 줄표는 줄 머리가 아니면 그대로",
    "a.kr, www.a.kr, 010-1234-5678",
    "😀🇰🇷👍🏽👨‍👩‍👧",
]


@pytest.mark.parametrize("body", PLAIN)
def test_the_fast_path_agrees_with_the_parser(body):
    if body.strip() and not body.startswith("-"):
        assert not formatting._NEEDS_PARSER.search(body), "not a fast-path body"
    assert render(body) == render_markdown(body)


def test_the_fast_path_agrees_with_the_parser_on_random_text():
    """Random strings of chat's characters, Markdown's and HTML's: wherever the fast path
    is taken, the parser makes the same HTML."""
    pieces = list("가나다 abc \n\n  .,!?#|=[](){}:;/'\"@$%^-+1234567890~😀") + [
        "\u3000", "\xa0", "\t", "\r", "\x00", "**", "`", "```", "> ", "- ", "1. ", "https://a.kr/x", "mailto:a@b.kr",
        "<b>", "&amp;", "\\", "~~", "_", "#", "---", "===",
    ]  # fmt: skip
    rng = random.Random(22)
    fast = 0
    for _ in range(20_000):
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        if formatting._NEEDS_PARSER.search(body):
            continue
        fast += 1
        assert render_plain(body) == render_markdown(body), repr(body)
    assert fast > 2_000


# --- stored with the message ---------------------------------------------------------


@pytest.fixture
def room(alice, bob):
    room_id = rooms.create_room(alice, "Formatting")["id"]
    rooms.join_room(bob, room_id)
    return room_id


def stored_html(message_id):
    db.session.expire_all()
    return db.session.scalar(sa.select(Message.html).where(Message.id == message_id))


def test_a_send_stores_the_html_and_every_payload_carries_it(app, client, alice, bob, room, connect):
    bob_sock = connect(bob)
    bob_sock.emit("open_room", {"room_id": room}, namespace="/chat", callback=True)
    bob_sock.get_received("/chat")
    ack = connect(alice).emit(
        "send_message",
        {"room_id": room, "body": "**배포** https://ci.a.kr/1에서 확인", "client_id": "f1"},
        namespace="/chat",
        callback=True,
    )
    expected = "<p><strong>배포</strong> " + A.format("https://ci.a.kr/1") + "에서 확인</p>"
    assert ack["ok"] and ack["message"]["html"] == expected
    assert ack["message"]["body"] == "**배포** https://ci.a.kr/1에서 확인"  # the source stays
    assert stored_html(ack["message"]["id"]) == expected
    [event] = [p["args"][0] for p in bob_sock.get_received("/chat") if p["name"] == "new_message"]
    assert event["message"]["html"] == expected

    headers = bearer(bob)
    page = client.get(f"/api/v1/rooms/{room}/messages", headers=headers).get_json()["messages"]
    assert page[-1]["html"] == expected
    assert all(m["html"] == "" for m in page if m["kind"] == "system")
    changes = client.get(f"/api/v1/rooms/{room}/changes?after_rev=0", headers=headers).get_json()["messages"]
    assert changes[-1]["html"] == expected
    [listed] = [r for r in client.get("/api/v1/rooms", headers=headers).get_json()["rooms"] if r["id"] == room]
    assert listed["last_message"]["html"] == expected
    [hit] = client.get("/api/v1/search", query_string={"q": "배포"}, headers=headers).get_json()["results"]
    assert hit["message"]["html"] == expected


def test_the_largest_html_a_body_can_make_is_stored(app_with):
    """A URL of emoji: each one percent-encoded in the link's href and shown in its text,
    about 16 bytes a character, more than MariaDB's TEXT holds at a limit of 5,000."""
    app = app_with(MESSAGE_MAX_LENGTH=5000)
    user = accounts.signup("longurl", "password-long-url")
    room_id = rooms.create_room(user, "Long")["id"]
    body = "https://a.kr/" + "😀" * (app.config["MESSAGE_MAX_LENGTH"] - len("https://a.kr/"))
    message = messages.send_message(user, room_id, body)[0]
    assert len(message.html.encode()) > 65_535
    assert stored_html(message.id) == render(body)


def test_reads_never_render(app, client, alice, bob, room, connect, monkeypatch):
    message = messages.send_message(alice, room, "*한 번만* 그려요")[0]

    def no_rendering(body):
        raise AssertionError("a read rendered a body")

    monkeypatch.setattr(formatting, "render_markdown", no_rendering)
    monkeypatch.setattr(formatting, "render_plain", no_rendering)
    headers = bearer(bob)
    for url in (
        f"/api/v1/rooms/{room}/messages",
        f"/api/v1/rooms/{room}/messages?around_seq=2",
        f"/api/v1/rooms/{room}/changes?after_rev=0",
        "/api/v1/rooms",
        "/api/v1/search?q=그려요",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
    assert login(app.test_client(), bob).get(f"/rooms/{room}").status_code == 200
    ack = connect(bob).emit("open_room", {"room_id": room}, namespace="/chat", callback=True)
    assert ack["ok"] and ack["messages"][-1]["html"] == "<p><em>한 번만</em> 그려요</p>"
    assert message_payload(db.session.get(Message, message.id))["html"] == "<p><em>한 번만</em> 그려요</p>"


def test_the_xss_corpus_is_stored_inert(app, client, alice, bob, room):
    for i, body in enumerate(XSS):
        messages.send_message(alice, room, body, f"x{i}")
    page = client.get(f"/api/v1/rooms/{room}/messages?limit=100", headers=bearer(bob)).get_json()["messages"]
    texts = [m for m in page if m["kind"] == "text"]
    assert [m["body"] for m in texts] == [body.strip() for body in XSS]
    for message in texts:
        assert message["html"] == render(message["body"]) == stored_html(message["id"])
        assert_inert(message["html"])


def test_an_edit_renders_the_new_text_and_the_history_keeps_the_source(app, client, alice, room):
    message = messages.send_message(alice, room, "초안")[0]
    edited = edits.edit_message(alice, message.id, "~~초안~~ **최종**")
    assert edited.html == stored_html(message.id) == "<p><s>초안</s> <strong>최종</strong></p>"
    assert message_payload(edited)["body"] == "~~초안~~ **최종**"
    versions = client.get(f"/api/v1/messages/{message.id}/history", headers=bearer(alice)).get_json()["versions"]
    assert [v["body"] for v in versions] == ["초안", "~~초안~~ **최종**"]
    assert all(set(v) == {"body", "at"} for v in versions)


def test_a_delete_leaves_no_html(app, alice, room):
    message = messages.send_message(alice, room, "**지울** 메시지")[0]
    deleted = messages.delete_message(alice, message.id)
    assert message_payload(deleted)["html"] == "" and message_payload(deleted)["body"] == ""
    assert stored_html(message.id) == ""


def test_system_and_file_messages_have_no_html(app, client, alice, room):
    messages.announce(room, "**공지**: 점검 예정")
    response = client.post(
        f"/api/v1/rooms/{room}/files", data={"file": (io.BytesIO(b"notes"), "**notes**.txt")}, headers=bearer(alice)
    )
    assert response.status_code == 201, response.text
    assert response.get_json()["message"]["html"] == ""
    rows = db.session.execute(sa.select(Message.kind, Message.html).where(Message.room_id == room)).all()
    assert {kind for kind, _ in rows} == {"system", "file"} and all(html == "" for _, html in rows)


def test_a_group_commit_batch_stores_each_posts_own_html(app, make_user, monkeypatch):
    """Posts queued behind a transaction are written in one batch; each keeps its own
    HTML (rendered by its own sender before it queued)."""
    senders = [make_user() for _ in range(5)]
    room_id = rooms.create_room(senders[0], "Batch")["id"]
    for user in senders[1:]:
        rooms.join_room(user, room_id)
    real_write, batches, first = posting._write, [], threading.Event()

    def write(room, posts):
        if not first.is_set():  # hold the first batch until the others queue behind it
            first.set()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and sum(len(p.pending) for p in posting._in_flight.values()) < 4:
                time.sleep(0.005)
        batches.append(len(posts))
        return real_write(room, posts)

    monkeypatch.setattr(posting, "_write", write)
    bodies = ["첫 글", "**둘째**", "`셋째`", "> 넷째", "https://a.kr/5번"]
    ids = [None] * len(bodies)

    def send(i, user_id):
        with app.app_context():
            try:
                ids[i] = messages.send_message(accounts.get_user(user_id), room_id, bodies[i], f"b{i}")[0].id
            finally:
                db.session.remove()

    threads = []
    for i, user in enumerate(senders):
        threads.append(threading.Thread(target=send, args=(i, user.id)))
        threads[-1].start()
        while i == 0 and not posting._in_flight:  # the first leads
            time.sleep(0.001)
    for thread in threads:
        thread.join(30)
    assert batches == [1, 4]
    assert [stored_html(i) for i in ids] == [render(body) for body in bodies]
    assert stored_html(ids[1]) == "<p><strong>둘째</strong></p>"


def test_the_migration_renders_the_stored_rows(app, alice, bob, room):
    plain = messages.send_message(alice, room, "그냥 글")[0]
    formatted = messages.send_message(bob, room, "**굵게** https://a.kr/x에서\n- 목록")[0]
    gone = messages.send_message(alice, room, "*지운 글*")[0]
    messages.delete_message(alice, gone.id)
    messages.announce(room, "**공지**")
    reply = messages.send_message(bob, room, "`답장`", reply_to=formatted.id)[0]
    db.session.remove()
    downgrade(revision="b4e8d2a6c913")
    upgrade()
    rows = dict(db.session.execute(sa.select(Message.id, Message.html).where(Message.room_id == room)).all())
    assert rows.pop(plain.id) == "<p>그냥 글</p>"
    assert rows.pop(formatted.id) == render("**굵게** https://a.kr/x에서\n- 목록")
    assert rows.pop(reply.id) == "<p><code>답장</code></p>"
    assert rows.pop(gone.id) == ""
    assert set(rows.values()) == {""}  # the notices and the announcement
