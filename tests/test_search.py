"""Search (issue 21): Korean and English found by any part of a word, on SQLite and
MariaDB; phrases, exclusions and every filter; what one may not find (other rooms,
deleted, system, old text of an edit); highlights; the reindex command; bad input."""

import io
import uuid

import pytest
import sqlalchemy as sa

from webchat.commands import webchat_cli
from webchat.database import transaction
from webchat.extensions import db
from webchat.models import Message, SearchGram
from webchat.services import edits, files, messages, rooms, search, search_index

from .support.accounts import bearer

CORPUS = [
    "번역을 부탁해요",
    "회의실예약 했어요",
    "내일 회의 있어요",
    "API키 발급 받았어요",
    "Meeting notes for the QA review",
    "meeting at 3pm",
    "100% 완료",
    "1000개 완료",
    "file_name.txt 확인",
    "filexname 확인",
    "밥 먹자",
    "ＡＰＩ docs",
    "Straße closed",
    "a!b 느낌표",
]

# (query, the bodies it finds)
CASES = [
    ("번역", {"번역을 부탁해요"}),  # a particle after the word
    ("예약", {"회의실예약 했어요"}),  # inside a compound
    ("회의", {"회의실예약 했어요", "내일 회의 있어요"}),  # a two-syllable word, alone and in a compound
    ("회의실 예약", {"회의실예약 했어요"}),  # every term must match
    ('"회의 있어요"', {"내일 회의 있어요"}),  # a phrase
    ('"회의실 예약"', set()),  # a phrase is not two terms
    ("밥", {"밥 먹자"}),  # one syllable
    ("키", {"API키 발급 받았어요"}),  # one syllable inside a word
    ("API키", {"API키 발급 받았어요"}),  # mixed scripts
    ("api", {"API키 발급 받았어요", "ＡＰＩ docs"}),  # case and width
    ("ＡＰＩ", {"API키 발급 받았어요", "ＡＰＩ docs"}),  # a full-width query
    ("MEETING", {"Meeting notes for the QA review", "meeting at 3pm"}),
    ("eeti", {"Meeting notes for the QA review", "meeting at 3pm"}),  # inside an English word
    ('"meeting notes"', {"Meeting notes for the QA review"}),
    ("meeting -notes", {"meeting at 3pm"}),  # an exclusion
    ('meeting -"qa review"', {"meeting at 3pm"}),  # an excluded phrase
    ("100%", {"100% 완료"}),  # % is a character, not a wildcard
    ("완료 -100%", {"1000개 완료"}),
    ("file_name", {"file_name.txt 확인"}),  # so is _
    ("a!b", {"a!b 느낌표"}),  # and the escape character
    ("strasse", {"Straße closed"}),  # case folding, not just lower case
    ("없는말", set()),
    ("q", {"Meeting notes for the QA review"}),  # one letter
]


@pytest.fixture
def room(app, alice, bob):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    return room


@pytest.fixture
def corpus(room, alice):
    for body in CORPUS:
        messages.send_message(alice, room["id"], body, uuid.uuid4().hex)
    return room


def found(user, q, **kwargs):
    results, _more = search.search(user, q, **kwargs)
    return [message.body or message.file.name for message, _room, _ranges in results]


@pytest.mark.parametrize(("q", "expected"), CASES, ids=[q for q, _ in CASES])
def test_korean_and_english_cases(corpus, bob, q, expected):
    assert set(found(bob, q)) == expected


def test_the_api_answers_results_with_room_and_highlights(client, corpus, bob):
    response = client.get("/api/v1/search", query_string={"q": "번역"}, headers=bearer(bob))
    assert response.status_code == 200
    body = response.get_json()
    assert body["has_more"] is False
    [result] = body["results"]
    assert result["message"]["body"] == "번역을 부탁해요" and result["message"]["sender"]["username"] == "alice"
    assert result["room"] == {"id": corpus["id"], "name": "General", "type": "public"}
    assert result["highlights"] == [[0, 2]]


def test_a_direct_room_is_named_as_the_caller_sees_it(client, alice, bob):
    direct = rooms.create_direct(alice, ["bob"])
    messages.send_message(alice, direct["id"], "비밀 회의", "d1")
    [result] = client.get("/api/v1/search?q=비밀", headers=bearer(bob)).get_json()["results"]
    assert result["room"]["name"] == "alice" and result["room"]["type"] == "direct"


def test_results_are_newest_first_and_page_by_before_id(room, alice, bob):
    ids = [messages.send_message(alice, room["id"], f"회의 {n}", f"p{n}")[0].id for n in range(7)]
    page, more = search.search(bob, "회의", limit=3)
    assert [m.id for m, _r, _h in page] == ids[:-4:-1] and more
    page2, more2 = search.search(bob, "회의", limit=3, before_id=page[-1][0].id)
    assert [m.id for m, _r, _h in page2] == ids[-4:-7:-1] and more2
    page3, more3 = search.search(bob, "회의", limit=3, before_id=page2[-1][0].id)
    assert [m.id for m, _r, _h in page3] == [ids[0]] and not more3


def test_filters(app, client, room, alice, bob, make_user):
    carol = make_user("carol")
    rooms.join_room(carol, room["id"])
    messages.send_message(alice, room["id"], "회의 자료 https://example.com/doc", "f1")
    messages.send_message(bob, room["id"], "bob의 회의 메모", "f2")
    messages.send_message(alice, room["id"], "@bob 회의 확인해 주세요", "f3")
    messages.send_message(alice, room["id"], "@carol 회의 확인", "f4")
    old = messages.send_message(alice, room["id"], "작년 회의", "f5")[0]
    files.upload(alice, room["id"], io.BytesIO(b"minutes"), "회의록_3월.txt")
    with transaction():
        db.session.execute(
            sa.update(Message).where(Message.id == old.id).values(created_at=sa.func.datetime("2026-03-04 23:59:59"))
            if db.engine.dialect.name == "sqlite"
            else sa.update(Message).where(Message.id == old.id).values(created_at="2026-03-04 23:59:59")
        )

    assert set(found(bob, "회의 from:bob")) == {"bob의 회의 메모"}
    assert set(found(bob, "from:@BOB")) == {"bob의 회의 메모"}  # a filter alone; names fold
    assert found(bob, "회의 from:nobody") == []
    assert set(found(bob, "회의 from:alice from:bob")) >= {"bob의 회의 메모", "작년 회의"}  # either sender
    assert found(bob, "has:file") == ["회의록_3월.txt"]  # a file is found by its name
    assert found(bob, "회의록 has:file") == ["회의록_3월.txt"]
    assert found(bob, "회의 has:link") == ["회의 자료 https://example.com/doc"]
    assert found(bob, "is:mention") == ["@bob 회의 확인해 주세요"]
    assert found(bob, "회의 is:mention") == ["@bob 회의 확인해 주세요"]
    assert found(carol, "확인 is:mention") == ["@carol 회의 확인"]
    assert found(bob, "회의 before:2026-03-05") == ["작년 회의"]
    assert found(bob, "회의 before:2026.3.5 after:2026.3.4") == ["작년 회의"]  # the day, UTC
    assert "작년 회의" not in found(bob, "회의 after:2026-03-05")
    assert len(found(bob, "회의 after:2026-03-05")) == 5


def test_an_edit_is_found_by_its_new_text_and_not_its_old(room, alice, bob):
    message = messages.send_message(alice, room["id"], "점심 메뉴 정하자", "e1")[0]
    edits.edit_message(alice, message.id, "저녁 회식 장소")
    assert found(bob, "점심") == [] and found(bob, "메뉴") == []
    assert found(bob, "회식") == ["저녁 회식 장소"]
    edits.edit_message(alice, message.id, "저녁 회식 장소 MENU")
    assert found(bob, "menu") == ["저녁 회식 장소 MENU"]


def test_deleted_and_system_messages_are_never_found(room, alice, bob):
    text = messages.send_message(alice, room["id"], "지울 메시지", "x1")[0]
    upload, _created = files.upload(alice, room["id"], io.BytesIO(b"data"), "지울파일.txt")
    messages.delete_message(alice, text.id)
    messages.delete_message(alice, upload.id)
    messages.announce(room["id"], "공지: 지울 예정")
    assert found(bob, "지울") == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchGram)) == 0


def test_only_rooms_the_caller_is_in_now(app, room, alice, bob, make_user):
    carol = make_user("carol")
    rooms.join_room(carol, room["id"])
    private = rooms.create_room(alice, "Secret", "private")
    messages.send_message(alice, room["id"], "공개방 회의", "r1")
    messages.send_message(alice, private["id"], "비밀방 회의", "r2")
    assert found(bob, "회의") == ["공개방 회의"]
    assert found(alice, "회의") == ["비밀방 회의", "공개방 회의"]
    assert found(alice, "회의", room_id=room["id"]) == ["공개방 회의"]
    rooms.kick(alice, room["id"], "bob")
    rooms.leave(carol, room["id"])
    for gone in (bob, carol):
        assert found(gone, "회의") == [] and found(gone, "from:alice") == []


def test_the_index_holds_only_in_word_pairs():
    assert search_index.grams_of(search_index.normalise("회의실예약  했어요")) == {
        "회의",
        "의실",
        "실예",
        "예약",
        "했어",
        "어요",
    }
    assert search_index.normalise(" ＡＰＩ\u3000Straße\n\n번역 ") == "api strasse 번역"


@pytest.mark.parametrize(
    ("text", "terms", "ranges"),
    [
        ("ＡＰＩ키 발급", ["api"], [[0, 3]]),
        ("ﬁle ㎏ 번역을", ["file", "kg", "번역"], [[0, 3], [4, 5], [6, 8]]),  # NFKC widens ﬁ and ㎏
        ("Straße STRASSE", ["strasse"], [[0, 6], [7, 14]]),  # ß folds to two letters
        ("a   b  a b", ["a b"], [[0, 5], [7, 10]]),  # whitespace runs are one space
        ("회의회의", ["회의"], [[0, 4]]),  # touching matches merge
        ("한글 ᄒᆞᆫ", ["한"], [[0, 1]]),
        ("café", ["cafe"], []),  # an accent is a different letter
    ],
)
def test_highlights_map_back_to_the_original_text(text, terms, ranges):
    assert search.highlights(text, [search_index.normalise(t) for t in terms]) == ranges
    assert search.normalise_with_offsets(text)[0] == search_index.normalise(text)


def test_reindex_gives_the_same_results(app, corpus, alice, bob):
    files.upload(alice, corpus["id"], io.BytesIO(b"x"), "Report_2026.PDF")
    queries = [q for q, _ in CASES] + ["report", "has:file"]
    before = {q: found(bob, q) for q in queries}
    count = db.session.scalar(sa.select(sa.func.count()).select_from(SearchGram))
    with transaction():
        db.session.execute(sa.delete(SearchGram))
        db.session.execute(sa.update(Message).values(search_text=None))
    assert found(bob, "번역") == []
    runner = app.test_cli_runner()
    result = runner.invoke(webchat_cli, ["search", "reindex", "--batch", "5"])
    assert result.exit_code == 0, result.output
    assert "done: " in result.output
    assert {q: found(bob, q) for q in queries} == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchGram)) == count
    # Resumed after an id: what was indexed stays, the rest is added once.
    last = db.session.scalar(sa.select(sa.func.max(Message.id)))
    assert runner.invoke(webchat_cli, ["search", "reindex", "--after-id", str(last - 3)]).exit_code == 0
    assert {q: found(bob, q) for q in queries} == before


def test_index_maintenance_can_be_switched_off(app_with, make_user):
    app = app_with(SEARCH_INDEX_ENABLED=False)
    with app.app_context():
        alice = make_user("alice")
        room = rooms.create_room(alice, "Off")
        messages.send_message(alice, room["id"], "색인 없이", "o1")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchGram)) == 0
        assert found(alice, "색인") == []
        search_index.reindex()
        assert found(alice, "색인") == ["색인 없이"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": '"" - :'}, "q"),  # only stop characters
        ({"q": "%"}, "q"),
        ({"q": "-회의"}, "q"),  # only an exclusion
        ({"q": "회" * 10_000}, "q"),
        ({"q": "회의 foo:bar"}, "q"),  # an unknown filter
        ({"q": "-from:alice"}, "q"),
        ({"q": "from:"}, "q"),
        ({"q": "has:photo"}, "q"),
        ({"q": "is:unread"}, "q"),
        ({"q": "before:2026-02-30"}, "q"),
        ({"q": "after:yesterday"}, "q"),
        ({"q": "before:2026-3.5"}, "q"),
        ({"q": "before:２０２６-03-05"}, "q"),
        ({"q": " ".join(f"w{n}" for n in range(17))}, "q"),
        ({"q": "회의", "limit": "0"}, "limit"),
        ({"q": "회의", "limit": "51"}, "limit"),
        ({"q": "회의", "limit": "x"}, "limit"),
        ({"q": "회의", "before_id": "abc"}, "before_id"),
        ({"q": "회의", "room_id": "0"}, "room_id"),
    ],
)
def test_bad_input(client, room, bob, params, field):
    response = client.get("/api/v1/search", query_string=params, headers=bearer(bob))
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and field in error["fields"]


def test_a_room_not_mine(client, room, alice, make_user):
    stranger = make_user("stranger")
    private = rooms.create_room(alice, "Secret", "private")
    for room_id, status, code in [(room["id"], 403, "USER_NOT_IN_CHAT_ROOM"), (private["id"], 404, "ROOM_NOT_FOUND")]:
        response = client.get(f"/api/v1/search?q=회의&room_id={room_id}", headers=bearer(stranger))
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)


def test_limits_at_the_edges(client, room, alice, bob):
    for n in range(51):
        messages.send_message(alice, room["id"], f"회의 {n}", f"l{n}")
    body = client.get("/api/v1/search?q=회의&limit=50", headers=bearer(bob)).get_json()
    assert len(body["results"]) == 50 and body["has_more"] is True
    assert len(client.get("/api/v1/search?q=회의", headers=bearer(bob)).get_json()["results"]) == 20
    assert client.get("/api/v1/search?q=" + "회" * 500, headers=bearer(bob)).status_code == 200
    assert client.get("/api/v1/search?q=http://example.com", headers=bearer(bob)).status_code == 200  # not a filter
