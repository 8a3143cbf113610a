"""The admin area's pages (issue 23): 404 for all but site admins; users with search and
paging; deactivate, reactivate and a room's delete through a confirmation (CSRF forms);
the audit log. Contents are checked in English (the page's msgids are English)."""

import re

import pytest
import sqlalchemy as sa

from webchat.extensions import db
from webchat.models import Room, User
from webchat.services import admin, rooms

from .support.accounts import PASSWORD


def csrf_of(page):
    return page.split('name="csrf-token" content="')[1].split('"')[0]


def login(client, user):
    """Sign in through the form, with its CSRF token."""
    token = csrf_of(client.get("/auth/login").text)
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


@pytest.fixture
def app(app_with):
    """With CSRF on, as in production: the admin forms must carry their token."""
    return app_with(WTF_CSRF_ENABLED=True)


@pytest.fixture
def root(app, make_user):
    user = make_user("root")
    admin.grant("root")
    return user


@pytest.fixture
def root_client(app, root):
    return login(app.test_client(), root)


PAGES = [
    "/admin/",
    "/admin/users",
    "/admin/rooms",
    "/admin/audit",
    "/admin/users/1/deactivate",
    "/admin/rooms/1/delete",
]


@pytest.mark.parametrize("path", PAGES)
def test_everyone_but_admins_gets_a_404(app, client, alice, path):
    alice_client = login(app.test_client(), alice)
    assert client.get(path).status_code == 404
    assert alice_client.get(path).status_code == 404


def test_a_non_admins_post_with_a_valid_form_is_a_404_too(app, alice, bob):
    alice_client = login(app.test_client(), alice)
    token = csrf_of(alice_client.get("/rooms").text)
    response = alice_client.post(f"/admin/users/{bob.id}/deactivate", data={"csrf_token": token})
    assert response.status_code == 404
    db.session.refresh(bob)
    assert bob.deactivated_at is None


def test_the_admin_link_shows_for_admins_only(app, root_client, alice):
    alice_client = login(app.test_client(), alice)
    assert 'id="admin-link"' in root_client.get("/rooms").text
    assert 'id="admin-link"' not in alice_client.get("/rooms").text


def test_users_search_and_paging(app, make_user, root_client):
    for n in range(3):
        make_user(f"kim{n}")
    page = root_client.get("/admin/users?q=kim", headers={"Accept-Language": "en"}).text
    assert "kim2" in page and "kim0" in page and "root" not in page.split("<tbody>")[1]
    assert root_client.get("/admin/users?before_id=x").status_code == 400


def test_deactivating_takes_a_confirmation(app, root_client, bob):
    confirm = root_client.get(f"/admin/users/{bob.id}/deactivate", headers={"Accept-Language": "en"})
    assert confirm.status_code == 200 and "Deactivate bob?" in confirm.text
    db.session.refresh(bob)
    assert bob.deactivated_at is None  # asking changes nothing
    # Without the form's CSRF token: refused.
    assert root_client.post(f"/admin/users/{bob.id}/deactivate").status_code in (400, 403)
    token = csrf_of(confirm.text)
    done = root_client.post(f"/admin/users/{bob.id}/deactivate", data={"csrf_token": token})
    assert done.status_code == 302
    assert db.session.scalar(sa.select(User.deactivated_at).where(User.id == bob.id)) is not None
    listed = root_client.get("/admin/users", headers={"Accept-Language": "en"}).text
    assert "Deactivated" in listed and "Reactivate" in listed
    done = root_client.post(f"/admin/users/{bob.id}/reactivate", data={"csrf_token": token})
    assert db.session.scalar(sa.select(User.deactivated_at).where(User.id == bob.id)) is None


def test_a_rooms_delete_takes_a_confirmation(app, root_client, alice):
    room = rooms.create_room(alice, "Old project")
    listed = root_client.get("/admin/rooms", headers={"Accept-Language": "en"}).text
    assert "Old project" in listed
    confirm = root_client.get(f"/admin/rooms/{room['id']}/delete", headers={"Accept-Language": "en"})
    assert "Delete the room Old project?" in confirm.text
    token = csrf_of(confirm.text)
    assert root_client.post(f"/admin/rooms/{room['id']}/delete", data={"csrf_token": token}).status_code == 302
    assert db.session.get(Room, room["id"]) is None
    audit = root_client.get("/admin/audit", headers={"Accept-Language": "en"}).text
    assert "Deleted a room" in audit and "Old project" in audit and "Made a site admin" in audit
    assert root_client.get(f"/admin/rooms/{room['id']}/delete").status_code == 404


def test_the_admin_area_shows_the_headline_figures(app, root_client):
    page = root_client.get("/admin/users").text
    figures = re.search(r'<dl class="admin-figures" id="admin-figures".*?</dl>', page, re.S).group(0)
    values = re.findall(r"<dd>([^<]*)</dd>", figures)
    assert len(values) == 8
    assert all(re.fullmatch(r"\d+(\.\d)?|–", v) for v in values), values
