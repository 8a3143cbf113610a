"""Issue 19 in the service layer and the API, on SQLite and MariaDB: the change feed
(`rev`), edits and their history, reactions, replies and `around_seq`."""

from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from webchat.errors import ChatError
from webchat.extensions import db
from webchat.models import Message, Reaction, Room
from webchat.payloads import message_payload
from webchat.services import edits, feed, messages, reactions, rooms

from .support.accounts import bearer
from .support.concurrency import run_together


@pytest.fixture
def app(app_with):
    """Room in the pool for the 50 threads of the reaction race, each holding a connection."""
    return app_with(DB_MAX_OVERFLOW=60)


@pytest.fixture
def room(alice, bob):
    room_id = rooms.create_room(alice, "Changes")["id"]
    rooms.join_room(bob, room_id)
    return room_id


def send(user, room_id, body, **kwargs):
    return messages.send_message(user, room_id, body, **kwargs)[0]


def feed_state(user, room_id, after_rev=0):
    page, last_rev, has_more = feed.changes(user, room_id, after_rev, limit=500)
    assert not has_more
    return {m.id: message_payload(m) for m in page}, last_rev


def code_of(call, *args, **kwargs):
    with pytest.raises(ChatError) as raised:
        call(*args, **kwargs)
    return raised.value.code


def test_every_change_moves_rev_and_the_feed_brings_exactly_what_changed(alice, bob, room):
    sent = [send(alice, room, f"message {i}") for i in range(6)]
    _, cursor = feed_state(bob, room)
    # Offline, bob misses: two edits, a delete, a reaction.
    edits.edit_message(alice, sent[0].id, "edited zero")
    edits.edit_message(alice, sent[1].id, "edited one")
    messages.delete_message(alice, sent[2].id)
    reactions.react(alice, sent[3].id, "👍")
    changed, last_rev = feed_state(bob, room, cursor)
    assert set(changed) == {sent[0].id, sent[1].id, sent[2].id, sent[3].id}
    assert changed[sent[0].id]["body"] == "edited zero" and changed[sent[0].id]["edited_at"]
    assert changed[sent[2].id]["deleted"] is True
    assert changed[sent[3].id]["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [alice.id]}]
    assert last_rev == db.session.get(Room, room).last_rev == max(m["rev"] for m in changed.values())
    # Revs are unique and ascending; nothing else moved; seq never changes.
    revs = [m["rev"] for m in changed.values()]
    assert len(set(revs)) == 4
    assert [m.seq for m in sent] == [db.session.get(Message, m.id).seq for m in sent]
    assert feed_state(bob, room, last_rev)[0] == {}


def test_the_feed_pages_by_rev_and_names_where_to_continue(alice, room):
    for i in range(7):
        send(alice, room, f"m{i}")
    seen, cursor, has_more = [], 0, True
    while has_more:
        page, cursor, has_more = feed.changes(alice, room, cursor, limit=3)
        seen += [m.rev for m in page]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 9  # and the two notices
    assert cursor == db.session.get(Room, room).last_rev


def test_no_op_changes_move_no_rev(alice, bob, room):
    message = send(alice, room, "same")
    reactions.react(bob, message.id, "👍")
    before = db.session.get(Room, room).last_rev
    edits.edit_message(alice, message.id, "same")
    reactions.react(bob, message.id, "👍")
    reactions.react(bob, message.id, "🎉", add=False)
    db.session.expire_all()
    assert db.session.get(Room, room).last_rev == before


def test_edit_rules(app, alice, bob, room):
    message = send(alice, room, "original")
    assert code_of(edits.edit_message, bob, message.id, "not mine") == "FORBIDDEN"
    assert code_of(edits.edit_message, alice, message.id, "   ") == "MESSAGE_EMPTY"
    assert code_of(edits.edit_message, alice, message.id, "x" * 4001) == "MESSAGE_TOO_LONG"
    notice = db.session.scalar(sa.select(Message).where(Message.room_id == room, Message.kind == "system"))
    assert code_of(edits.edit_message, alice, notice.id, "x") == "VALIDATION_ERROR"
    edits.edit_message(alice, message.id, "second")
    edits.edit_message(alice, message.id, "third")
    assert [body for body, _at in edits.versions(bob, message.id)] == ["original", "second", "third"]
    messages.delete_message(alice, message.id)
    assert code_of(edits.edit_message, alice, message.id, "again") == "MESSAGE_NOT_FOUND"
    assert code_of(edits.versions, bob, message.id) == "MESSAGE_NOT_FOUND"  # nothing of it is kept


def test_the_edit_window(app_with, make_user):
    app_with(MESSAGE_EDIT_WINDOW_SECONDS=60)
    alice = make_user()
    room_id = rooms.create_room(alice, "Window")["id"]
    message = send(alice, room_id, "soon stale")
    assert message_payload(message)["editable_until"] is not None
    db.session.execute(
        sa.update(Message).where(Message.id == message.id).values(created_at=message.created_at.replace(year=2000))
    )
    db.session.commit()
    assert code_of(edits.edit_message, alice, message.id, "too late") == "MESSAGE_EDIT_TIME_EXPIRED"
    assert db.session.get(Message, message.id).body == "soon stale"


@pytest.mark.parametrize(
    "text, stored",
    [("👍", "👍"), ("❤", "❤️"), ("❤️", "❤️"), ("👍🏽", "👍🏽"), ("👨‍👩‍👧", "👨‍👩‍👧"), ("🇰🇷", "🇰🇷")],
)
def test_emoji_are_one_emoji_of_unicodes_list(text, stored):
    assert reactions.clean_emoji(text) == stored


@pytest.mark.parametrize("text", ["a", "👍👍", "🏻", "", " 👍", ":+1:", 1, None, "x" * 100])
def test_anything_else_is_not_an_emoji(app, text):
    assert code_of(reactions.clean_emoji, text) == "VALIDATION_ERROR"


def test_reaction_rules_and_the_distinct_cap(app, alice, bob, room):
    message = send(alice, room, "react to me")
    palette = list(
        "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘😗😚😙😋😛😜🤪😝🤑🤗🤭🤫🤔🤐🤨😐😑😶😏😒🙄😬🤥😌😔😪🤤😴😷🤒🤕🤢🤮"
    )
    assert len(palette) == 50
    for emoji in palette:
        reactions.react(alice, message.id, emoji)
    assert code_of(reactions.react, bob, message.id, "🎉") == "REACTION_LIMIT"
    # Joining one already there always works, at the cap too.
    reacted = reactions.react(bob, message.id, palette[0])
    assert message_payload(reacted)["reactions"][0] == {"emoji": "😀", "count": 2, "user_ids": [alice.id, bob.id]}
    reactions.react(alice, message.id, palette[0], add=False)
    assert message_payload(db.session.get(Message, message.id))["reactions"][0]["user_ids"] == [bob.id]
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(Reaction).where(Reaction.message_id == message.id))
    assert rows == 50
    notice = db.session.scalar(sa.select(Message).where(Message.room_id == room, Message.kind == "system"))
    assert code_of(reactions.react, bob, notice.id, "👍") == "VALIDATION_ERROR"
    messages.delete_message(alice, message.id)
    assert code_of(reactions.react, bob, message.id, "👍") == "VALIDATION_ERROR"
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Reaction).where(Reaction.message_id == message.id))
        == 0
    )


@pytest.mark.mariadb
def test_fifty_people_adding_the_same_reaction_at_once(app, backend, make_user, alice):
    if backend.name != "mariadb":
        pytest.skip("real row locks: MariaDB")
    room_id = rooms.create_room(alice, "Crowd")["id"]
    people = [make_user() for _ in range(50)]
    for person in people:
        rooms.join_room(person, room_id)
    message = send(alice, room_id, "react!")
    outcomes = run_together(app, *[(lambda u: reactions.react(u, message.id, "👍"), p) for p in people])
    assert outcomes == ["ok"] * 50
    db.session.expire_all()
    stored = db.session.get(Message, message.id)
    assert message_payload(stored)["reactions"][0]["count"] == 50
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reaction)) == 50


@pytest.mark.mariadb
def test_an_edit_racing_a_delete_ends_the_same_for_everyone(app, backend, alice, bob, room):
    if backend.name != "mariadb":
        pytest.skip("real row locks: MariaDB")
    for _ in range(5):
        message = send(alice, room, "race")
        outcomes = run_together(
            app,
            (lambda u, m=message.id: edits.edit_message(u, m, "edited"), alice),
            (lambda u, m=message.id: messages.delete_message(u, m), alice),
            (lambda u, m=message.id: reactions.react(u, m, "👍"), bob),
        )
        assert outcomes[1] == "ok" and set(outcomes) <= {"ok", "MESSAGE_NOT_FOUND", "VALIDATION_ERROR"}
        db.session.expire_all()
        final = message_payload(db.session.get(Message, message.id))
        assert final["deleted"] and final["body"] == "" and final["reactions"] == []
        changed, _ = feed_state(bob, room, final["rev"] - 1)
        assert changed[message.id] == final


def test_replies_quote_their_parent_live_and_follow_it_through_the_feed(alice, bob, room):
    parent = send(alice, room, "the question " + "?" * 300)
    reply = send(bob, room, "the answer", reply_to=parent.id)
    quote = message_payload(reply)["reply_to"]
    assert quote == {
        "id": parent.id,
        "seq": parent.seq,
        "sender": {"id": alice.id, "username": alice.username},
        "body": parent.body[:200],
        "deleted": False,
    }
    _, cursor = feed_state(bob, room)
    edits.edit_message(alice, parent.id, "the better question")
    changed, cursor = feed_state(bob, room, cursor)
    assert set(changed) == {parent.id, reply.id}
    assert changed[reply.id]["reply_to"]["body"] == "the better question"
    messages.delete_message(alice, parent.id)
    changed, _ = feed_state(bob, room, cursor)
    assert changed[reply.id]["reply_to"]["deleted"] is True and changed[reply.id]["reply_to"]["body"] == ""
    # The room list's last message carries the quote too.
    last = rooms.room_view(bob, room)["last_message"]
    assert last["id"] == reply.id and last["reply_to"]["deleted"] is True


def test_a_reply_must_quote_a_live_message_of_the_same_room(alice, bob, room):
    other = rooms.create_room(alice, "Elsewhere")["id"]
    elsewhere = send(alice, other, "not here")
    gone = send(alice, room, "gone")
    messages.delete_message(alice, gone.id)
    for reply_to in (elsewhere.id, gone.id, 999999, "x", True):
        assert code_of(messages.send_message, bob, room, "hi", reply_to=reply_to) == "VALIDATION_ERROR"


def test_around_seq_centres_the_page(alice, room):
    sent = [send(alice, room, f"m{i}") for i in range(30)]
    page, before, after = messages.around(alice, room, sent[15].seq, limit=11)
    assert [m.seq for m in page] == list(range(sent[15].seq - 5, sent[15].seq + 6))
    assert before and after
    page, before, after = messages.around(alice, room, 1, limit=11)
    assert [m.seq for m in page] == list(range(1, 12)) and not before and after


def test_the_api_speaks_the_same(client, alice, bob, room):
    message = send(alice, room, "over http")
    edited = client.patch(f"/api/v1/messages/{message.id}", json={"body": "edited"}, headers=bearer(alice))
    assert edited.status_code == 200 and edited.get_json()["message"]["body"] == "edited"
    url = f"/api/v1/messages/{message.id}/reactions/{quote('👍🏽')}"
    assert client.put(url, headers=bearer(bob)).get_json()["message"]["reactions"][0]["emoji"] == "👍🏽"
    assert client.delete(url, headers=bearer(bob)).get_json()["message"]["reactions"] == []
    history = client.get(f"/api/v1/messages/{message.id}/history", headers=bearer(bob)).get_json()
    assert [v["body"] for v in history["versions"]] == ["over http", "edited"]
    changes = client.get(f"/api/v1/rooms/{room}/changes?after_rev=0", headers=bearer(bob)).get_json()
    assert changes["messages"][-1]["id"] == message.id and changes["has_more"] is False
    for query in ("", "?after_rev=-1", "?after_rev=x", "?after_rev=0&limit=501"):
        bad = client.get(f"/api/v1/rooms/{room}/changes{query}", headers=bearer(bob))
        assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "VALIDATION_ERROR"
    around = client.get(f"/api/v1/rooms/{room}/messages?around_seq=1", headers=bearer(bob)).get_json()
    assert {"has_more_before", "has_more_after"} <= set(around)
    bad = client.put(f"/api/v1/messages/{message.id}/reactions/abc", headers=bearer(bob))
    assert bad.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_socket_events_and_message_updated(app, connect, alice, bob, room):
    message = send(alice, room, "live")
    alice_sock, bob_sock = connect(alice), connect(bob)
    bob_sock.emit("open_room", {"room_id": room}, namespace="/chat", callback=True)
    bob_sock.get_received("/chat")
    ack = alice_sock.emit(
        "edit_message", {"message_id": message.id, "body": "live, edited"}, namespace="/chat", callback=True
    )
    assert ack["ok"] and ack["message"]["edited_at"]
    ack = alice_sock.emit(
        "react", {"message_id": message.id, "emoji": "🎉", "add": True}, namespace="/chat", callback=True
    )
    assert ack["ok"] and ack["message"]["reactions"][0]["emoji"] == "🎉"
    bad = alice_sock.emit(
        "react", {"message_id": message.id, "emoji": "🎉", "add": "yes"}, namespace="/chat", callback=True
    )
    assert bad["error"]["code"] == "VALIDATION_ERROR"
    updates = [p["args"][0]["message"] for p in bob_sock.get_received("/chat") if p["name"] == "message_updated"]
    assert [u["body"] for u in updates] == ["live, edited", "live, edited"] and updates[1]["reactions"]
    assert updates[0]["rev"] < updates[1]["rev"]


def test_migration_gives_existing_messages_rev_equal_to_seq(app, alice, bob, room):
    for i in range(4):
        send(alice, room, f"before the feed {i}")
    db.session.remove()
    downgrade(revision="5a1c0e7d9b42")
    upgrade()
    rows = db.session.execute(sa.select(Message.seq, Message.rev).where(Message.room_id == room)).all()
    assert rows and all(seq == rev for seq, rev in rows)
    stored = db.session.get(Room, room)
    assert stored.last_rev == stored.last_seq == 6  # two notices, four messages
