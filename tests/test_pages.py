"""What the server-rendered pages share (webchat/pages.py, payloads.display_name): form
errors reach the page whether or not they name a field, a direct room is named after
the others wherever it is shown, and the limits the scripts check come from the
services, not from copies."""

import html
import json
import re

import pytest

from webchat.errors import ChatError, validation_error
from webchat.services import accounts, files, messages, rooms, search

from .support.accounts import PASSWORD, login


def form_alert(page):
    alert = re.search(r'<div\b[^>]*\brole="alert"[^>]*>(.*?)</div>', page, re.S)
    return alert.group(1).strip() if alert else None


def data_attributes(page, element_id):
    tag = re.search(rf"""<[a-z]+\b[^>]*\bid="{element_id}"(?:[^>"']|"[^"]*"|'[^']*')*>""", page, re.S).group(0)
    return {
        name: html.unescape(double or single)
        for name, double, single in re.findall(r"""\bdata-([a-z-]+)=(?:"([^"]*)"|'([^']*)')""", tag)
    }


@pytest.mark.parametrize(
    "error, shown",
    [
        (ChatError("SERVICE_UNAVAILABLE"), "The service is temporarily unavailable; retry is safe."),
        (ChatError("VALIDATION_ERROR", fields={"owner": "Not today."}), "Not today."),
    ],
)
def test_room_creation_shows_an_error_that_names_no_field_of_the_form(alice_client, monkeypatch, error, shown):
    def refuse(*_args):
        raise error

    monkeypatch.setattr(rooms, "create_room", refuse)
    response = alice_client.post("/rooms", data={"name": "Lounge", "type": "public"})
    assert response.status_code == 400
    assert form_alert(response.text) == shown


def test_room_creation_shows_a_field_error_next_to_its_field(alice_client, monkeypatch):
    def refuse(*_args):
        raise validation_error(name="That name is reserved.")

    monkeypatch.setattr(rooms, "create_room", refuse)
    response = alice_client.post("/rooms", data={"name": "Lounge", "type": "public"})
    assert response.status_code == 400
    assert re.search(r'id="name-help"[^>]*><span class="error-text">That name is reserved.</span>', response.text)
    assert form_alert(response.text) is None


def test_a_direct_room_is_named_after_the_others_everywhere(app, client, alice, bob, make_user):
    carol = make_user("carol")
    room = rooms.create_direct(alice, ["bob", "carol"])
    assert room["name"] == "alice, bob, carol" and room["display_name"] == "bob, carol"
    assert rooms.room_view(carol, room["id"])["display_name"] == "alice, bob"
    assert rooms.my_rooms(bob)[0]["display_name"] == "alice, carol"

    login(client, bob)
    listed = client.get("/rooms").text
    assert re.search(r'<span class="room-name">alice, carol</span>', listed)
    chat = client.get(f"/rooms/{room['id']}").text
    assert re.search(r'<h1 class="chat-title" id="room-name">alice, carol</h1>', chat)
    assert "<title>alice, carol" in chat
    assert data_attributes(chat, "chat")["display-name"] == "alice, carol"


def test_a_direct_room_name_cut_to_its_column_loses_the_part_name(app, make_user):
    people = [make_user(f"{letter * 30}{n:02d}") for n, letter in enumerate("abcde")]
    room = rooms.create_direct(people[0], [p.username for p in people[1:]])
    assert len(room["name"]) == rooms.NAME_MAX  # "aaa…00, bbb…01, ccc…" : the third name is cut
    shown = {p.username: rooms.room_view(p, room["id"])["display_name"] for p in people}
    assert shown[people[0].username] == f"{people[1].username}, …"
    assert shown[people[1].username] == f"{people[0].username}, …"
    assert shown[people[2].username] == f"{people[0].username}, {people[1].username}, …"


def test_the_chat_page_passes_the_services_limits(app_with):
    app = app_with(MESSAGE_DELETE_WINDOW_SECONDS=42, MAX_UPLOAD_BYTES=12345)
    alice = accounts.signup("alice", PASSWORD)
    room = rooms.create_room(alice, "Limits")
    page = login(app.test_client(), alice).get(f"/rooms/{room['id']}").text
    data = data_attributes(page, "chat")
    assert {
        key: int(data[key])
        for key in ("max-length", "delete-window", "max-upload", "page-size", "page-max", "username-max")
    } == {
        "max-length": app.config["MESSAGE_MAX_LENGTH"],
        "delete-window": 42,
        "max-upload": 12345,
        "page-size": messages.PAGE_DEFAULT,
        "page-max": messages.PAGE_MAX,
        "username-max": accounts.USERNAME_MAX,
    }
    assert int(data["room-name-max"]) == rooms.NAME_MAX
    assert (int(data["thumbnail-width"]), int(data["thumbnail-height"])) == files.THUMBNAIL_BOX
    assert f'<span id="composer-count">0</span> / {app.config["MESSAGE_MAX_LENGTH"]}' in page


def test_the_room_list_passes_the_type_labels_and_a_room_template(alice_client, alice):
    rooms.create_room(alice, "Listed")
    page = alice_client.get("/rooms").text
    assert json.loads(data_attributes(page, "rooms-page")["type-labels"]) == {
        "public": "Public",
        "private": "Private",
        "direct": "Direct",
    }
    template = re.search(r'<template id="room-item-template">(.*?)</template>', page, re.S).group(1)
    assert 'class="room-item"' in template and 'class="room-preview"' in template
    item = re.search(r'<li class="room-item"[^>]*>', page.split("<template")[0]).group(0)
    assert json.loads(html.unescape(re.search(r"data-last-message='([^']*)'", item).group(1)))["kind"] == "system"


def test_the_search_page_offers_only_my_rooms_and_keeps_the_query_in_the_header(app, client, alice, bob):
    mine = rooms.create_room(alice, "Mine")
    rooms.create_room(bob, "Not mine")
    assert client.get("/search?q=x").status_code == 302, "anonymous: to the login page"
    login(client, alice)
    page = client.get(f"/search?q=%3Cb%3E%EC%98%88%EC%95%BD&room_id={mine['id']}").text
    rooms_offered = re.findall(r'<option value="(\d*)"( selected)?>([^<]*)</option>', page)
    assert rooms_offered == [("", "", "All my rooms"), (str(mine["id"]), " selected", "Mine")]
    box = re.search(r'<input type="search" id="site-search"[^>]*>', page, re.S).group(0)
    assert 'value="&lt;b&gt;예약"' in box, "the query is back in the box, as text"
    assert f'maxlength="{search.QUERY_MAX}"' in box
    # Every signed-in page has the box, empty where it is not the search page.
    listed = client.get("/rooms").text
    assert re.search(r'<input type="search" id="site-search"[^>]*value=""', listed, re.S)


# --- the theme (issue 22) ----------------------------------------------------------------


def theme_of(page):
    """(data-theme, color-scheme meta, dark.css's media attribute or None, linked at all)."""
    theme = re.search(r'<html lang="\w+" data-theme="(\w+)">', page).group(1)
    scheme = re.search(r'<meta name="color-scheme" content="([^"]+)">', page).group(1)
    link = re.search(r'<link rel="stylesheet" href="/static/css/dark\.css"([^>]*)>', page)
    media = re.search(r'media="([^"]+)"', link.group(1)).group(1) if link and "media=" in link.group(1) else None
    return theme, scheme, media, link is not None


def save_theme(client, theme):
    return client.post("/auth/theme", data={"theme-theme": theme})


@pytest.mark.parametrize("path", ["/auth/login", "/auth/signup", "/no/such/page"])
def test_pages_follow_the_system_by_default(client, path):
    assert theme_of(client.get(path).text) == ("system", "light dark", "(prefers-color-scheme: dark)", True)


def test_the_account_page_keeps_the_theme_in_this_browsers_cookie(alice_client):
    page = alice_client.get("/auth/password").text
    assert re.search(r'<input checked id="theme-theme-0" name="theme-theme" type="radio" value="system">', page)

    response = save_theme(alice_client, "dark")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/password"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("theme="))
    assert cookie.startswith("theme=dark;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie
    page = alice_client.get("/auth/password").text
    assert "Theme saved." in page
    assert theme_of(page) == ("dark", "dark", None, True)  # dark.css for every system setting
    assert re.search(r'<input checked id="theme-theme-2" name="theme-theme" type="radio" value="dark">', page)
    assert theme_of(alice_client.get("/rooms").text)[0] == "dark"

    save_theme(alice_client, "light")
    assert theme_of(alice_client.get("/rooms").text) == ("light", "light", None, False)  # no dark.css

    response = save_theme(alice_client, "system")
    assert any(c.startswith("theme=;") for c in response.headers.getlist("Set-Cookie"))  # forgotten
    assert theme_of(alice_client.get("/rooms").text)[0] == "system"


def test_the_theme_outlives_the_session(alice_client):
    save_theme(alice_client, "dark")
    alice_client.post("/auth/logout")
    assert theme_of(alice_client.get("/auth/login").text)[0] == "dark"


@pytest.mark.parametrize("value", ["purple", "", "Dark"])
def test_an_unknown_theme_is_refused_and_a_forged_cookie_ignored(alice_client, value):
    response = save_theme(alice_client, value)
    assert response.status_code == 400
    assert not any(c.startswith("theme=") for c in response.headers.getlist("Set-Cookie"))
    alice_client.set_cookie("theme", '"><script>alert(1)</script>')
    page = alice_client.get("/rooms").text
    assert theme_of(page)[0] == "system" and "<script>alert(1)" not in page


def test_the_theme_form_needs_a_login(client):
    response = save_theme(client, "dark")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
