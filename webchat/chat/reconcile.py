"""The sockets' periodic reconciliation: each process checks its own sockets again against
what a client cannot edit (the Socket.IO manager's channels, the database), in case a cut
(kick, logout, password change, a revoked token family) missed one.

A socket is disconnected when the presence registry does not hold it as its user's, or its
credential was revoked since it connected; it leaves every room channel its user is no
longer an active member of.
"""

from .. import realtime
from ..services import access, accounts

CHUNK = 500


def reconcile(server, namespace, presence):
    """One pass over this process's connected sockets; returns (disconnected, left)."""
    manager = server.manager
    owners, rooms_of = _channels(manager, namespace)
    doomed = set()
    credentials = {}
    for sid, user_ids in owners.items():
        connection = presence.get(sid)
        if connection is None or user_ids != {connection.user_id}:
            doomed.add(sid)
        else:
            credentials[sid] = connection.credential
    revoked = set()
    unique = list(set(credentials.values()))
    for start in range(0, len(unique), CHUNK):
        revoked |= accounts.revoked_credentials(unique[start : start + CHUNK])
    doomed |= {sid for sid, credential in credentials.items() if credential in revoked}

    pairs = {
        (room_id, credentials[sid][0])
        for sid, room_ids in rooms_of.items()
        if sid in credentials and sid not in doomed
        for room_id in room_ids
    }
    active = access.active_memberships(pairs)
    left = 0
    for sid, room_ids in rooms_of.items():
        if sid in doomed or sid not in credentials:
            continue
        for room_id in room_ids:
            if (room_id, credentials[sid][0]) not in active:
                server.leave_room(sid, realtime.room_channel(room_id), namespace=namespace)
                left += 1
    for sid in doomed:
        server.disconnect(sid, namespace=namespace, ignore_queue=True)
    return len(doomed), left


def _channels(manager, namespace):
    """For every connected socket of this process: the user ids of its user channels
    (one, unless something is wrong) and the room ids of its room channels."""
    owners, rooms_of = {}, {}
    connected = {sid for sid, _eio in manager.get_participants(namespace, None) if manager.is_connected(sid, namespace)}
    for sid in connected:
        owners[sid] = set()
    for channel in list(manager.rooms.get(namespace, {})):
        kind, ident = realtime.parse_channel(channel)
        if kind not in ("user", "room"):
            continue
        for sid, _eio in manager.get_participants(namespace, channel):
            if sid not in connected:
                continue
            if kind == "user":
                owners[sid].add(ident)
            else:
                rooms_of.setdefault(sid, set()).add(ident)
    return owners, rooms_of
