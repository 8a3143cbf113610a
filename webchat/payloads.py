"""One function per wire shape of the contract, so the API, the socket and the pages
can never disagree on what a user, room, member or message looks like."""
from urllib.parse import quote


def iso(dt):
    """ISO 8601 UTC with `Z` (stored datetimes are naive UTC)."""
    return None if dt is None else dt.isoformat(timespec="milliseconds") + "Z"


def user_payload(user):
    return None if user is None else {"id": user.id, "username": user.username}


def own_user_payload(user):
    """A user as they see themselves: with their settings."""
    return {**user_payload(user), "locale": user.locale}


def message_payload(message):
    """A stored message as the contract's `message`; a deleted one keeps only its place."""
    deleted = message.deleted_at is not None
    return {
        "id": message.id,
        "room_id": message.room_id,
        "seq": message.seq,
        "sender": user_payload(message.sender),
        "kind": message.kind,
        "body": "" if deleted else message.body,
        "client_id": message.client_id,
        "created_at": iso(message.created_at),
        "deleted": deleted,
        "file": None if deleted or message.file is None else file_payload(message.file),
        "event": message.event,
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


def member_payload(membership, online):
    return {
        "id": membership.user_id,
        "username": membership.user.username,
        "role": membership.role,
        "online": online,
        "last_read_message_id": membership.last_read_message_id,
    }


def unread_payload(room_id, unread_count, last_message):
    """The `unread` event: one member's count in one room and the room's latest message."""
    return {
        "room_id": room_id,
        "unread_count": unread_count,
        "last_message": message_payload(last_message) if last_message is not None else None,
    }


def room_payload(room, *, membership=None, member_count=0, online_count=0, unread_count=0, last_message=None):
    """The contract's `room`, seen by one user (`membership` is theirs, if any)."""
    return {
        "id": room.id,
        "name": room.name,
        "type": room.type,
        "owner_id": room.owner_id,
        "member_count": member_count,
        "online_count": online_count,
        "unread_count": unread_count,
        "last_read_message_id": membership.last_read_message_id if membership else None,
        "last_message": message_payload(last_message) if last_message else None,
    }
