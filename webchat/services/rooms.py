"""Rooms and membership: create, join, invite, kick, leave, direct rooms, room lists.

Creating rooms and direct rooms, joining, leaving and inviting are limited per user
(RATELIMIT_*_PER_USER): each of them posts a notice or lands a room in someone's list. Only
a change counts: joining a room one is in, or asking for a direct room that exists, does
not. Typing is coalesced per user and room (TYPING_INTERVAL_SECONDS)."""

import functools

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from .. import ratelimit, realtime
from ..database import transaction
from ..errors import ChatError, validation_error
from ..extensions import db
from ..models import Membership, Message, Room, RoomBan, User, utcnow
from ..payloads import iso, member_payload, message_payload, room_payload, user_payload
from . import accounts, audit, files, mentions, message_rows, names
from .access import check_member, lock_room, membership_of, next_rev, next_seq, parse_id, require_member
from .reads import UNREAD, read_up_to_latest

ROOM_TYPES = ("public", "private")
NAME_MAX = 80


def post_system_message(room, event_type, user, by=None):
    """A join/leave/... notice: an ordinary message of kind `system`, so history has it.
    The caller holds the room's lock."""
    message = Message(
        room_id=room.id,
        seq=next_seq(room),
        rev=next_rev(room),
        sender_id=None,
        kind="system",
        body="",
        event={"type": event_type, "user": user_payload(user), "by": user_payload(by)},
    )
    db.session.add(message)
    db.session.flush()
    realtime.emit_after_commit("new_message", {"message": message_payload(message)}, to=realtime.room_channel(room.id))
    return message


def validate_room_name(name):
    """The room name to store: whitespace collapsed, no invisible or control character."""
    if not isinstance(name, str) or not name.strip():
        raise validation_error(name=_l("Give the room a name."))
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        raise validation_error(name=_l("Use at most %(max)s characters.", max=NAME_MAX))
    if problem := names.hidden_problem(name):
        raise validation_error(name=problem)
    return name


def create_room(user, name, room_type="public"):
    """A new public or private room; the creator is its owner and first member."""
    name = validate_room_name(name)
    if room_type not in ROOM_TYPES:
        raise validation_error(type=_l("Choose public or private."))
    ratelimit.check("RATELIMIT_ROOMS_PER_USER", user.id)
    with transaction() as session:
        room = Room(name=name, type=room_type, owner_id=user.id, last_seq=0)
        session.add(room)
        session.flush()
        membership = Membership(room_id=room.id, user_id=user.id, role="owner")
        session.add(membership)
        message = post_system_message(room, "created", user)
        read_up_to_latest(membership, room, message)
        views = membership_changed(room, added_user_ids=[user.id])
    return views[user.id]


def join_room(user, room_id):
    """Join a public room (again, after leaving). Private and direct rooms are by invitation."""
    room_id = parse_id(room_id)
    with transaction() as session:
        room = lock_room(room_id)
        membership = membership_of(user.id, room_id)
        if room.type != "public":
            if membership is None or not membership.active:
                raise ChatError("ROOM_NOT_FOUND")
            return room_view(user, room_id)
        if membership is not None and membership.active:
            return room_view(user, room_id)
        refuse_if_banned(room_id, user.id)
        ratelimit.check("RATELIMIT_MEMBERSHIP_PER_USER", user.id)
        if membership is None:
            membership = Membership(room_id=room_id, user_id=user.id, role="member")
            session.add(membership)
        else:
            membership.active, membership.role = True, "member"
            membership.joined_at, membership.left_at = utcnow(), None
        message = post_system_message(room, "joined", user)
        # A (re)joining member starts with nothing unread.
        read_up_to_latest(membership, room, message)
        views = membership_changed(room, added_user_ids=[user.id])
    return views[user.id]


def active_memberships(room_id):
    return db.session.scalars(
        sa.select(Membership)
        .where(Membership.room_id == room_id, Membership.active.is_(True))
        .order_by(Membership.joined_at, Membership.id)
    ).all()


_MEMBERS = (
    sa.select(Membership.user_id, Membership.role, Membership.last_read_message_id, User.username, User.deactivated_at)
    .join(User, User.id == Membership.user_id)
    .where(Membership.room_id == sa.bindparam("room_id"), Membership.active.is_(True))
    .order_by(Membership.role != "owner", Membership.joined_at, Membership.id)
)


def members(room_id):
    """The contract's `member` list of a room, owner first, then by join time: plain
    columns, as a room of 200 as objects (each membership with all of its user) cost
    eight times the CPU."""
    rows = db.session.execute(_MEMBERS, {"room_id": room_id}).all()
    online = realtime.current_presence().online_among([row.user_id for row in rows])
    return [member_payload(row, row.user_id in online) for row in rows]


def member_list(user, room_id):
    """The members of a room the user is in."""
    return members(check_member(user, room_id))


def members_event(room_id):
    """The `members` broadcast: who is in the room and who is online."""
    listed = members(room_id)
    return {
        "room_id": room_id,
        "member_count": len(listed),
        "online_count": sum(1 for m in listed if m["online"]),
        "members": listed,
    }


def presence_changed(user_id):
    """The user came online or went offline: the rooms they are in get a fresh `members`
    list, coalesced per PRESENCE_FANOUT_MS, so a storm of connects (a restart, the
    morning) costs a few lists per room rather than one per connect, each as long as
    the room."""
    for room_id in active_room_ids(user_id):
        realtime.touch("members", room_id)


def members_deliveries(room_id):
    """The room's `members` round: its list, to the sockets that opened it (none if the
    room is gone: its sockets were told)."""
    event = members_event(room_id)
    return [(realtime.room_channel(room_id), event)] if event["members"] else []


def init_app(app):
    realtime.define_rounds(app, "members", "PRESENCE_FANOUT_MS", "members", members_deliveries, "online counts")


def membership_changed(room, added_user_ids=()):
    """After a membership change, once committed: `members` to the room, `room_added` to
    newcomers. Returns the newcomers' views of the room by user id (what the call that
    added them answers), read with the members' presence asked once."""
    db.session.flush()
    event = members_event(room.id)
    realtime.emit_after_commit("members", event, to=realtime.room_channel(room.id))
    online = {m["id"] for m in event["members"] if m["online"]}
    views = {}
    for user_id in added_user_ids:
        views[user_id] = room_view(accounts.get_user(user_id), room.id, online=online)
        realtime.emit_after_commit("room_added", {"room": views[user_id]}, to=realtime.user_channel(user_id))
    return views


def room_view(user, room_id, online=None):
    """One room as `user` sees it (the contract's `room`). Someone outside it sees a
    public room from outside (its name, owner and member count, to decide on joining);
    any other room, also one they left or were removed from, only as the code
    `require_member` gives them: its current name and members are its members' alone.
    `online`: who of its members is online, when the caller has asked already."""
    views = room_views(user, [room_id], online=online)
    if views:
        return views[0]
    room = db.session.get(Room, room_id)
    if room is None or room.type != "public":
        check_member(user, room_id)  # raises, unless they have just become a member
        return room_view(user, room_id)
    member_count = db.session.scalar(sa.select(_count_members()).select_from(Room).where(Room.id == room_id))
    owner = db.session.get(User, room.owner_id) if room.owner_id else None
    return room_payload(room, viewer=user, member_count=member_count, owner=owner)


def my_rooms(user):
    """Every room the user is an active member of, newest activity first (a room's last
    message, else its creation: a new direct room has no message yet), with unread
    counts and last messages, in a fixed number of queries whatever the room count."""
    return room_views(user, newest_first=True)


def public_rooms(user):
    """Public rooms anyone may join, largest first."""
    rows = db.session.execute(
        sa.select(Room, _count_members(), _OWNER)
        .outerjoin(_owner, _owner.id == Room.owner_id)
        .where(Room.type == "public")
        .order_by(Room.id.desc())
        .limit(500)
    ).all()
    ids = [room.id for room, _count, _owner_row in rows]
    mine = (
        set(
            db.session.scalars(
                sa.select(Membership.room_id).where(
                    Membership.user_id == user.id, Membership.active.is_(True), Membership.room_id.in_(ids)
                )
            ).all()
        )
        if ids
        else set()
    )
    result = []
    for room, member_count, owner in rows:
        payload = room_payload(room, member_count=member_count, owner=owner)
        payload["joined"] = room.id in mine
        result.append(payload)
    result.sort(key=lambda r: r["member_count"], reverse=True)
    return result


# A room's owner, for the lists (None for a direct room, which has none).
_owner = aliased(User)
_OWNER = message_rows.Joined("owner", _owner.id, _owner.username)
# A room's last message, for the room list.
_LAST_MESSAGE = message_rows.MESSAGE.label("last_message")


def room_views(user, room_ids=None, *, newest_first=False, online=None, with_last_message=True):
    """The contract's `room` for each of `room_ids` (None: every room) the user is an
    active member of, in two queries whatever the count: the rooms' distinct members
    (for presence, asked once; not when the caller gives the `online` users among them),
    then one row per room with its member, online and unread counts, its owner and its
    last message (None without `with_last_message`: for a caller that reads the latest
    page anyway). `newest_first`: by the time of the last message, else of the room's
    creation, newest first.

    A list of a few hundred rooms must cost neither ORM objects per room, member and
    message nor a row per membership of every room: plain columns, counts in SQL."""
    mine = sa.and_(Membership.user_id == user.id, Membership.active.is_(True))
    params = {"user_id": user.id}
    if room_ids is not None:
        if not room_ids:
            return []
        mine = sa.and_(mine, Membership.room_id.in_(room_ids))
        params["room_ids"] = list(room_ids)
    if online is None:
        online = _online_members(sa.select(Membership.room_id).where(mine))
    if online:
        params["online"] = sorted(online)
    statement = _room_views_statement(room_ids is not None, bool(online), with_last_message)
    rows = db.session.execute(statement, params).all()
    if newest_first:
        rows.sort(key=lambda row: row.last_message.created_at if row.last_message else row.created_at, reverse=True)
    return [
        # A row carries the room's fields and the user's read pointer.
        room_payload(
            row,
            viewer=user,
            membership=row,
            member_count=row.member_count,
            online_count=row.online_count,
            unread_count=row.unread,
            mention_count=row.mention_count,
            notify=row.notify,
            last_message=row.last_message if with_last_message else None,
            owner=row.owner,
        )
        for row in rows
    ]


# Another member of the same rooms, for the counts and presence of a room list.
_member = aliased(Membership)


def _online_members(room_ids):
    """The online users among the active members of `room_ids` (a subquery): presence is
    asked once about each distinct member, not once per membership."""
    user_ids = db.session.scalars(
        sa.select(_member.user_id).where(_member.room_id.in_(room_ids), _member.active.is_(True)).distinct()
    ).all()
    return realtime.current_presence().online_among(user_ids)


@functools.cache
def _room_views_statement(some_rooms, some_online, with_last_message):
    """`room_views`' query, built once for each shape (for all the user's rooms or those
    in :room_ids; online users in :online or none; with the last message, its 30 columns
    and 4 joins, or not): building and keying a statement of sixty columns cost a third
    of its CPU. Parameters: user_id, room_ids, online."""
    mine = sa.and_(Membership.user_id == sa.bindparam("user_id"), Membership.active.is_(True))
    if some_rooms:
        mine = sa.and_(mine, Membership.room_id.in_(sa.bindparam("room_ids", expanding=True)))
    online = _count_members(among=sa.bindparam("online", expanding=True)) if some_online else sa.literal(0)
    query = (
        sa.select(
            Room.id,
            Room.name,
            Room.type,
            Room.owner_id,
            Room.last_rev,
            Membership.last_read_message_id,
            Membership.last_read_seq,
            UNREAD,
            mentions.mention_count_of(sa.bindparam("user_id")).label("mention_count"),
            mentions.effective_notify().label("notify"),
            _count_members().label("member_count"),
            online.label("online_count"),
            Room.created_at,
            _OWNER,
        )
        .join(Membership, Membership.room_id == Room.id)
        .outerjoin(_owner, _owner.id == Room.owner_id)
    )
    if with_last_message:
        query = message_rows.joined(
            query.add_columns(_LAST_MESSAGE).outerjoin(
                Message, sa.and_(Message.room_id == Room.id, Message.seq == Room.last_seq)
            )
        )
    return query.where(mine)


def _count_members(among=None):
    """The number of active members of the enclosing query's `Room` (only those whose
    id is in `among`, a bound list, if given), as a correlated subquery."""
    query = sa.select(sa.func.count()).where(_member.room_id == Room.id, _member.active.is_(True))
    if among is not None:
        query = query.where(_member.user_id.in_(among))
    return query.scalar_subquery()


def active_room_ids(user_id):
    return db.session.scalars(
        sa.select(Membership.room_id).where(Membership.user_id == user_id, Membership.active.is_(True))
    ).all()


def _require_locked_member(user, room_id):
    """Lock the room, then check the user's membership under the lock."""
    room_id = check_member(user, room_id)
    room = lock_room(room_id)
    membership = membership_of(user.id, room_id)
    if membership is None or not membership.active:
        raise ChatError("USER_NOT_IN_CHAT_ROOM")
    return room, membership


def _target_user(username, field="username", active=False):
    """The user named `username`, or VALIDATION_ERROR; with `active`, one who may be
    added to a room (not deactivated)."""
    user = accounts.find_user(username) if isinstance(username, str) else None
    if user is None:
        raise validation_error(**{field: _l("No user by that name.")})
    if active and user.deactivated_at is not None:
        raise validation_error(**{field: _l("That account is deactivated.")})
    return user


def is_banned(room_id, user_id):
    return db.session.scalar(sa.select(sa.exists().where(RoomBan.room_id == room_id, RoomBan.user_id == user_id)))


def refuse_if_banned(room_id, user_id):
    """BANNED if the user is banned from the room (join, invite and re-entry ask)."""
    if is_banned(room_id, user_id):
        raise ChatError("BANNED")


def _activate(room_id, user_id, role="member"):
    """Create or reactivate a membership; returns it."""
    membership = membership_of(user_id, room_id)
    if membership is None:
        membership = Membership(room_id=room_id, user_id=user_id, role=role)
        db.session.add(membership)
    else:
        membership.active, membership.role = True, role
        membership.joined_at, membership.left_at = utcnow(), None
    return membership


def invite(actor, room_id, username):
    """Any active member adds someone to a public or private room (not a direct one)."""
    with transaction():
        room, _membership = _require_locked_member(actor, room_id)
        if room.type == "direct":
            raise ChatError("FORBIDDEN", _l("Direct rooms keep their participants; start a new one instead."))
        target = _target_user(username, active=True)
        existing = membership_of(target.id, room.id)
        if existing is None or not existing.active:
            refuse_if_banned(room.id, target.id)
            ratelimit.check("RATELIMIT_INVITES_PER_USER", actor.id)
            membership = _activate(room.id, target.id)
            message = post_system_message(room, "invited", target, by=actor)
            read_up_to_latest(membership, room, message)
            membership_changed(room, added_user_ids=[target.id])
    return room_view(actor, room.id)


def _remove_member(room, membership, reason):
    """Deactivate a membership and stop the user's sockets receiving the room."""
    membership.active, membership.left_at = False, utcnow()
    membership.role = "member"
    realtime.leave_room_after_commit(membership.user_id, room.id)
    realtime.emit_after_commit(
        "room_removed", {"room_id": room.id, "reason": reason}, to=realtime.user_channel(membership.user_id)
    )


def kick(actor, room_id, username, ban=False):
    """The owner removes a member; their sockets stop receiving the room at once. With
    `ban`, they stay out (join and invite answer BANNED) until unbanned; someone who
    already left can be banned too."""
    with transaction():
        room, membership = _require_locked_member(actor, room_id)
        if room.type == "direct":
            raise ChatError("FORBIDDEN", _l("Nobody can be removed from a direct room."))
        if membership.role != "owner":
            raise ChatError("FORBIDDEN", _l("Only the room's owner can remove members."))
        target = _target_user(username)
        if target.id == actor.id or target.id == room.owner_id:
            raise ChatError("FORBIDDEN", _l("Leave the room instead of removing yourself."))
        target_membership = membership_of(target.id, room.id)
        present = target_membership is not None and target_membership.active
        if not present and not ban:
            raise ChatError("USER_NOT_IN_CHAT_ROOM", _l("That user is not a member of this room."))
        if present:
            _remove_member(room, target_membership, "kicked")
            post_system_message(room, "kicked", target, by=actor)
            audit.record("kick", actor=actor, target=target, room=room)
            membership_changed(room)
        if ban and not is_banned(room.id, target.id):
            db.session.add(RoomBan(room_id=room.id, user_id=target.id, by_id=actor.id))
            audit.record("ban", actor=actor, target=target, room=room)
    return room_view(actor, room.id)


def _require_owner(user, room_id):
    """The room (locked) and the user's membership, if they own it; else FORBIDDEN (or
    the code `require_member` gives someone outside it)."""
    room, membership = _require_locked_member(user, room_id)
    if membership.role != "owner":
        raise ChatError("FORBIDDEN", _l("Only the room's owner can manage bans."))
    return room, membership


def bans(user, room_id):
    """Who is banned from a room, newest ban first, for its owner: [{user, by, created_at}]."""
    with transaction():
        room, _membership = _require_owner(user, room_id)
    rows = db.session.scalars(sa.select(RoomBan).where(RoomBan.room_id == room.id).order_by(RoomBan.id.desc())).all()
    return [{"user": user_payload(b.user), "by": user_payload(b.by), "created_at": iso(b.created_at)} for b in rows]


def unban(user, room_id, username):
    """The owner lifts a ban (nothing happens if there is none): the user may join or be
    invited again."""
    with transaction():
        room, _membership = _require_owner(user, room_id)
        target = _target_user(username)
        ban = db.session.scalar(sa.select(RoomBan).where(RoomBan.room_id == room.id, RoomBan.user_id == target.id))
        if ban is not None:
            db.session.delete(ban)
            audit.record("unban", actor=user, target=target, room=room)


def leave(user, room_id):
    """Leave a room. An owner hands ownership to the longest-standing member; the last
    member out deletes the room with its messages (and their files), in one transaction."""
    with transaction() as session:
        room, membership = _require_locked_member(user, room_id)
        ratelimit.check("RATELIMIT_MEMBERSHIP_PER_USER", user.id)
        was_owner = membership.role == "owner"
        _remove_member(room, membership, "left")
        remaining = active_memberships(room.id)
        if not remaining:
            files.discard_room_files(room.id)
            session.delete(room)  # memberships and messages go with it (ON DELETE CASCADE)
            realtime.emit_after_commit(
                "room_removed", {"room_id": room.id, "reason": "deleted"}, to=realtime.room_channel(room.id)
            )
            return
        if was_owner:
            heir = remaining[0]  # ordered by joined_at: the longest-standing member
            heir.role, room.owner_id = "owner", heir.user_id
        post_system_message(room, "left", user)
        membership_changed(room)


def direct_key(user_ids):
    return ",".join(str(uid) for uid in sorted(set(user_ids)))


def create_direct(user, usernames):
    """A direct room with one or more others. One set of participants has one room:
    asking again answers DUPLICATE_DIRECT_ROOM with its id (rejoining it if the caller
    had left)."""
    if not isinstance(usernames, list) or not usernames or len(usernames) > 20:
        raise validation_error(usernames=_l("Name 1 to 20 people."))
    others = {}
    for name in usernames:
        target = _target_user(name, field="usernames", active=True)
        if target.id != user.id:
            others[target.id] = target
    if not others:
        raise validation_error(usernames=_l("Name someone other than yourself."))
    participants = [user, *others.values()]
    key = direct_key(p.id for p in participants)
    _raise_if_direct_exists(user, key)
    ratelimit.check("RATELIMIT_DIRECT_ROOMS_PER_USER", user.id)
    try:
        with transaction() as session:
            participant_names = sorted((p.username for p in participants), key=str.casefold)
            room = Room(
                name=", ".join(participant_names)[:NAME_MAX], type="direct", owner_id=None, direct_key=key, last_seq=0
            )
            session.add(room)
            session.flush()
            # No "created" notice: a direct room starts with its first message (its
            # members' read pointers start before it, at nothing).
            session.add_all(Membership(room_id=room.id, user_id=p.id, role="member") for p in participants)
            views = membership_changed(room, added_user_ids=[p.id for p in participants])
    except IntegrityError:
        db.session.rollback()
        _raise_if_direct_exists(user, key)  # another request created it a moment ago
        raise
    return views[user.id]


def _raise_if_direct_exists(user, key):
    room_id = db.session.scalar(sa.select(Room.id).where(Room.direct_key == key))
    if room_id is None:
        return
    membership = membership_of(user.id, room_id)
    if membership is not None and not membership.active:
        refuse_if_banned(room_id, user.id)
        ratelimit.check("RATELIMIT_MEMBERSHIP_PER_USER", user.id)
        with transaction():
            room = lock_room(room_id)
            membership = _activate(room.id, user.id)
            message = post_system_message(room, "joined", user)
            read_up_to_latest(membership, room, message)
            membership_changed(room, added_user_ids=[user.id])
    raise ChatError("DUPLICATE_DIRECT_ROOM", room_id=room_id)


def search_users(user, query, limit=10):
    """Users whose name contains `query` anywhere (`준` finds `이준호`: Korean names put the
    family name first), names that start with it first; for invites and direct messages.
    A scan of the users table's keys, which stays small beside the messages."""
    if not isinstance(query, str) or not query.strip():
        return []
    part = accounts.username_key(query)
    escaped = part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    starts = User.username_key.like(escaped + "%", escape="\\")
    found = db.session.scalars(
        sa.select(User)
        .where(
            User.username_key.like("%" + escaped + "%", escape="\\"),
            User.id != user.id,
            User.deactivated_at.is_(None),
        )
        .order_by(sa.case((starts, 0), else_=1), User.username_key)
        .limit(limit)
    ).all()
    return [user_payload(u) for u in found]


def open_room(user, room_id):
    """What a socket needs to start showing a room: the room, its members and the
    latest page of messages (the `open_room` ack), in two statements (three when the page
    is not in this process's copy). The room's view
    is read afresh and only for an active member (the socket may have joined the room's
    stream since it checked: a kick committed meanwhile is refused here). Presence is
    asked once, for the member list; the room's online count is taken from it; the page
    is this process's copy while the room has not changed (`page_cache`)."""
    from .page_cache import latest_payloads

    room_id = parse_id(room_id)
    listed = members(room_id)
    online = {m["id"] for m in listed if m["online"]}
    views = room_views(user, [room_id], online=online, with_last_message=False)
    if not views:  # not an active member when the view was read
        check_member(user, room_id)  # the right code
        raise ChatError("USER_NOT_IN_CHAT_ROOM")  # (they rejoined a moment after: open it again)
    room = views[0]
    page, has_more = latest_payloads(room_id, room["last_rev"])
    room["last_message"] = page[-1] if page else None  # the latest page ends with it
    return {"room": room, "members": listed, "messages": page, "has_more": has_more, "last_rev": room["last_rev"]}


def set_notify(user, room_id, notify):
    """Choose what alerts the user in a room ("all", "mentions" or "mute"); every tab of
    theirs learns it (`notify_changed`). Returns the room as they now see it."""
    notify = mentions.clean_notify(notify)
    with transaction():
        membership = membership_of(user.id, parse_id(room_id), lock=True)
        if membership is None or not membership.active:
            require_member(user, room_id)  # raises the right code
        membership.notify = notify
        realtime.emit_after_commit(
            "notify_changed", {"room_id": membership.room_id, "notify": notify}, to=realtime.user_channel(user.id)
        )
    return room_view(user, membership.room_id)


def typing(user, room_id, skip_sid=None):
    """Tell the room's other sockets that `user` is typing (not stored), at most once per
    TYPING_INTERVAL_SECONDS for the user and room, from any of their sockets on any node:
    the signal means "for the next few seconds", so a repeat within them says nothing new
    (297 a second from one client reached every member before)."""
    room_id = check_member(user, room_id)
    if ratelimit.once_per("TYPING_INTERVAL_SECONDS", user.id, room_id):
        realtime.emit_now(
            "typing",
            {"room_id": room_id, "user": user_payload(user)},
            to=realtime.room_channel(room_id),
            skip_sid=skip_sid,
        )
