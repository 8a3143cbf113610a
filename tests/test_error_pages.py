"""Error pages (issue 22): each code that can reach a page says, in the reader's language,
what happened and what to do, gives a way back (the rooms, or the login page for someone
signed out), and shows the code only small. Each code of `errors.PAGE_TEXTS` is reached
here the way a browser reaches it."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy.exc import OperationalError

from webchat.errors import ERRORS, PAGE_TEXTS
from webchat.services import accounts
from webchat.services import rooms as rooms_service

from .support.accounts import PASSWORD, login

KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


def texts(response):
    """(heading, sentence, way back's text and href, the code) of an error page."""
    page = response.text
    heading = re.search(r'<h1 id="error-heading">(.*?)</h1>', page, re.S).group(1)
    sentence = re.search(r'<p class="error-sentence">(.*?)</p>', page, re.S).group(1)
    back = re.search(r'<p class="error-actions">\s*<a class="button primary" href="([^"]*)">(.*?)</a>', page, re.S)
    code = re.search(r'<p class="error-code">(.*?) <code translate="no">(\w+)</code></p>', page, re.S)
    return {
        "heading": html.unescape(heading.strip()),
        "sentence": html.unescape(sentence.strip()),
        "back": html.unescape(back.group(2).strip()),
        "href": html.unescape(back.group(1)),
        "code_label": code.group(1).strip(),
        "code": code.group(2),
        "title": html.unescape(re.search(r"<title>(.*?) · webchat</title>", page).group(1)),
        "lang": re.search(r'<html lang="(\w+)"', page).group(1),
    }


def in_korean(text):
    """What the Korean catalog says for English `text`, a msgid or a lazy string (the
    English itself until it is translated)."""
    with force_locale("ko"):
        return gettext(text) if isinstance(text, str) else str(text)


def expect_page(response, status, code, *, sentence=None, signed_in=True, korean=False):
    assert response.status_code == status
    assert response.mimetype == "text/html"
    shown = texts(response)
    heading, default_sentence = PAGE_TEXTS[code]
    wanted_sentence = sentence if sentence is not None else default_sentence
    if korean:
        assert shown["lang"] == "ko"
        assert shown["heading"] == in_korean(heading)
        assert shown["sentence"] == in_korean(wanted_sentence)
        assert shown["back"] == ("내 채팅방 목록으로" if signed_in else "로그인")
        assert shown["code_label"] == "오류 코드"
    else:
        assert shown["lang"] == "en"
        assert shown["heading"] == str(heading)
        assert shown["sentence"] == str(wanted_sentence)
        assert shown["back"] == ("Back to your rooms" if signed_in else "Log in")
        assert shown["code_label"] == "Error code"
    assert shown["title"] == shown["heading"]
    # The code is the small print only, never the page's words.
    assert shown["code"] == code
    assert code not in shown["heading"] + shown["sentence"] + shown["title"]
    if signed_in:
        assert shown["href"] == "/rooms"
    else:
        assert shown["href"].startswith("/auth/login")
    return shown


# The code each test below reaches (a new entry in PAGE_TEXTS needs a test here).
REACHED = {
    "NOT_FOUND",
    "ROOM_NOT_FOUND",
    "USER_NOT_IN_CHAT_ROOM",
    "FORBIDDEN",
    "VALIDATION_ERROR",
    "RATE_LIMITED",
    "FILE_TOO_LARGE",
    "SERVICE_UNAVAILABLE",
    "INTERNAL_ERROR",
}


def reached(code):
    assert code in REACHED
    return code


def test_every_page_text_is_reached_by_a_test():
    assert set(PAGE_TEXTS) <= set(ERRORS)
    assert set(PAGE_TEXTS) == REACHED


@pytest.mark.parametrize("language, korean", [(ENGLISH, False), (KOREAN, True)], ids=["en", "ko"])
def test_a_page_that_does_not_exist(client, alice, language, korean):
    shown = expect_page(
        client.get("/no/such/page?x=1", headers=language), 404, reached("NOT_FOUND"), signed_in=False, korean=korean
    )
    # Signed out, the way back is the login page, which then comes back here.
    back = urlsplit(shown["href"])
    assert back.path == "/auth/login" and parse_qs(back.query)["next"] == ["/no/such/page?x=1"]
    login(client, alice)
    expect_page(client.get("/no/such/page", headers=language), 404, "NOT_FOUND", korean=korean)
    # A method a page does not take says the same, its reason as the sentence.
    reason = "Method not allowed."
    response = client.get("/auth/logout", headers=language)
    assert response.status_code == 405 and texts(response)["code"] == "NOT_FOUND"
    assert texts(response)["sentence"] == (in_korean(reason) if korean else reason)


@pytest.mark.parametrize("language, korean", [(ENGLISH, False), (KOREAN, True)], ids=["en", "ko"])
def test_a_room_one_may_not_see(client, alice, language, korean):
    login(client, alice)
    expect_page(client.get("/rooms/999999", headers=language), 404, reached("ROOM_NOT_FOUND"), korean=korean)
    bob = accounts.signup("bob", PASSWORD)
    secret = rooms_service.create_room(bob, "secret", "private")
    response = client.get(f"/rooms/{secret['id']}", headers=language)
    expect_page(response, 404, "ROOM_NOT_FOUND", korean=korean)
    assert "secret" not in response.text


@pytest.mark.parametrize("language, korean", [(ENGLISH, False), (KOREAN, True)], ids=["en", "ko"])
def test_a_private_room_one_left(client, alice, language, korean):
    """A former member sees nothing of the room now: neither its new name nor its members
    (issue 24: the join page showed both)."""
    login(client, alice)
    bob = accounts.signup("bob", PASSWORD)
    secret = rooms_service.create_room(bob, "secret", "private")
    rooms_service.invite(bob, secret["id"], "alice")
    rooms_service.leave(alice, secret["id"])
    response = client.get(f"/rooms/{secret['id']}", headers=language)
    expect_page(response, 403, reached("USER_NOT_IN_CHAT_ROOM"), korean=korean)
    assert "secret" not in response.text


@pytest.mark.parametrize("language, korean", [(ENGLISH, False), (KOREAN, True)], ids=["en", "ko"])
def test_a_form_without_its_csrf_token(app_with, language, korean):
    app = app_with(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    client.get("/auth/login")
    response = client.post("/auth/login", data={"username": "x", "password": "y"}, headers=language)
    csrf = "The form expired or was not sent by this site; reload and try again."
    expect_page(
        response,
        403,
        reached("FORBIDDEN"),
        sentence=in_korean(csrf) if korean else csrf,
        signed_in=False,
        korean=korean,
    )


@pytest.mark.parametrize("language, korean", [(ENGLISH, False), (KOREAN, True)], ids=["en", "ko"])
def test_a_request_that_is_not_right(client, alice, language, korean):
    login(client, alice)
    response = client.post("/language", data={"lang": "fr"}, headers=language)
    reason = "Choose one of the languages offered."
    expect_page(
        response, 400, reached("VALIDATION_ERROR"), sentence=in_korean(reason) if korean else reason, korean=korean
    )


@pytest.mark.parametrize("language, korean", [(ENGLISH, False), (KOREAN, True)], ids=["en", "ko"])
def test_too_many_tries(app_with, language, korean):
    client = app_with(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN_PER_IP="1 per minute").test_client()
    client.post("/auth/login", data={"username": "x", "password": "y"}, headers=language)
    response = client.post("/auth/login", data={"username": "x", "password": "y"}, headers=language)
    expect_page(response, 429, reached("RATE_LIMITED"), signed_in=False, korean=korean)


@pytest.mark.parametrize("language, korean", [(ENGLISH, False), (KOREAN, True)], ids=["en", "ko"])
def test_a_request_too_large(app_with, language, korean):
    client = app_with(MAX_UPLOAD_BYTES=1).test_client()
    response = client.post("/auth/login", data={"username": "x" * 100_000, "password": "y"}, headers=language)
    expect_page(response, 413, reached("FILE_TOO_LARGE"), signed_in=False, korean=korean)


@pytest.mark.parametrize("language, korean", [(ENGLISH, False), (KOREAN, True)], ids=["en", "ko"])
@pytest.mark.parametrize(
    "failure, status, code",
    [
        (OperationalError("SELECT 1", {}, ConnectionError("the database went away")), 503, "SERVICE_UNAVAILABLE"),
        (RuntimeError("a bug"), 500, "INTERNAL_ERROR"),
    ],
    ids=["database-down", "bug"],
)
def test_a_failure_on_our_side(client, alice, monkeypatch, failure, status, code, language, korean):
    login(client, alice)

    def fail(*_args, **_kwargs):
        raise failure

    monkeypatch.setattr(rooms_service, "my_rooms", fail)
    expect_page(client.get("/rooms", headers=language), status, reached(code), korean=korean)


def test_a_code_without_a_page_text_says_its_catalogue_message(app):
    from webchat.errors import ChatError, page_text

    with app.test_request_context():
        heading, sentence = page_text(ChatError("MESSAGE_NOT_FOUND"))
        assert str(heading) == "No such message."
        assert str(sentence) == "Go back and try again."
