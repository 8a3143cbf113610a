"""One function per wire shape of the contract, so the API, the socket and the pages
can never disagree on what a user, room, member or message looks like."""

from datetime import timedelta
from urllib.parse import quote

from flask import current_app

from .models import Room

# How much of a replied-to message a reply quotes.
QUOTE_LENGTH = 200

# A stored room name is cut to fit its column (see `display_name`).
ROOM_NAME_LENGTH = Room.__table__.c.name.type.length


def iso(dt):
    """ISO 8601 UTC with `Z` (stored datetimes are naive UTC)."""
    return None if dt is None else dt.isoformat(timespec="milliseconds") + "Z"


def user_payload(user):
    """The contract's `user`; a deactivated one says so (an extension: the page marks them)."""
    if user is None:
        return None
    if getattr(user, "deactivated_at", None) is not None:
        return {"id": user.id, "username": user.username, "deactivated": True}
    return {"id": user.id, "username": user.username}


def admin_user_payload(user):
    """A user as a site admin sees them: with `is_admin` and `active`."""
    return {
        "id": user.id,
        "username": user.username,
        "is_admin": user.is_admin,
        "active": user.deactivated_at is None,
        "created_at": iso(user.created_at),
    }


def session_payload(record, current_family=None):
    """A session (one login of one device) as its owner sees it; `current` marks the
    caller's own (this browser's, or the calling token's family)."""
    return {
        "id": record.id,
        "kind": record.kind,
        "device": record.device,
        "address": record.address,
        "created_at": iso(record.created_at),
        "last_seen_at": iso(record.last_seen_at),
        "current": record.family == current_family,
    }


def own_user_payload(user):
    """A user as they see themselves: with their settings."""
    return {**user_payload(user), "locale": user.locale}


def editable_until(created_at):
    """Until when the sender may edit a message sent at `created_at`: None, no limit
    (MESSAGE_EDIT_WINDOW_SECONDS is 0)."""
    window = current_app.config["MESSAGE_EDIT_WINDOW_SECONDS"]
    return created_at + timedelta(seconds=window) if window > 0 else None


def message_payload(message):
    """A stored message as the contract's `message`; a deleted one keeps only its place.
    `message` is a Message or a row with the same fields (the room list's)."""
    deleted = message.deleted_at is not None
    return {
        "id": message.id,
        "room_id": message.room_id,
        "seq": message.seq,
        "sender": user_payload(message.sender),
        "kind": message.kind,
        "body": "" if deleted else message.body,
        "html": "" if deleted else message.html,
        "client_id": message.client_id,
        "created_at": iso(message.created_at),
        "deleted": deleted,
        "deleted_by": (message.deleted_by or "sender") if deleted else None,
        "file": None if deleted or message.file is None else file_payload(message.file),
        "event": message.event,
        "rev": message.rev,
        "edited_at": iso(message.edited_at),
        "editable_until": None if deleted or message.kind != "text" else iso(editable_until(message.created_at)),
        "reactions": [] if deleted else reactions_payload(message.reactions),
        "reply_to": None if deleted or message.reply_to is None else quote_payload(message.reply_to),
        "mentions": [] if deleted else list(message.mentions or ()),
        "mention_all": None if deleted else message.mention_all,
    }


def reactions_payload(summary):
    """A message's reactions, from its stored summary, by first use."""
    return [{"emoji": e["emoji"], "count": len(e["user_ids"]), "user_ids": e["user_ids"]} for e in summary or ()]


def quote_payload(parent):
    """What a reply shows of the message it replies to, as that message is now."""
    deleted = parent.deleted_at is not None
    return {
        "id": parent.id,
        "seq": parent.seq,
        "sender": user_payload(parent.sender),
        "body": "" if deleted else parent.body[:QUOTE_LENGTH],
        "deleted": deleted,
    }


def file_payload(attachment):
    """A message's attachment; `url` ends in the (percent-encoded) name so that a saved
    link still says what it is."""
    url = f"/files/{attachment.id}/{quote(attachment.name, safe='')}"
    return {
        "id": attachment.id,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "url": url,
        "thumbnail_url": f"{url}?thumb=1" if attachment.thumbnail_key else None,
        "width": attachment.width,
        "height": attachment.height,
    }


def member_payload(member, online):
    """The contract's `member`: `member` is a membership row with its user's `username`
    and `deactivated_at` (rooms.members)."""
    payload = {
        "id": member.user_id,
        "username": member.username,
        "role": member.role,
        "online": online,
        "last_read_message_id": member.last_read_message_id,
    }
    if member.deactivated_at is not None:
        payload["deactivated"] = True  # an extension, as on `user`
    return payload


def unread_payload(room_id, unread_count, last_message, mention_count=0):
    """The `unread` event: one member's counts in one room and the room's latest message."""
    return {
        "room_id": room_id,
        "unread_count": unread_count,
        "mention_count": mention_count,
        "last_message": message_payload(last_message) if last_message is not None else None,
    }


def display_name(room, viewer):
    """The name `viewer` sees for `room`, on every page and in every `room` payload. A
    direct room is named after all its participants ("alice, bob, carol"); each of them
    sees the others. That name was cut to fit its column, so one of full length may end
    in part of a username: that part gives way to an ellipsis."""
    if room.type != "direct" or viewer is None:
        return room.name
    names = room.name.split(", ")
    cut = len(room.name) >= ROOM_NAME_LENGTH
    others = [name for name in (names[:-1] if cut else names) if name != viewer.username]
    return ", ".join(others + ["…"] if cut else others) or room.name


def room_payload(
    room,
    *,
    viewer=None,
    membership=None,
    member_count=0,
    online_count=0,
    unread_count=0,
    mention_count=0,
    notify=None,
    last_message=None,
    owner=None,
):
    """The contract's `room`, seen by `viewer` (`membership` is theirs, if any; `notify`
    their setting, None for a room they are not in; `owner` the owner's user, which the
    lists show so that two rooms of one name can be told apart)."""
    return {
        "id": room.id,
        "name": room.name,
        "display_name": display_name(room, viewer),
        "type": room.type,
        "owner_id": room.owner_id,
        "owner": user_payload(owner),
        "member_count": member_count,
        "online_count": online_count,
        "unread_count": unread_count,
        "mention_count": mention_count,
        "notify": notify,
        "last_read_message_id": membership.last_read_message_id if membership else None,
        # An extension: where the page lands (the first unread is the next seq).
        "last_read_seq": membership.last_read_seq if membership else None,
        "last_message": message_payload(last_message) if last_message else None,
        "last_rev": room.last_rev,
    }
