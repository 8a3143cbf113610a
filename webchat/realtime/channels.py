"""The channels sockets are put in, and the /chat namespace they live on."""

NAMESPACE = "/chat"


def room_channel(room_id):
    """Sockets that opened the room."""
    return f"room:{room_id}"


def user_channel(user_id):
    """Every socket of one user: all their tabs and devices."""
    return f"user:{user_id}"


def family_channel(family):
    """Every socket connected with an access token of one login's refresh family."""
    return f"family:{family}"


def parse_channel(channel):
    """("room" | "user", id) for a room's or a user's channel, else (None, None)."""
    kind, _, ident = channel.partition(":") if isinstance(channel, str) else ("", "", "")
    if kind in ("room", "user") and ident.isdigit():
        return kind, int(ident)
    return None, None
