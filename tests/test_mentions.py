"""Issue 20 in the service layer, the API and the socket, on SQLite and MariaDB: who a
message mentions, mention counts held to a scan through random histories, the edit rule,
the @room confirmation, the notify levels and the `notification` events."""

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webchat import realtime
from webchat.errors import ChatError
from webchat.extensions import db
from webchat.models import Membership, Mention, Message, Room
from webchat.services import edits, mentions, messages, reads, rooms

from .support.accounts import bearer

NS = "/chat"


def send(user, room_id, body, **kwargs):
    return messages.send_message(user, room_id, body, **kwargs)[0]


def code_of(call, *args, **kwargs):
    with pytest.raises(ChatError) as raised:
        call(*args, **kwargs)
    return raised.value


def received(sock, name):
    return [e["args"][0] for e in sock.get_received(NS) if e["name"] == name]


def counts_of(user):
    return {view["id"]: view["mention_count"] for view in rooms.my_rooms(user)}


@pytest.mark.parametrize(
    ("body", "names", "everyone"),
    [
        ("@민지 회의 시작해요", ["민지"], None),
        ("＠민지 전각 골뱅이", ["민지"], None),
        ("@Kim, @kim and @KIM.", ["Kim"], None),
        ("mail kim@example.com please", [], None),
        ("@here @room", [], "room"),
        ("@HERE 잠깐요", [], "here"),
        ("(@a.b-c) @x_y!", ["a.b-c", "x_y"], None),
        ("@@double", [], None),
        ("no mentions", [], None),
    ],
)
def test_what_a_text_mentions(body, names, everyone):
    assert mentions.parse(body) == (names, everyone)


@pytest.fixture
def team(make_user):
    """alice owns a room with 민지, 김민수, kim and bob; outsider is not in it."""
    people = {name: make_user(name) for name in ("alice", "민지", "김민수", "kim", "bob", "outsider")}
    room_id = rooms.create_room(people["alice"], "팀")["id"]
    for name in ("민지", "김민수", "kim", "bob"):
        rooms.join_room(people[name], room_id)
    return people, room_id


def test_names_resolve_to_members_with_korean_particles_and_nothing_else(team):
    people, room_id = team
    cases = {
        "@민지님 확인 부탁해요": ["민지"],
        "@김민수에게 전달": ["김민수"],
        "@민지야 @김민수씨": ["민지", "김민수"],
        "@KIM hello": ["kim"],
        "@kimberly is not kim": [],
        "@outsider is not in the room": [],
        "@nobody at all": [],
        "@민지 @민지 @민지님": ["민지"],
    }
    for body, expected in cases.items():
        message = send(people["alice"], room_id, body)
        assert message.mentions == ([people[n].id for n in expected] or None), body


def test_a_thousand_names_resolve_each_user_once(team, app):
    people, room_id = team
    body = " ".join(["@민지", "@kim", "@bob"] * 300 + [f"@ghost{i}" for i in range(100)])
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        message = send(people["alice"], room_id, body[:4000])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert sorted(message.mentions) == sorted([people["민지"].id, people["kim"].id, people["bob"].id])
    rows = db.session.scalars(sa.select(Mention.user_id).where(Mention.message_id == message.id)).all()
    assert sorted(rows) == sorted(message.mentions)
    assert len([s for s in statements if "username_key IN" in s]) == 1


def test_room_confirmation_above_five_members(team, make_user):
    people, room_id = team  # five members
    assert send(people["alice"], room_id, "@room 점심 메뉴 골라요").mention_all == "room"
    rooms.join_room(make_user("sixth"), room_id)
    last_seq = db.session.get(Room, room_id).last_seq
    for body in ("@room 회의 10분 전", "@here 잠깐 모여요"):
        error = code_of(messages.send_message, people["bob"], room_id, body)
        assert error.code == "CONFIRMATION_REQUIRED" and error.to_dict()["member_count"] == 6
    db.session.expire_all()
    assert db.session.get(Room, room_id).last_seq == last_seq  # nothing stored
    message = send(people["bob"], room_id, "@room 회의 10분 전", confirm=True)
    alerted = db.session.scalars(sa.select(Mention.user_id).where(Mention.message_id == message.id)).all()
    assert len(alerted) == 5 and people["bob"].id not in alerted
    assert code_of(messages.send_message, people["bob"], room_id, "@room", confirm="yes").code == "VALIDATION_ERROR"


def test_here_reaches_only_who_is_online(team, connect):
    people, room_id = team
    connect(people["민지"])
    message = send(people["alice"], room_id, "@here 지금 계신 분?")
    alerted = db.session.scalars(sa.select(Mention.user_id).where(Mention.message_id == message.id)).all()
    assert alerted == [people["민지"].id]


def test_counts_move_with_reads_deletes_and_replies(team):
    people, room_id = team
    alice, minji, bob = people["alice"], people["민지"], people["bob"]
    first = send(alice, room_id, "@민지 하나")
    send(alice, room_id, "그냥 메시지")
    second = send(alice, room_id, "@민지 둘")
    assert counts_of(minji)[room_id] == 2 and counts_of(bob)[room_id] == 0
    reads.mark_read(minji, room_id, first.id)
    assert counts_of(minji)[room_id] == 1
    messages.delete_message(alice, second.id)
    assert counts_of(minji)[room_id] == 0
    mine = send(bob, room_id, "질문 있어요")
    send(bob, room_id, "내 글에 내가 답글", reply_to=mine.id)  # no alert for oneself
    send(alice, room_id, "답변이에요", reply_to=mine.id)
    assert counts_of(bob)[room_id] == 1


def test_an_edit_notifies_only_the_newly_mentioned_once(team, connect):
    people, room_id = team
    alice, minji, kim = people["alice"], people["민지"], people["kim"]
    minji_sock, kim_sock = connect(minji), connect(kim)
    message = send(alice, room_id, "@민지 회의록 봐 주세요")
    assert [n["message"]["id"] for n in received(minji_sock, "notification")] == [message.id]
    assert received(kim_sock, "notification") == []
    edits.edit_message(alice, message.id, "@민지 @kim 회의록 봐 주세요")
    assert received(minji_sock, "notification") == []  # already told
    [told] = received(kim_sock, "notification")
    assert told["mentioned"] is True and told["message"]["mentions"] == [minji.id, kim.id]
    assert counts_of(kim)[room_id] == 1
    edits.edit_message(alice, message.id, "@민지 회의록 봐 주세요")  # kim dropped: no longer counts
    assert counts_of(kim)[room_id] == 0
    edits.edit_message(alice, message.id, "@민지 @kim 다시")  # back: counts, but no second alert
    assert counts_of(kim)[room_id] == 1 and received(kim_sock, "notification") == []


def test_each_notify_level(team, connect, app):
    people, room_id = team
    alice, minji, kim, bob = people["alice"], people["민지"], people["kim"], people["bob"]
    client = app.test_client()
    assert (
        client.put(f"/api/v1/rooms/{room_id}/notify", json={"notify": "all"}, headers=bearer(minji)).status_code == 200
    )
    muted = client.put(f"/api/v1/rooms/{room_id}/notify", json={"notify": "mute"}, headers=bearer(kim))
    assert muted.get_json()["room"]["notify"] == "mute"
    socks = {name: connect(people[name]) for name in ("alice", "민지", "kim", "bob")}
    for sock in socks.values():
        sock.get_received(NS)
    plain = send(alice, room_id, "공지 없음")
    mention = send(alice, room_id, "@kim @bob 확인")
    assert [n["message"]["id"] for n in received(socks["민지"], "notification")] == [plain.id, mention.id]
    assert received(socks["kim"], "notification") == []  # muted: nothing
    assert [n["message"]["id"] for n in received(socks["bob"], "notification")] == [mention.id]
    assert received(socks["alice"], "notification") == []  # never one's own
    assert counts_of(kim)[room_id] == 1  # a muted room still counts mentions
    views = {v["id"]: v for v in rooms.my_rooms(bob)}
    assert views[room_id]["notify"] == "mentions"  # the default outside direct rooms
    direct = rooms.create_direct(alice, ["bob"])
    assert {v["id"]: v for v in rooms.my_rooms(bob)}[direct["id"]]["notify"] == "all"
    bad = client.put(f"/api/v1/rooms/{room_id}/notify", json={"notify": "loud"}, headers=bearer(bob))
    assert bad.status_code == 400 and set(bad.get_json()["error"]["fields"]) == {"notify"}


def test_a_round_is_one_event_per_distinct_alert_whatever_the_room_size(app, make_user):
    """@room into 30 members: the send writes one INSERT ... SELECT, and the round sends one
    payload to all 29 channels at once, off the send path."""
    people = [make_user() for _ in range(30)]
    room_id = rooms.create_room(people[0], "Big")["id"]
    for person in people[1:]:
        rooms.join_room(person, room_id)
    mentions._pending.clear()
    send(people[0], room_id, "@room 전체 공지", confirm=True)
    key = (app, room_id)
    mentions._pending[key] = db.session.get(Room, room_id).last_seq
    deliveries = mentions.notification_deliveries(room_id)
    assert len(deliveries) == 1
    channels, payload = deliveries[0]
    assert sorted(channels) == sorted(realtime.user_channel(p.id) for p in people[1:])
    assert payload["mentioned"] is True and payload["message"]["mention_all"] == "room"


def test_unread_events_carry_the_mention_count(team, connect):
    people, room_id = team
    sock = connect(people["kim"])
    sock.get_received(NS)
    message = send(people["alice"], room_id, "@kim 봐 주세요")
    [unread] = received(sock, "unread")
    assert unread["mention_count"] == 1 and unread["unread_count"] == 1
    reads.mark_read(people["kim"], room_id, message.id)
    [unread] = received(sock, "unread")
    assert unread["mention_count"] == 0 and unread["unread_count"] == 0


def test_the_socket_asks_for_confirmation(team, make_user, connect):
    people, room_id = team
    rooms.join_room(make_user(), room_id)
    sock = connect(people["bob"])
    ack = sock.emit(
        "send_message", {"room_id": room_id, "body": "@room 긴급", "client_id": "c-1"}, namespace=NS, callback=True
    )
    assert ack["ok"] is False and ack["error"]["code"] == "CONFIRMATION_REQUIRED" and ack["error"]["member_count"] == 6
    ack = sock.emit(
        "send_message",
        {"room_id": room_id, "body": "@room 긴급", "client_id": "c-1", "confirm": True},
        namespace=NS,
        callback=True,
    )
    assert ack["ok"] is True and ack["message"]["mention_all"] == "room"


# Counts held to their definition through random histories.


def mentions_by_scan():
    """{(room_id, user_id): n} by the definition, from the messages alone: others' live
    messages after the member's pointer that name them, reach everyone (@room), or reply
    to a message of theirs."""
    parent = sa.orm.aliased(Message)
    result = {}
    members = db.session.execute(
        sa.select(Membership.room_id, Membership.user_id, Membership.last_read_seq).where(Membership.active.is_(True))
    ).all()
    for room_id, user_id, last_read_seq in members:
        rows = db.session.execute(
            sa.select(Message, parent.sender_id)
            .outerjoin(parent, parent.id == Message.reply_to_id)
            .where(
                Message.room_id == room_id,
                Message.seq > last_read_seq,
                Message.deleted_at.is_(None),
                Message.kind != "system",
                Message.sender_id != user_id,
            )
        ).all()
        result[(room_id, user_id)] = sum(
            1
            for message, parent_sender in rows
            if user_id in (message.mentions or ()) or message.mention_all == "room" or parent_sender == user_id
        )
    return result


def mentions_by_counts():
    return {
        (room_id, user_id): mentions.mention_counts(room_id).get(user_id, 0)
        for room_id, user_id in db.session.execute(
            sa.select(Membership.room_id, Membership.user_id).where(Membership.active.is_(True))
        )
    }


OPS = st.lists(
    st.tuples(
        st.sampled_from(["send", "send", "reply", "edit", "delete", "read", "read", "join", "leave"]),
        st.integers(0, 2),
        st.integers(0, 1),
        st.sampled_from(["hi", "@p0 hi", "@p1님 안녕", "@p2에게", "@room all", "@p0 @p1 @p2", "@nobody"]),
        st.integers(0, 5),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_mention_counts_equal_the_scan_through_any_history(app, make_user, ops):
    if not hasattr(app, "_mention_cast"):  # one cast per app: examples build on each other's history
        people = [make_user(f"p{i}") for i in range(3)]
        owned = [rooms.create_room(people[0], "Alpha")["id"], rooms.create_room(people[1], "Beta")["id"]]
        for user in people:
            for room_id in owned:
                rooms.join_room(user, room_id)
        app._mention_cast = people, owned
    people, owned = app._mention_cast
    for op, who, which, body, back in ops:
        user, room_id = people[who], owned[which]
        ids = db.session.scalars(
            sa.select(Message.id).where(Message.room_id == room_id).order_by(Message.seq.desc())
        ).all()
        some = ids[min(back, len(ids) - 1)] if ids else None
        own = db.session.scalar(
            sa.select(Message.id)
            .where(Message.room_id == room_id, Message.sender_id == user.id, Message.kind == "text")
            .where(Message.deleted_at.is_(None))
            .order_by(Message.seq.desc())
        )
        try:
            if op == "send":
                send(user, room_id, body)
            elif op == "reply" and some:
                send(user, room_id, body, reply_to=some)
            elif op == "edit" and own:
                edits.edit_message(user, own, body + " (edited)")
            elif op == "delete" and own:
                messages.delete_message(user, own)
            elif op == "read" and some:
                reads.mark_read(user, room_id, some)
            elif op == "join":
                rooms.join_room(user, room_id)
            elif op == "leave":
                rooms.leave(user, room_id)
        except ChatError:
            db.session.rollback()  # not a member, a system message, ...: the counts must still hold
        db.session.expire_all()
        assert mentions_by_counts() == mentions_by_scan(), (op, who, which, body, back)
    for user in people:
        expected = {room_id: n for (room_id, uid), n in mentions_by_scan().items() if uid == user.id}
        assert counts_of(user) == expected


# Bad input on the new fields.

BAD_FLAGS = ["yes", 1, 0, [], {}, "true"]


@pytest.mark.parametrize("confirm", BAD_FLAGS)
def test_confirm_must_be_a_boolean_on_send_and_edit(team, connect, confirm):
    people, room_id = team
    sock = connect(people["alice"])
    sent = {"room_id": room_id, "body": "@room 공지", "client_id": "c-bad", "confirm": confirm}
    ack = sock.emit("send_message", sent, namespace=NS, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "VALIDATION_ERROR" and "confirm" in ack["error"]["fields"]
    message = send(people["alice"], room_id, "원문")
    edit = {"message_id": message.id, "body": "@room 수정", "confirm": confirm}
    ack = sock.emit("edit_message", edit, namespace=NS, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "VALIDATION_ERROR"
    db.session.expire_all()
    assert db.session.get(Message, message.id).body == "원문"


@pytest.mark.parametrize("notify", [None, "", "ALL", "loud", 1, True, ["all"], {"notify": "all"}])
def test_notify_takes_only_its_three_levels(team, app, notify):
    people, room_id = team
    response = app.test_client().put(
        f"/api/v1/rooms/{room_id}/notify", json={"notify": notify}, headers=bearer(people["bob"])
    )
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert (
        db.session.scalar(
            sa.select(Membership.notify).where(Membership.room_id == room_id, Membership.user_id == people["bob"].id)
        )
        is None
    )


def test_notify_reaches_every_tab_of_mine(team, app, connect):
    people, room_id = team
    tabs = [connect(people["bob"]), connect(people["bob"])]
    for tab in tabs:
        tab.get_received(NS)
    response = app.test_client().put(
        f"/api/v1/rooms/{room_id}/notify", json={"notify": "mute"}, headers=bearer(people["bob"])
    )
    assert response.status_code == 200
    for tab in tabs:
        assert received(tab, "notify_changed") == [{"room_id": room_id, "notify": "mute"}]
