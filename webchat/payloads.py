"""One function per wire shape of the contract, so the API, the socket and the pages
can never disagree on what a user, room, member or message looks like."""


def iso(dt):
    """ISO 8601 UTC with `Z` (stored datetimes are naive UTC)."""
    return None if dt is None else dt.isoformat(timespec="milliseconds") + "Z"


def user_payload(user):
    return None if user is None else {"id": user.id, "username": user.username}
