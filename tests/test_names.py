"""Names people set, over the wire (issue 24): room names and usernames refuse invisible
and control characters, a username's normalised form fits its column on both backends,
and look-alike usernames are refused at signup (the rules themselves: test_accounts.py)."""

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from webchat.errors import ChatError
from webchat.extensions import db
from webchat.models import User
from webchat.services import accounts, rooms

from .support.accounts import PASSWORD, bearer


@pytest.mark.parametrize(
    "name",
    [
        "a\x00b",  # NUL
        "\u202eexe.txt",  # right-to-left override
        "team\u200b",  # zero-width space
        "\u2067tag",  # right-to-left isolate
        "\ufeffbom",
        "\u3164",  # Hangul filler: a letter that shows as nothing
    ],
)
def test_room_names_refuse_invisible_and_control_characters(client, alice, name):
    response = client.post("/api/v1/rooms", json={"name": name, "type": "public"}, headers=bearer(alice))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and "invisible" in error["fields"]["name"]
    assert rooms.my_rooms(alice) == []


def test_room_names_keep_emoji_built_with_joiners(client, alice):
    """The zero-width joiner and variation selectors inside an emoji are the emoji."""
    for name in ("👨\u200d👩\u200d👧 가족", "❤\ufe0f 응원", "🏳\ufe0f\u200d🌈 팀"):
        response = client.post("/api/v1/rooms", json={"name": name, "type": "public"}, headers=bearer(alice))
        assert response.status_code == 201 and response.get_json()["room"]["name"] == name


def test_a_long_normalised_username_is_a_validation_error_on_both_backends(client):
    """Six U+FDFA (108 letters under NFKC) gave MariaDB's 500; now a field's reason."""
    response = client.post("/api/v1/auth/signup", json={"username": "\ufdfa" * 6, "password": PASSWORD})
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"].keys() == {"username"}


def test_lookalike_username_over_the_api_and_the_page(client, make_user):
    make_user("poe")
    cyrillic = "\u0440\u043e\u0435"  # рое
    response = client.post("/api/v1/auth/signup", json={"username": cyrillic, "password": PASSWORD})
    assert response.status_code == 400
    assert "“poe”" in response.get_json()["error"]["fields"]["username"]
    page = client.post("/auth/signup", data={"username": cyrillic, "password": PASSWORD, "password_confirm": PASSWORD})
    assert page.status_code == 400 and "looks too much like" in page.text


def test_the_live_name_check_tells_a_lookalike_too(client, make_user):
    make_user("poe")
    answer = client.get("/api/v1/users/available", query_string={"username": "\u0440\u043e\u0435"}).get_json()
    assert answer["available"] is False and "“poe”" in answer["reason"]
    assert client.get("/api/v1/users/available", query_string={"username": "poet"}).get_json()["available"] is True


def test_skeletons_are_filled_by_the_migration_and_refreshed_by_the_command(app, make_user):
    """Users from before the column get their skeleton from the migration; one whose stored
    skeleton is stale (a new confusables table) gets it back from the command."""
    alice, kim = make_user("Alice"), make_user("김준호")
    db.session.remove()
    downgrade(revision="a7e2c9d4b316")
    upgrade()
    stored = dict(db.session.execute(sa.select(User.id, User.username_skeleton)).all())
    assert stored[alice.id] == accounts.username_skeleton("alice") == accounts.username_skeleton("AIice")
    assert stored[kim.id] == accounts.username_skeleton("김준호") != stored[alice.id]
    db.session.execute(sa.update(User).where(User.id == kim.id).values(username_skeleton="stale"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["webchat", "users", "refresh-lookalikes"])
    assert result.exit_code == 0 and "1 usernames changed" in result.output
    assert db.session.get(User, kim.id).username_skeleton == accounts.username_skeleton("김준호")
    with pytest.raises(ChatError):
        accounts.signup("AIice", PASSWORD)  # a capital I for the l
