"""Issue 18: Korean and English. Which language a request speaks, the user's setting, the
error catalogue in both languages, the catalogs' completeness, the socket's language."""

import html
import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po
from flask_babel import force_locale

from webchat.errors import ERRORS, ChatError
from webchat.extensions import db, socketio
from webchat.services import accounts, rooms

from .support.accounts import bearer, login

TRANSLATIONS = Path(__file__).resolve().parent.parent / "webchat" / "translations"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def catalog(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


def message_of(response):
    return response.get_json()["error"]["message"]


# --- which language a request speaks ----------------------------------------------------


@pytest.mark.parametrize(
    "accept, expected",
    [
        ("ko-KR,ko;q=0.9,en;q=0.8", "먼저 로그인하세요."),
        ("ko", "먼저 로그인하세요."),
        ("en-US,en;q=0.9", "Sign in first."),
        ("fr-FR,ko;q=0.5", "먼저 로그인하세요."),  # the best of ours among those asked for
        ("fr-FR", "Sign in first."),  # none of ours: DEFAULT_LOCALE
        (None, "Sign in first."),
    ],
)
def test_accept_language_picks_the_best_of_ours(client, accept, expected):
    headers = {"Accept-Language": accept} if accept else {}
    assert message_of(client.get("/api/v1/rooms", headers=headers)) == expected


def test_the_default_locale_is_a_setting(app_with):
    client = app_with(DEFAULT_LOCALE="ko").test_client()
    assert message_of(client.get("/api/v1/rooms", headers={"Accept-Language": "de"})) == "먼저 로그인하세요."


def test_lang_in_the_query_wins_over_the_browser_and_persists(client):
    korean_browser = {"Accept-Language": "ko"}
    response = client.get("/api/v1/rooms?lang=en", headers=korean_browser)
    assert message_of(response) == "Sign in first."
    assert "lang=en" in response.headers["Set-Cookie"]
    # The cookie now speaks for this browser, without the query.
    assert message_of(client.get("/api/v1/rooms", headers=korean_browser)) == "Sign in first."
    assert message_of(client.get("/api/v1/rooms?lang=xx", headers=korean_browser)) == "Sign in first."


def test_the_users_setting_wins_over_everything(client, alice):
    accounts.set_locale(alice, "ko")
    headers = {**bearer(alice), "Accept-Language": "en"}
    response = client.get("/api/v1/rooms/999999/messages?lang=en", headers=headers)
    assert response.get_json()["error"] == {"code": "ROOM_NOT_FOUND", "message": "채팅방을 찾을 수 없어요."}


def test_put_me_sets_and_clears_the_locale(client, alice):
    response = client.put("/api/v1/me", json={"locale": "ko"}, headers=bearer(alice))
    assert response.status_code == 200
    assert response.get_json() == {"user": {"id": alice.id, "username": "alice", "locale": "ko"}}
    response = client.put("/api/v1/me", json={"locale": None}, headers=bearer(alice))
    assert response.get_json()["user"]["locale"] is None
    for body in ({"locale": "fr"}, {"locale": 1}, {}, {"locale": ["ko"]}):
        response = client.put("/api/v1/me", json=body, headers=bearer(alice))
        assert response.status_code == 400, body
        assert set(response.get_json()["error"]["fields"]) == {"locale"}
    assert accounts.get_user(alice.id).locale is None


def test_the_language_switch_sets_the_cookie_and_a_chosen_setting(client, alice):
    response = client.post("/language", data={"lang": "ko", "next": "/rooms"})
    assert response.status_code == 302 and response.headers["Location"] == "/rooms"
    assert "lang=ko" in response.headers["Set-Cookie"]
    refused = client.post("/language", data={"lang": "xx"}, headers={"Accept-Language": "ko"})
    assert refused.status_code == 400 and html_lang(refused.text) == "ko"
    # The error page says the field's reason (and the code's label) in Korean.
    assert "제공되는 언어 중 하나를 고르세요." in refused.text
    assert "오류 코드" in refused.text
    assert client.post("/language", data={"lang": "en", "next": "https://evil.example/"}).headers["Location"] == "/"
    # Signed in: a user who follows the browser keeps doing so; one who chose a language
    # has the choice moved by the switch (else their old setting would win).
    login(client, alice)
    client.post("/language", data={"lang": "ko"})
    assert accounts.get_user(alice.id).locale is None
    accounts.set_locale(accounts.get_user(alice.id), "en")
    client.post("/language", data={"lang": "ko"})
    db.session.expire_all()
    assert accounts.get_user(alice.id).locale == "ko"


# --- the pages speak it -----------------------------------------------------------------


def html_lang(page):
    return re.search(r'<html lang="(\w+)"', page).group(1)


def test_pages_speak_the_browsers_language_and_name_their_scripts_catalog(client, app):
    from webchat.i18n import js_catalog

    korean = client.get("/auth/login", headers={"Accept-Language": "ko-KR,ko;q=0.9"}).text
    assert html_lang(korean) == "ko"
    assert '<h1 id="login-heading">로그인</h1>' in korean and "사용자 이름" in korean
    assert f'<meta name="i18n-catalog" content="/i18n/ko.{js_catalog("ko")[1]}.json">' in korean
    english = client.get("/auth/login").text
    assert html_lang(english) == "en" and '<h1 id="login-heading">Log in</h1>' in english
    assert f'content="/i18n/en.{js_catalog("en")[1]}.json"' in english


def test_every_page_switches_language_back_to_itself(alice_client):
    page = alice_client.get("/rooms?lang=ko&tab=public&next=//evil.example").text
    form = re.search(r'<form method="post" action="/language" class="lang-switch".*?</form>', page, re.S).group(0)
    # Neither the asked `lang` (it would switch straight back) nor a foreign `next` is kept.
    assert '<input type="hidden" name="next" value="/rooms?tab=public">' in form
    assert re.findall(r'name="lang" value="(\w+)" lang="\w+"[^>]*\s+aria-pressed="(\w+)">([^<]+)<', form) == [
        ("ko", "true", "한국어"),
        ("en", "false", "English"),
    ]
    assert 'name="csrf_token"' in form


def test_the_forms_speak_the_request_language(client):
    korean = {"Accept-Language": "ko"}
    page = client.post(
        "/auth/signup",
        headers=korean,
        data={"username": "준호", "password": "correct horse", "password_confirm": "correct horses"},
    ).text
    assert "비밀번호가 서로 달라요." in page
    empty = {"username": "", "password": "", "password_confirm": ""}
    page = client.post("/auth/signup", headers=korean, data=empty).text
    assert "사용자 이름을 정하세요." in page and "비밀번호를 정하세요." in page
    page = client.post(
        "/auth/signup", headers=korean, data={"username": "준호", "password": "short", "password_confirm": "short"}
    ).text
    assert "8~1024자로 입력하세요." in page
    assert "비밀번호가 서로 달라요." not in page


def stored_locale(user):
    """The setting as stored now (the requests committed it in their own sessions)."""
    db.session.expire_all()
    return accounts.get_user(user.id).locale


def test_the_account_page_sets_the_language_or_follows_the_browser(client, alice):
    assert client.post("/auth/language", data={"language-locale": "ko"}).status_code == 302  # to the login page
    assert stored_locale(alice) is None
    login(client, alice)
    english_browser = {"Accept-Language": "en"}
    response = client.post("/auth/language", data={"language-locale": "ko"}, headers=english_browser)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/password"
    assert "lang=ko" in response.headers["Set-Cookie"]
    assert stored_locale(alice) == "ko"
    page = client.get("/auth/password", headers=english_browser).text
    assert html_lang(page) == "ko" and "언어 설정을 저장했어요." in page
    assert re.search(r'value="ko"[^>]*checked|checked[^>]*value="ko"', page)

    # "Follow the browser": no setting, and the cookie goes, so Accept-Language speaks.
    response = client.post("/auth/language", data={"language-locale": ""}, headers=english_browser)
    assert stored_locale(alice) is None
    assert re.match(r"lang=; Expires=Thu, 01 Jan 1970", response.headers["Set-Cookie"])
    page = client.get("/auth/password", headers=english_browser).text
    assert html_lang(page) == "en" and "Language saved." in page

    response = client.post("/auth/language", data={"language-locale": "fr"}, headers=english_browser)
    assert response.status_code == 400
    assert stored_locale(alice) is None


def test_a_time_is_written_for_the_script_with_a_utc_fallback(alice_client, alice):
    room = rooms.create_room(alice, "Times")
    page = alice_client.get("/rooms", headers={"Accept-Language": "ko"}).text
    item = re.search(rf'<li class="room-item" data-room-id="{room["id"]}".*?</li>', page, re.S).group(0)
    stamp = re.search(r'<time class="room-time" datetime="([^"]+)">([^<]+)</time>', item)
    assert stamp.group(1).endswith("Z") and stamp.group(2).endswith(" UTC")
    assert re.search(r"(오전|오후) \d{1,2}:\d{2} UTC$", stamp.group(2))
    assert ">멤버 1명<" in item
    # The labels rooms.js gives a room added live are the page's language too.
    labels = json.loads(html.unescape(re.search(r"data-type-labels='([^']+)'", page).group(1)))
    assert labels == {"public": "공개", "private": "비공개", "direct": "다이렉트"}


# --- the catalogue and the catalogs ------------------------------------------------------


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_every_error_code_speaks_both_languages(app, code):
    with app.test_request_context():
        with force_locale("en"):
            english = ChatError(code).to_dict()["message"]
        with force_locale("ko"):
            korean = ChatError(code).to_dict()["message"]
    assert english and not HANGUL.search(english)
    assert HANGUL.search(korean), f"{code} has no Korean message"
    assert ChatError(code).code == code


def test_every_string_is_translated_into_korean_with_the_same_placeholders():
    problems = []
    for message in catalog("ko"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if "fuzzy" in message.flags or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        wanted = set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
    assert not problems, "\n".join(problems)


def extracted_ids():
    """Every msgid in the source, extracted as `make messages` extracts it (babel.cfg and
    the Makefile's keywords)."""
    root = TRANSLATIONS.parent.parent
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(["_l", "_ln:1,2", "t", "tn:1,2"])}
    with open(root / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = extract_from_dir(root, method_map, options_map, keywords=keywords, strip_comment_tags=True)
    return {message if isinstance(message, str) else message[0] for _file, _line, message, _c, _ctx in found}


def test_every_string_in_the_source_is_in_the_catalogs():
    """A string added to the code and never extracted would show in English in a Korean page."""
    missing = extracted_ids() - {m.id if isinstance(m.id, str) else m.id[0] for m in catalog("ko") if m.id}
    assert not missing, "run `make messages` and translate:\n" + "\n".join(sorted(missing))


def test_both_catalogs_hold_the_same_messages():
    def ids(locale):
        return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog(locale) if m.id}

    assert ids("ko") == ids("en")


def test_the_compiled_catalogs_are_up_to_date():
    for locale in ("ko", "en"):
        po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, "run `make translations`"


def test_the_scripts_catalog_is_versioned_and_immutable(client, app):
    from webchat.i18n import js_catalog

    body, version = js_catalog("ko")
    response = client.get(f"/i18n/ko.{version}.json")
    assert response.status_code == 200 and response.data == body
    assert "immutable" in response.headers["Cache-Control"]
    assert response.get_json()["locale"] == "ko"
    assert client.get("/i18n/ko.0000.json").status_code == 404
    assert client.get(f"/i18n/fr.{version}.json").status_code == 404


# --- the socket speaks its handshake's language -----------------------------------------


def test_socket_acks_speak_the_handshakes_language(app, alice):
    token = accounts.issue_access_token(alice)["access_token"]
    for accept, expected in (("ko-KR", "채팅방을 찾을 수 없어요."), ("en", "No such room.")):
        sock = socketio.test_client(app, namespace="/chat", auth={"token": token}, headers={"Accept-Language": accept})
        ack = sock.emit("open_room", {"room_id": 999999}, namespace="/chat", callback=True)
        assert ack["error"] == {"code": "ROOM_NOT_FOUND", "message": expected}
        sock.disconnect("/chat")


def test_socket_acks_follow_the_users_setting(app, alice, connect):
    accounts.set_locale(alice, "ko")
    ack = connect(alice).emit("send_message", {"room_id": 999999, "body": ""}, namespace="/chat", callback=True)
    assert ack["error"]["code"] == "MESSAGE_EMPTY" and ack["error"]["message"] == "메시지가 비어 있어요."


# --- Korean names -----------------------------------------------------------------------


def test_two_syllable_korean_names_are_accepted(app):
    assert accounts.signup("준호", "correct horse battery").username == "준호"
    assert accounts.username_problem("준") is not None


def test_user_search_matches_any_part_of_a_name(app, alice, make_user):
    make_user("이준호")
    make_user("준수")
    make_user("박지민")
    found = [u["username"] for u in rooms.search_users(alice, "준")]
    assert found == ["준수", "이준호"]  # names that start with it first
    assert [u["username"] for u in rooms.search_users(alice, "지민")] == ["박지민"]
    assert rooms.search_users(alice, "%") == [] and rooms.search_users(alice, "_") == []
