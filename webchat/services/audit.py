"""The audit log: every moderation and admin action, written by the service that acts,
inside its transaction, so an action and its record commit (or fail) together."""

import sqlalchemy as sa

from ..extensions import db
from ..models import AuditEntry
from ..payloads import iso
from .access import parse_id, parse_limit

ACTIONS = (
    "kick",
    "ban",
    "unban",
    "delete_message",
    "deactivate",
    "reactivate",
    "grant_admin",
    "revoke_admin",
    "delete_room",
)
PAGE_DEFAULT, PAGE_MAX = 50, 100


def record(action, actor=None, target=None, room=None, message_id=None):
    """Add the row for `action` to the caller's transaction. `actor` is None for the
    command line."""
    assert action in ACTIONS, action
    db.session.add(
        AuditEntry(
            action=action,
            actor_id=actor.id if actor else None,
            actor_name=actor.username if actor else None,
            target_user_id=target.id if target else None,
            target_name=target.username if target else None,
            room_id=room.id if room else None,
            room_name=room.name if room else None,
            message_id=message_id,
        )
    )


def entries(before_id=None, limit=None):
    """A page of the log, newest first, and whether more lie beyond it."""
    limit = parse_limit(limit, PAGE_DEFAULT, PAGE_MAX)
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before_id not in (None, ""):
        query = query.where(AuditEntry.id < parse_id(before_id, "before_id"))
    rows = db.session.scalars(query).all()
    return rows[:limit], len(rows) > limit


def entry_payload(entry):
    """An audit row on the wire: who (`actor`, null for the command line), what
    (`action`), whom (`target`, and the room or message), when."""

    def ref(entity_id, name):
        return None if entity_id is None and name is None else {"id": entity_id, "name": name}

    return {
        "id": entry.id,
        "action": entry.action,
        "actor": ref(entry.actor_id, entry.actor_name),
        "target": ref(entry.target_user_id, entry.target_name),
        "room": ref(entry.room_id, entry.room_name),
        "message_id": entry.message_id,
        "created_at": iso(entry.created_at),
    }
