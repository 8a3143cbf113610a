"""Headers that keep what a signed-in user sees out of caches, HSTS behind HTTPS, and the
client's address behind the trusted proxies of TRUSTED_PROXIES (webchat.proxies; the
real nginx in front is tests/integration/test_proxy.py)."""

import pytest
from flask import request

from .support.accounts import bearer, login


@pytest.mark.parametrize("path", ["/rooms", "/auth/password", "/search", "/api/v1/rooms", "/no-such-page"])
def test_a_signed_in_users_pages_and_api_answers_are_not_stored(client, alice, path):
    login(client, alice)
    response = client.get(path)
    assert response.status_code in (200, 404)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_token_callers_api_answers_are_not_stored(client, alice):
    response = client.get("/api/v1/rooms", headers=bearer(alice))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_static_assets_keep_their_own_caching(client, alice):
    login(client, alice)
    asset = client.get("/static/js/rooms.js")
    assert asset.status_code == 200
    assert "no-store" not in asset.headers.get("Cache-Control", "")


def test_hsts_only_over_https_and_only_when_set(app_with):
    app = app_with(HSTS_SECONDS=31536000)
    secure = app.test_client().get("/auth/login", base_url="https://chat.test")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = app.test_client().get("/auth/login")
    assert "Strict-Transport-Security" not in plain.headers


def test_no_hsts_when_off(client):
    response = client.get("/auth/login", base_url="https://chat.test")
    assert "Strict-Transport-Security" not in response.headers


@pytest.fixture
def seen(app_with):
    """(address, scheme) the app sees for a request from `peer` with `headers`, behind
    TRUSTED_PROXIES = 10.0.0.5 and 192.168.7.0/24."""
    app = app_with(TRUSTED_PROXIES="10.0.0.5, 192.168.7.0/24", HSTS_SECONDS=60)

    @app.get("/_seen")
    def _seen():
        return {"address": request.remote_addr, "scheme": request.scheme}

    def ask(peer, headers):
        response = app.test_client().get("/_seen", headers=headers, environ_base={"REMOTE_ADDR": peer})
        return response.get_json()["address"], response.get_json()["scheme"], response

    return ask


def test_a_trusted_proxy_names_the_client_and_the_scheme(seen):
    address, scheme, response = seen("10.0.0.5", {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert (address, scheme) == ("203.0.113.9", "https")
    assert response.headers["Strict-Transport-Security"] == "max-age=60"


def test_what_a_client_wrote_before_the_proxys_entry_is_never_chosen(seen):
    # The client sent "X-Forwarded-For: 198.51.100.1"; nginx appended the address it saw.
    address, _scheme, _response = seen("10.0.0.5", {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
    assert address == "203.0.113.9"


def test_a_chain_of_trusted_proxies_is_walked_to_the_first_untrusted_address(seen):
    address, _scheme, _response = seen("10.0.0.5", {"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 192.168.7.20"})
    assert address == "203.0.113.9"


@pytest.mark.parametrize("forwarded", ["", "not-an-address", "203.0.113.9:5555"])
def test_a_proxy_header_without_an_address_leaves_the_peer(seen, forwarded):
    address, _scheme, _response = seen("10.0.0.5", {"X-Forwarded-For": forwarded})
    assert address == "10.0.0.5"


def test_anyone_else_cannot_name_an_address_or_a_scheme(seen):
    address, scheme, response = seen("203.0.113.50", {"X-Forwarded-For": "10.0.0.5", "X-Forwarded-Proto": "https"})
    assert (address, scheme) == ("203.0.113.50", "http")
    assert "Strict-Transport-Security" not in response.headers


def test_without_trusted_proxies_the_headers_are_ignored(client, app):
    @app.get("/_peer")
    def _peer():
        return {"address": request.remote_addr}

    response = client.get(
        "/_peer", headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": "10.0.0.5"}
    )
    assert response.get_json()["address"] == "10.0.0.5"
