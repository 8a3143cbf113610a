"""Sessions per device: one record per login, a page's (its cookie names the record) or
a token login's (its refresh family is the record's family).

A session is live until it is ended (by its owner, a logout, a password change) or
expires: unused for SESSION_IDLE_LIFETIME, or SESSION_ABSOLUTE_LIFETIME after the login.
Every token of a login carries its family (`fam`), so a session that is no longer live
refuses its cookie, its access and refresh tokens and its sockets' renewals, and ending
one disconnects exactly its sockets, on every node (the `family:` channel).
"""

import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from ua_parser import parse as parse_user_agent

from .. import realtime
from ..database import transaction
from ..errors import ChatError
from ..extensions import db
from ..models import DeviceSession, RefreshToken, User, utcnow
from . import access

log = logging.getLogger(__name__)

DEVICE_MAX = 120
# Real User-Agents are under 400 characters; ua-parser's regexes cost about 20 ms on 512
# characters of junk and 80 ms on 2,000 (measured), so longer ones are cut first.
USER_AGENT_MAX = 512


def init_app(app):
    """Compile ua-parser's rules now (about 0.4 s, measured), at start rather than in
    the first login's request, where it would hold the event loop."""
    describe_device("-")


def now():
    """The sessions' clock: naive UTC, as stored (the tests move it)."""
    return utcnow()


def describe_device(user_agent):
    """A User-Agent as people name their devices, by ua-parser: "Chrome 120 · Windows 10",
    "Mobile Safari 17 · iOS 17 · iPhone"; "" when nothing is known."""
    if not isinstance(user_agent, str) or not user_agent.strip():
        return ""
    result = parse_user_agent(user_agent[:USER_AGENT_MAX])
    parts = []
    for part in (result.user_agent, result.os):
        if part is not None and part.family != "Other":
            parts.append(f"{part.family} {part.major}" if part.major else part.family)
    if result.device is not None and result.device.family not in ("Other", "Spider"):
        parts.append(result.device.family)
    return " · ".join(parts)[:DEVICE_MAX]


def _live(at):
    """The SQL condition of a live session at time `at`."""
    cfg = current_app.config
    return sa.and_(
        DeviceSession.ended_at.is_(None),
        DeviceSession.last_seen_at > at - cfg["SESSION_IDLE_LIFETIME"],
        DeviceSession.created_at > at - cfg["SESSION_ABSOLUTE_LIFETIME"],
    )


def expiry(record, at):
    """Why `record` is not live at `at` ("ended" or "expired"), or None while it is."""
    cfg = current_app.config
    if record.ended_at is not None:
        return "ended"
    if record.last_seen_at <= at - cfg["SESSION_IDLE_LIFETIME"]:
        return "expired"
    if record.created_at <= at - cfg["SESSION_ABSOLUTE_LIFETIME"]:
        return "expired"
    return None


def start(user, kind, user_agent, address, family=None):
    """Inside the caller's transaction: the record of a new login of `user` ("page" or
    "token", whose refresh family is `family`). The user's dead records go meanwhile."""
    at = now()
    db.session.execute(sa.delete(DeviceSession).where(DeviceSession.user_id == user.id, sa.not_(_live(at))))
    record = DeviceSession(
        user_id=user.id,
        family=family or str(uuid.uuid4()),
        kind=kind,
        device=describe_device(user_agent),
        address=(address or "")[:45],
        created_at=at,
        last_seen_at=at,
    )
    db.session.add(record)
    db.session.flush()  # its id, which the page's cookie names
    return record


def start_page_session(user, user_agent, address):
    """A page login (the login and signup forms, a password change): its record."""
    with transaction():
        return start(user, "page", user_agent, address)


def page_session(session_id, user_id, generation, address):
    """The (user, record) a page's cookie speaks for, or None when the record is ended,
    expired, missing or another user's, or the user was signed out everywhere or
    deactivated. One query; last seen moves at most once per SESSION_TOUCH_SECONDS."""
    try:
        session_id, user_id = int(session_id), int(user_id)
    except (TypeError, ValueError):
        return None
    row = db.session.execute(
        sa.select(User, DeviceSession)
        .join(DeviceSession, DeviceSession.user_id == User.id)
        .where(DeviceSession.id == session_id, User.id == user_id, DeviceSession.kind == "page")
    ).first()
    if row is None:
        return None
    user, record = row
    at = now()
    if str(user.token_generation) != generation or user.deactivated_at is not None or expiry(record, at):
        return None
    if at - record.last_seen_at >= timedelta(seconds=current_app.config["SESSION_TOUCH_SECONDS"]):
        _touch(record, at, address)
    return user, record


def _touch(record, at, address):
    """Move last seen (and the address). A database that refuses the write (read-only,
    down) does not sign anyone out: the next request tries again."""
    try:
        with transaction():
            db.session.execute(
                sa.update(DeviceSession)
                .where(DeviceSession.id == record.id)
                .values(last_seen_at=at, address=(address or "")[:45])
            )
    except ChatError:
        log.warning("session %s: last seen not written (database unavailable)", record.id)
        return
    record.last_seen_at, record.address = at, (address or "")[:45]


def token_session_for_rotation(family):
    """Inside the caller's transaction (a refresh token's rotation): the outcome for the
    family's record, None when live (and its last seen moves), else "TOKEN_INVALID"
    (ended or missing) or "TOKEN_EXPIRED" (past a lifetime)."""
    record = db.session.scalar(sa.select(DeviceSession).where(DeviceSession.family == family))
    if record is None:
        return "TOKEN_INVALID"
    at = now()
    reason = expiry(record, at)
    if reason is not None:
        return "TOKEN_INVALID" if reason == "ended" else "TOKEN_EXPIRED"
    record.last_seen_at = at
    return None


def dead_family(family):
    """SQL: true when `family` has no live session (for the access-token check)."""
    return ~sa.exists().where(DeviceSession.family == family, _live(now()))


def dead_families(families):
    """Of `families`, those without a live session (one query)."""
    families = set(families)
    if not families:
        return set()
    live = db.session.scalars(sa.select(DeviceSession.family).where(DeviceSession.family.in_(families), _live(now())))
    return families - set(live)


def list_sessions(user):
    """The user's live sessions, the most recently seen first."""
    return db.session.scalars(
        sa.select(DeviceSession)
        .where(DeviceSession.user_id == user.id, _live(now()))
        .order_by(DeviceSession.last_seen_at.desc(), DeviceSession.id.desc())
    ).all()


def end_session(user, session_id):
    """End one of the user's own live sessions: its cookie, tokens and sockets stop
    working, on every node. Someone else's, or one not live, is NOT_FOUND."""
    session_id = access.parse_id(session_id, "session_id")
    with transaction():
        record = db.session.scalar(
            sa.select(DeviceSession)
            .where(DeviceSession.id == session_id, DeviceSession.user_id == user.id, _live(now()))
            .with_for_update()
        )
        if record is None:
            raise ChatError("NOT_FOUND", _l("No such session."))
        _end([record.family])
    return record


def end_other_sessions(user, keep_id):
    """End every live session of the user but `keep_id` (this device); how many ended."""
    with transaction():
        families = db.session.scalars(
            sa.select(DeviceSession.family).where(
                DeviceSession.user_id == user.id, DeviceSession.id != keep_id, _live(now())
            )
        ).all()
        _end(families)
    return len(families)


def end_family(family):
    """Inside the caller's transaction: end the session of a refresh family (a reused
    refresh token revokes it)."""
    _end([family])


def end_all(user):
    """Inside the caller's transaction: end every session of the user (logout
    everywhere, a password change, a deactivation; the caller disconnects the sockets)."""
    db.session.execute(
        sa.update(DeviceSession)
        .where(DeviceSession.user_id == user.id, DeviceSession.ended_at.is_(None))
        .values(ended_at=now())
    )


def _end(families):
    """End the sessions of `families`: the records, their refresh tokens, and after
    commit their sockets on every node."""
    if not families:
        return
    db.session.execute(
        sa.update(DeviceSession)
        .where(DeviceSession.family.in_(families), DeviceSession.ended_at.is_(None))
        .values(ended_at=now())
    )
    db.session.execute(sa.update(RefreshToken).where(RefreshToken.family.in_(families)).values(revoked=True))
    for family in families:
        realtime.disconnect_family_after_commit(family)
