"""HTTP calls to a running server, as a user's browser or API client makes them:
accounts over the API and through the pages, CSRF tokens, names no other test uses."""

import uuid
from html.parser import HTMLParser

import requests

from .accounts import PASSWORD


def unique_name(prefix="user"):
    """A username no other test of a shared server uses."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


class _CsrfParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.token = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.token:
            return
        if tag == "meta" and attrs.get("name") == "csrf-token":
            self.token = attrs.get("content")
        elif tag == "input" and attrs.get("name") == "csrf_token":
            self.token = attrs.get("value")


def csrf_token_in(html):
    """The CSRF token of a page: its `<meta name="csrf-token">` or hidden `csrf_token` input."""
    parser = _CsrfParser()
    parser.feed(html)
    assert parser.token, "the page carries no CSRF token"
    return parser.token


def csrf_token(session, url):
    """GET `url` with `session` (a requests.Session) and return the page's CSRF token,
    which is bound to that session's cookie."""
    response = session.get(url, timeout=10)
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return csrf_token_in(response.text)


def create_user(server, username, password=PASSWORD):
    """An account made through the JSON API, for a test that needs one to exist already."""
    response = requests.post(
        f"{server.url}/api/v1/auth/signup", json={"username": username, "password": password}, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()["user"]


def api_user(server, username):
    """Sign up through the API and return (user, access token)."""
    response = requests.post(
        f"{server.url}/api/v1/auth/signup", json={"username": username, "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 201, response.text
    tokens = requests.post(
        f"{server.url}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=10
    ).json()
    return response.json()["user"], tokens["access_token"]


def page_login(server, username, password=PASSWORD):
    """A requests.Session logged in through the real form, as a browser is."""
    session = requests.Session()
    token = csrf_token(session, f"{server.url}/auth/login")
    response = session.post(
        f"{server.url}/auth/login",
        data={"csrf_token": token, "username": username, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:300]
    return session


def page_logout(server, session):
    """ "Log out" on the page: every session, token and socket of the user ends."""
    token = csrf_token(session, f"{server.url}/rooms")
    return session.post(f"{server.url}/auth/logout", data={"csrf_token": token}, allow_redirects=False, timeout=10)


def api(server, token, method, path, **kwargs):
    response = requests.request(
        method, f"{server.url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10, **kwargs
    )
    return response
