"""Email: the address on the account (verified by a signed link), and the emails of what
a member missed while away.

Every process sweeps every EMAIL_SWEEP_SECONDS (from its first request on). A member is
emailed about a room when they have a verified address with emails on, no socket on any
node, and in that room an unread mention (or, in a direct room, an unread message) older
than EMAIL_NOTIFY_DELAY_SECONDS that no email has covered yet, the room not muted, and no
email about that room in the last hour. Several processes sweep at once: the one whose
statement claims the room's `email_notices` row sends, every other one sees the claim.
A claim holds for EMAIL_CLAIM_SECONDS until the SMTP server has taken the email, so
that a process that dies in between leaves the email to another (late, not lost).
Without SMTP_URL nothing is sent and nothing fails.
"""

import functools
import logging
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_datetime, get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from .. import realtime
from ..database import transaction
from ..errors import ChatError, validation_error
from ..extensions import db, socketio
from ..i18n import clean_locale
from ..models import EmailNotice, Membership, Mention, Message, Room, User, utcnow
from ..payloads import display_name
from ..ratelimit import check as check_rate
from .mentions import effective_notify

logger = logging.getLogger(__name__)

EMAIL_MAX = 254
# Enough to catch a typo; the verification link is the real test of an address.
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
# At most one email about a room in this long.
NOTICE_INTERVAL = timedelta(hours=1)
# An email lists the newest this many messages it covers, and says how many more.
LISTED_MAX = 10
TEXT_MAX = 500
CANDIDATES_PAGE = 500
SMTP_TIMEOUT_SECONDS = 15
_VERIFY_SALT = "webchat.email.verify"
_STOP_SALT = "webchat.email.stop"


def enabled():
    """Whether this server sends email at all (SMTP_URL is set)."""
    return bool(current_app.config.get("SMTP_URL"))


# The address on the account.


def clean_email(value):
    """An address as stored (the domain in lower case), or None for an empty one."""
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > EMAIL_MAX or not _ADDRESS.fullmatch(value):
        raise validation_error(email=_l("Enter an email address such as name@example.com."))
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def save_settings(user, email, notify):
    """The account page's email settings. A new address is unverified until its link is
    opened; clearing it forgets it. Returns whether the address awaits verification."""
    email = clean_email(email)
    with transaction():
        if email != user.email:
            user.email, user.email_verified_at = email, None
        user.email_notify = bool(notify)
    return user.email is not None and user.email_verified_at is None


def send_verification(user, base_url):
    """Email `user` the link that verifies their address (links start at `base_url`).
    RATE_LIMITED past RATELIMIT_EMAIL_VERIFY_PER_USER; False when the SMTP server
    could not take it (or email is off)."""
    if not enabled() or user.email is None or user.email_verified_at is not None:
        return False
    check_rate("RATELIMIT_EMAIL_VERIFY_PER_USER", user.id)
    token = _verify_serializer().dumps({"u": user.id, "e": user.email})
    link = _link(base_url, "auth.verify_email", token=token)
    hours = current_app.config["EMAIL_VERIFY_MAX_AGE_SECONDS"] // 3600
    with force_locale(_locale_of(user)):
        context = {"username": user.username, "link": link, "hours": hours}
        subject = gettext("Confirm your email address for webchat")
        message = _message(user.email, subject, "verify", context)
    return deliver(message)


def verify_email(token):
    """Open a verification link: "verified" (now or before), "expired", or "invalid" (a
    bad signature, or an address no longer on the account)."""
    max_age = current_app.config["EMAIL_VERIFY_MAX_AGE_SECONDS"]
    try:
        claims = _verify_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return "expired"
    except BadSignature:
        return "invalid"
    with transaction():
        user = db.session.get(User, claims.get("u"))
        if user is None or user.email is None or user.email != claims.get("e"):
            return "invalid"
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
    return "verified"


def stop_link_token(user_id):
    """The opt-out token of a user's emails: it never expires, as such links must not."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_STOP_SALT).dumps({"u": user_id})


def stop_emails(token):
    """Open an opt-out link: the user's emails stop. False for a bad token."""
    try:
        claims = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_STOP_SALT).loads(token)
    except BadSignature:
        return False
    with transaction():
        user = db.session.get(User, claims.get("u") if isinstance(claims, dict) else None)
        if user is None:
            return False
        user.email_notify = False
    return True


def _verify_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_VERIFY_SALT)


# The emails of what one missed.


@dataclass
class Missed:
    """What one email tells: read in the claim's transaction, sent after its commit."""

    user_id: int
    address: str
    username: str
    locale: str | None
    room_id: int
    room_name: str
    direct: bool
    total: int
    through_seq: int
    listed: list = field(default_factory=list)  # [(sender name or None, created_at, kind, text)]


def sweep(now=None):
    """Email every member who is due one (see the module's docstring): one look, by one
    process, safe while others look too. Returns how many emails this process sent."""
    if not enabled():
        return 0
    now = now or utcnow()
    sent, after = 0, None
    while True:
        page = _candidates(now, after)
        db.session.rollback()  # no snapshot held while emails go out
        if not page:
            return sent
        after = page[-1]
        online = realtime.current_presence().online_among({user_id for user_id, _ in page})
        for user_id, room_id in page:
            if user_id in online:
                continue
            try:
                sent += _claim_and_send(user_id, room_id, now)
            except ChatError:  # the database went away, or a deadlock: the next sweep retries
                logger.warning("email sweep: skipped user %s room %s", user_id, room_id, exc_info=True)
        if len(page) < CANDIDATES_PAGE:
            return sent


def _candidates(now, after):
    """(user_id, room_id) pairs that look due an email, a page at a time after `after`;
    `_missed` decides, inside the claim."""
    cutoff = now - timedelta(seconds=current_app.config["EMAIL_NOTIFY_DELAY_SECONDS"])
    through = sa.func.coalesce(EmailNotice.through_seq, 0)
    mentioned = (
        sa.select(Mention.id)
        .join(Message, Message.id == Mention.message_id)
        .where(
            Mention.room_id == Membership.room_id,
            Mention.user_id == Membership.user_id,
            Mention.active.is_(True),
            Mention.seq > Membership.last_read_seq,
            Mention.seq > through,
            Message.created_at <= cutoff,
            Message.created_at >= User.email_verified_at,
            Message.deleted_at.is_(None),
        )
        .exists()
    )
    direct = (
        sa.select(Message.id)
        .where(
            Message.room_id == Membership.room_id,
            Message.seq > Membership.last_read_seq,
            Message.seq > through,
            _not_from(Membership.user_id),
            Message.kind != "system",
            Message.deleted_at.is_(None),
            Message.created_at <= cutoff,
            Message.created_at >= User.email_verified_at,
        )
        .exists()
    )
    query = (
        sa.select(Membership.user_id, Membership.room_id)
        .join(User, User.id == Membership.user_id)
        .join(Room, Room.id == Membership.room_id)
        .outerjoin(
            EmailNotice, sa.and_(EmailNotice.user_id == Membership.user_id, EmailNotice.room_id == Membership.room_id)
        )
        .where(
            User.email.is_not(None),
            User.email_verified_at.is_not(None),
            User.email_notify.is_(True),
            Membership.active.is_(True),
            effective_notify() != "mute",
            sa.or_(EmailNotice.id.is_(None), EmailNotice.sent_at <= now - NOTICE_INTERVAL),
            sa.or_(mentioned, sa.and_(Room.type == "direct", direct)),
        )
        .order_by(Membership.user_id, Membership.room_id)
        .limit(CANDIDATES_PAGE)
    )
    if after is not None:
        query = query.where(
            sa.or_(
                Membership.user_id > after[0], sa.and_(Membership.user_id == after[0], Membership.room_id > after[1])
            )
        )
    return [tuple(row) for row in db.session.execute(query).all()]


def _not_from(user_id):
    return sa.or_(Message.sender_id.is_(None), Message.sender_id != user_id)


class _NotOurs(Exception):
    """Another process claimed the email, or there is nothing to send any more."""


def _claim_and_send(user_id, room_id, now):
    """Claim the (user, room) email in the database, re-read what is unread inside the
    claim, send it, then confirm it: 1 if this process sent it, else 0. Whoever loses the
    claim sees a unique-key error (a first email) or a conditional UPDATE that changed no
    row (a later one); a claim with nothing to send any more rolls back.

    A claim is a lease: its row says "sent" EMAIL_CLAIM_SECONDS short of NOTICE_INTERVAL
    ago and covers nothing new yet, so if this process dies before the SMTP server took
    the email, another sends it once the lease runs out. Only the confirmation, after
    the SMTP server accepted it, moves `through_seq` and dates the row now."""
    if realtime.current_presence().online_among({user_id}):
        return 0
    notice = sa.and_(EmailNotice.user_id == user_id, EmailNotice.room_id == room_id)
    lease = now - NOTICE_INTERVAL + timedelta(seconds=current_app.config["EMAIL_CLAIM_SECONDS"])
    try:
        with transaction():
            previous = db.session.execute(sa.select(EmailNotice.sent_at, EmailNotice.through_seq).where(notice)).first()
            if previous is None:
                db.session.execute(
                    sa.insert(EmailNotice).values(user_id=user_id, room_id=room_id, sent_at=lease, through_seq=0)
                )
            else:
                claimed = db.session.execute(
                    sa.update(EmailNotice)
                    .where(
                        notice,
                        EmailNotice.sent_at <= now - NOTICE_INTERVAL,
                        EmailNotice.through_seq == previous.through_seq,
                    )
                    .values(sent_at=lease)
                )
                if claimed.rowcount != 1:
                    raise _NotOurs
            missed = _missed(user_id, room_id, now, previous.through_seq if previous else 0)
            if missed is None:
                raise _NotOurs
    except (_NotOurs, IntegrityError):
        return 0
    ours = sa.and_(notice, EmailNotice.sent_at == lease)
    if not deliver(compose(missed)):
        _release(ours, previous)
        return 0
    with transaction():
        confirmed = db.session.execute(
            sa.update(EmailNotice).where(ours).values(sent_at=now, through_seq=missed.through_seq)
        )
    if confirmed.rowcount != 1:  # slower than the lease: another process may have sent it too
        logger.warning("email sweep: user %s room %s sent after its claim ran out", user_id, room_id)
    return 1


def _release(ours, previous):
    """The SMTP server refused our email: undo our claim, so that a later sweep tries again."""
    with transaction():
        if previous is None:
            db.session.execute(sa.delete(EmailNotice).where(ours))
        else:
            db.session.execute(
                sa.update(EmailNotice).where(ours).values(sent_at=previous.sent_at, through_seq=previous.through_seq)
            )


def _missed(user_id, room_id, now, through_seq):
    """What the member has not read in the room and no email covered, if it is due an
    email now (None otherwise), read afresh: the pointer may have moved since the sweep
    looked, the settings changed, the member left."""
    row = db.session.execute(
        sa.select(User, Room, Membership.last_read_seq, effective_notify().label("notify"))
        .join(Membership, Membership.user_id == User.id)
        .join(Room, Room.id == Membership.room_id)
        .where(User.id == user_id, Room.id == room_id, Membership.active.is_(True))
        .execution_options(populate_existing=True)
    ).first()
    if row is None or row.notify == "mute":
        return None
    user, room = row.User, row.Room
    if user.email is None or user.email_verified_at is None or not user.email_notify:
        return None
    floor = max(row.last_read_seq, through_seq)
    if room.type == "direct":
        query = sa.select(Message).where(
            Message.room_id == room_id,
            Message.seq > floor,
            _not_from(user_id),
            Message.kind != "system",
        )
    else:
        query = (
            sa.select(Message)
            .join(Mention, Mention.message_id == Message.id)
            .where(
                Mention.room_id == room_id,
                Mention.user_id == user_id,
                Mention.active.is_(True),
                Mention.seq > floor,
            )
        )
    query = query.where(Message.deleted_at.is_(None), Message.created_at >= user.email_verified_at)
    covered = query.with_only_columns(Message.created_at, Message.seq).subquery()
    total, oldest, newest_seq = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(covered.c.created_at), sa.func.max(covered.c.seq))
    ).one()
    delay = timedelta(seconds=current_app.config["EMAIL_NOTIFY_DELAY_SECONDS"])
    if not total or oldest > now - delay:
        return None
    newest_first = db.session.scalars(query.order_by(Message.seq.desc()).limit(LISTED_MAX)).all()
    return Missed(
        user_id=user.id,
        address=user.email,
        username=user.username,
        locale=user.locale,
        room_id=room.id,
        room_name=display_name(room, user),  # a direct room is named after the others
        direct=room.type == "direct",
        total=total,
        through_seq=newest_seq,
        listed=[
            (
                m.sender.username if m.sender is not None else None,
                m.created_at,
                m.kind,
                m.file.name if m.kind == "file" and m.file is not None else _shorten(m.body),
            )
            for m in reversed(newest_first)
        ],
    )


def _shorten(text):
    text = " ".join((text or "").split())
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


def compose(missed):
    """The email of `missed`, in the member's language: plain text and an HTML
    alternative (every user-written text escaped), with the room's link and the opt-out
    link (also as List-Unsubscribe, one click)."""
    base = base_url()
    room_link = _link(base, "rooms.room", room_id=missed.room_id)
    stop_link = _link(base, "auth.stop_emails", token=stop_link_token(missed.user_id))
    with force_locale(_locale_of(missed)):
        senders = [name for name, *_ in missed.listed if name]
        if missed.direct:
            subject = ngettext(
                "%(num)d unread message from %(name)s",
                "%(num)d unread messages from %(name)s",
                missed.total,
                name=senders[-1] if senders else missed.room_name,
            )
            intro = gettext("While you were away, you were sent these messages:")
        else:
            subject = ngettext(
                "%(num)d unread mention in %(room)s",
                "%(num)d unread mentions in %(room)s",
                missed.total,
                room=missed.room_name,
            )
            intro = gettext("While you were away, you were mentioned in %(room)s:", room=missed.room_name)
        context = {
            "username": missed.username,
            "intro": intro,
            "messages": [_listed(*item) for item in missed.listed],
            "more": missed.total - len(missed.listed),
            "room_link": room_link,
            "stop_link": stop_link,
        }
        message = _message(missed.address, subject, "missed", context)
    message["List-Unsubscribe"] = f"<{stop_link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # One id per (member, room, what it covers): if a process dies after the SMTP server
    # took the email but before confirming it, the one sent again after the claim ran out
    # is the same message to the mail stores that deduplicate by Message-ID.
    domain = urlsplit(base).hostname or "localhost"
    message.replace_header("Message-ID", f"<missed.{missed.user_id}.{missed.room_id}.{missed.through_seq}@{domain}>")
    return message


def _listed(sender, created_at, kind, text):
    return {
        "sender": sender or gettext("Someone"),
        "time": format_datetime(created_at, "short"),
        "text": gettext("Sent a file: %(name)s", name=text) if kind == "file" else text,
    }


def _message(address, subject, template, context):
    """An EmailMessage to `address`: templates emails/<template>.txt and .html."""
    env = current_app.jinja_env
    context = {**context, "subject": subject, "lang": str(get_locale())}
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["EMAIL_FROM"]
    message["To"] = address
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=urlsplit(base_url()).hostname or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(env.get_template(f"emails/{template}.txt").render(**context))
    message.add_alternative(env.get_template(f"emails/{template}.html").render(**context), subtype="html")
    return message


def _locale_of(someone):
    return clean_locale(someone.locale) or current_app.config["DEFAULT_LOCALE"]


def base_url():
    """Where the links in emails start: PUBLIC_URL, else this process's own address."""
    return current_app.config.get("PUBLIC_URL") or f"http://localhost:{current_app.config['PORT']}"


def _link(base, endpoint, **values):
    """An absolute URL to one of the app's pages, under `base`, built without a request."""
    parts = urlsplit(base.rstrip("/"))
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


# Sending.


def deliver(message):
    """Hand `message` to the SMTP server of SMTP_URL: True once it accepted it, False
    (logged) when it could not be reached or refused it. Under eventlet or gevent the
    socket is the patched, cooperative one (as PyMySQL's is), so waiting for the server
    does not hold up the event loop."""
    url = current_app.config.get("SMTP_URL")
    if not url:
        return False
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        logger.error("SMTP_URL must start with smtp:// or smtps://")
        return False
    implicit_tls = parts.scheme == "smtps"
    host, port = parts.hostname or "localhost", parts.port or (465 if implicit_tls else 25)
    try:
        if implicit_tls:
            client = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=_tls_context())
        else:
            client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if not implicit_tls:
                client.ehlo()
                if client.has_extn("starttls"):
                    client.starttls(context=_tls_context())
                    client.ehlo()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
        return True
    except (smtplib.SMTPException, OSError):
        logger.warning("email to %s not sent", message["To"], exc_info=True)
        return False


@functools.cache
def _tls_context():
    """Built once: loading the system's certificates costs milliseconds of CPU."""
    return ssl.create_default_context()


# Each process's sweeper.

_EXTENSION = "webchat.emails"
_started_lock = threading.Lock()


def init_app(app):
    """With SMTP_URL and EMAIL_SWEEP_SECONDS set, the process starts sweeping with its
    first request (a health check will do), on Socket.IO's background-task machinery."""
    app.extensions[_EXTENSION] = {"sweeping": False}
    if app.config.get("SMTP_URL") and app.config.get("EMAIL_SWEEP_SECONDS", 0) > 0:
        app.before_request(functools.partial(_start_sweeper, app))


def _start_sweeper(app):
    state = app.extensions[_EXTENSION]
    if state["sweeping"]:
        return
    with _started_lock:
        if state["sweeping"]:
            return
        state["sweeping"] = True
    socketio.start_background_task(_sweep_forever, app, socketio.server)


def _sweep_forever(app, server):
    """For the life of the Socket.IO server it started with (the process's)."""
    seconds = app.config["EMAIL_SWEEP_SECONDS"]
    while True:
        socketio.sleep(seconds)
        if socketio.server is not server:
            return
        with app.app_context():
            try:
                sweep()
            except Exception:  # noqa: BLE001 - a database or SMTP hiccup must not end the loop
                app.logger.exception("email sweep failed; retrying")
            finally:
                db.session.remove()
