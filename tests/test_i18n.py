"""Issue 18: Korean and English. Which language a request speaks, the user's setting, the
error catalogue in both languages, the catalogs' completeness, the socket's language."""
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from webchat.errors import ERRORS, ChatError
from webchat.extensions import socketio
from webchat.services import accounts, rooms

from .support.accounts import bearer

TRANSLATIONS = Path(__file__).resolve().parent.parent / "webchat" / "translations"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def catalog(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


def message_of(response):
    return response.get_json()["error"]["message"]


# --- which language a request speaks ----------------------------------------------------


@pytest.mark.parametrize("accept, expected", [
    ("ko-KR,ko;q=0.9,en;q=0.8", "먼저 로그인하세요."),
    ("ko", "먼저 로그인하세요."),
    ("en-US,en;q=0.9", "Sign in first."),
    ("fr-FR,ko;q=0.5", "먼저 로그인하세요."),  # the best of ours among those asked for
    ("fr-FR", "Sign in first."),  # none of ours: DEFAULT_LOCALE
    (None, "Sign in first."),
])
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
    assert client.post("/language", data={"lang": "xx"}).status_code == 400
    assert client.post("/language", data={"lang": "en", "next": "https://evil.example/"}).headers["Location"] == "/"


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
