"""Accounts: signup, authentication, access and refresh tokens, revocation."""

import math
import re
import unicodedata
import uuid

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jwt.exceptions import ExpiredSignatureError, PyJWTError
from sqlalchemy.exc import IntegrityError

from .. import offload, ratelimit, realtime
from ..database import transaction
from ..errors import ChatError, validation_error
from ..extensions import db
from ..i18n import LOCALES
from ..models import RefreshToken, User, utcnow
from . import names, passwords, sessions

# From 2 characters: many Korean given names are two syllables (준호).
USERNAME_MIN, USERNAME_MAX = 2, 32
USERNAME_RE = re.compile(r"^[\w.\-]+$")
# The length of User.username_key: NFKC can make a name longer (U+FDFA is 18 letters).
USERNAME_KEY_MAX = 96
PASSWORD_MIN, PASSWORD_MAX = 8, 1024
USERNAME_TAKEN = _l("That username is taken.")


def _hasher():
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"])


def _hash(password):
    """An argon2 hash of `password`, computed off the event loop (about 0.1 s of CPU)."""
    with _hashing_turn():
        return offload.run(_hasher().hash, password)


def _verify(password_hash, password):
    """argon2's verify, off the event loop: raises VerificationError on a mismatch."""
    with _hashing_turn():
        return offload.run(_hasher().verify, password_hash, password)


def check_config(config):
    """Refuse a hashing setting that would only fail at the first login: no turn at all
    would leave every login waiting forever."""
    value = config["PASSWORD_HASH_CONCURRENCY"]
    if not isinstance(value, int) or value < 1:
        raise RuntimeError(f"PASSWORD_HASH_CONCURRENCY must be a whole number of at least 1, not {value!r}")


def _hashing_turn():
    """A turn among this process's argon2 computations: at most PASSWORD_HASH_CONCURRENCY
    at once. Each runs argon2's four lanes on OS threads; twenty at once (the thread pool's
    size, in a storm of logins) left the event loop one runnable thread among eighty, and
    every socket of the process waited (bench's login storm: the others' p99 went to tens
    of seconds and logins queued past the database pool's timeout). Logins wait their turn
    instead, on a green thread, holding no database connection."""
    return offload.turn("PASSWORD_HASH_CONCURRENCY")


def normalize_username(username):
    """NFC form of a username as typed, surrounding spaces removed."""
    return unicodedata.normalize("NFC", (username or "").strip())


def username_key(username):
    """The case-insensitive identity of a username ("Kim" and "KIM" are one name)."""
    return unicodedata.normalize("NFKC", normalize_username(username)).casefold()


def username_problem(username):
    """Why `username` is not acceptable as a new name, or None."""
    if not isinstance(username, str) or not username.strip():
        return _l("Choose a username.")
    name = normalize_username(username)
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        return _l("Use %(min)s to %(max)s characters.", min=USERNAME_MIN, max=USERNAME_MAX)
    if problem := names.hidden_problem(name):
        return problem
    if not USERNAME_RE.fullmatch(name):
        return _l("Use letters, digits, '_', '.' or '-' only.")
    if len(username_key(name)) > USERNAME_KEY_MAX:
        return _l(
            "Some of these characters stand for several letters, which makes the name too long. Use simpler ones."
        )
    return names.mixed_script_problem(name)


def password_problem(password, username=None):
    """Why `password` is not acceptable: its length, or that it is easy to guess (common,
    a pattern, close to `username`; see services/passwords.py); or None."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        return _l("Use at least %(min)s characters.", min=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return _l("Use at most %(max)s characters.", max=PASSWORD_MAX)
    return passwords.weakness(password, normalize_username(username) if isinstance(username, str) else None)


def find_user(username):
    if not isinstance(username, str):
        return None
    return db.session.scalar(sa.select(User).where(User.username_key == username_key(username)))


def get_user(user_id):
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


def known_user(user_id, username):
    """A user already authenticated elsewhere (a socket's, checked at connect and on each
    `auth`), put in this session without a query: the id and name are known, any other
    attribute loads on first use. Logout and password changes disconnect the sockets, so
    nothing is lost by not re-reading the row on every event (nor by taking them as
    active: deactivation disconnects them too)."""
    user = User(id=user_id, username=username, deactivated_at=None)
    sa.orm.make_transient_to_detached(user)
    if sa.inspect(user).key in db.session.identity_map:
        return db.session.merge(user, load=False)
    db.session.add(user)  # as merge would, at a fraction of its cost: the session lacks it
    return user


def new_username_problem(username):
    """Why `username` cannot be a new account's: its form, that it is taken, or that it
    looks like an existing user's; or None. The signup form's live check asks it, and the
    signup page too when the form's own checks failed, so every field's error shows at once."""
    if problem := username_problem(username):
        return problem
    if find_user(normalize_username(username)) is not None:
        return USERNAME_TAKEN
    if lookalike := lookalike_username(username):
        return _l("That username looks too much like “%(name)s”, who is already here. Choose another.", name=lookalike)
    return None


def lookalike_username(username):
    """An existing username that looks like `username` (one confusables skeleton, after
    case folding: "аlice" in Cyrillic looks like "Alice"), or None: one indexed query."""
    same = sa.select(User.username).where(User.username_skeleton == username_skeleton(username)).limit(1)
    return db.session.scalar(same)


def username_skeleton(username):
    """What a username looks like, as stored in users.username_skeleton
    (`names.lookalike_key`)."""
    return names.lookalike_key(normalize_username(username))


def refresh_username_skeletons(batch=2000):
    """Recompute every user's skeleton (after the confusables table changed with an
    upgrade of its package); the number of users whose skeleton changed."""
    changed, last_id = 0, 0
    while True:
        with transaction() as session:
            rows = session.execute(
                sa.select(User.id, User.username, User.username_skeleton)
                .where(User.id > last_id)
                .order_by(User.id)
                .limit(batch)
            ).all()
            updates = [
                {"id": row.id, "username_skeleton": new}
                for row in rows
                if (new := username_skeleton(row.username)) != row.username_skeleton
            ]
            if updates:
                session.execute(sa.update(User), updates)
        if not rows:
            return changed
        changed += len(updates)
        last_id = rows[-1].id


def signup(username, password):
    """Create an account. Every field's problem is told at once: a taken name alone is
    USERNAME_TAKEN, anything else VALIDATION_ERROR naming each field (a taken name too).
    The unique key is the final word on a race between two signups."""
    problems = {}
    if problem := new_username_problem(username):
        problems["username"] = problem
    if problem := password_problem(password, username):
        problems["password"] = problem
    if len(problems) == 1 and problems.get("username") is USERNAME_TAKEN:
        raise ChatError("USERNAME_TAKEN", fields=problems)
    if problems:
        raise validation_error(**problems)
    name = normalize_username(username)
    user = User(
        username=name,
        username_key=username_key(name),
        username_skeleton=username_skeleton(name),
        password_hash=_hash(password),
    )
    try:
        with transaction() as session:
            session.add(user)
    except IntegrityError:
        raise ChatError("USERNAME_TAKEN", fields={"username": USERNAME_TAKEN}) from None
    return user


# Verified against when the username does not exist, so that both failures take as long;
# made before the first login looks anyone up, so that no first answer takes longer.
_DUMMY_HASH = None


def authenticate(username, password, address=None, device=None):
    """The user whose credentials these are, or INVALID_CREDENTIALS; a name that does not
    exist is answered exactly as a wrong password (same code, words and work: a hash is
    verified either way), and so are its delays.

    Failures are limited per (username, address): a few are free, then each makes the next
    attempt wait, twice as long each time (ratelimit.failed), so that someone guessing from
    one address never locks the owner out from another. A per-username ceiling
    (RATELIMIT_LOGIN_PER_USERNAME) bounds guessing spread over many addresses. A login from
    a known `device` (a device token of the user's, `device_token`) skips both and is
    delayed only by its own device's failures."""
    key = username_key(username) if isinstance(username, str) else ""
    device_id = known_device(device, key)
    scope = ("device", device_id) if device_id else ("address", key, address)
    ratelimit.refuse_while_waiting(*scope, message=_wait_message)
    if scope[0] == "address":
        ratelimit.refuse_if_over("RATELIMIT_LOGIN_PER_USERNAME", key)
    try:
        user = _verify_credentials(username, password)
    except ChatError as error:
        if error.code == "INVALID_CREDENTIALS":
            ratelimit.failed(*scope)
            if scope[0] == "address":
                ratelimit.count("RATELIMIT_LOGIN_PER_USERNAME", key)
        raise
    ratelimit.succeeded(*scope)
    return user


def _wait_message(seconds):
    if seconds > 90:
        wait = _ln("%(num)s minute", "%(num)s minutes", math.ceil(seconds / 60))
    else:
        wait = _ln("%(num)s second", "%(num)s seconds", seconds)
    return _l("Too many failed attempts. Try again in %(wait)s.", wait=wait)


def _verify_credentials(username, password):
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hash("not a password")
    user = find_user(username) if isinstance(password, str) else None
    stored_hash = user.password_hash if user is not None else None
    # The check waits for a pool thread and then computes for a while: the database
    # connection goes back to the pool first. Held through it, a storm of logins (the
    # morning, a restart) took every pooled connection while queued for the threads,
    # and the rest timed out with a 500 (bench's login storm: 908 of 1,000).
    db.session.commit()
    if user is None:
        try:
            _verify(_DUMMY_HASH, password if isinstance(password, str) else "")
        except VerificationError:
            pass
        raise ChatError("INVALID_CREDENTIALS")
    try:
        _verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        raise ChatError("INVALID_CREDENTIALS") from None
    if user.deactivated_at is not None:
        # Told only to someone who knows the password.
        raise ChatError("ACCOUNT_DEACTIVATED")
    if _hasher().check_needs_rehash(user.password_hash):
        new_hash = _hash(password)
        with transaction():
            user.password_hash = new_hash
    return user


def change_password(user, current_password, new_password):
    """Set a new password and revoke every session, token and socket of the user. Wrong
    current passwords are delayed per user as failed logins are (a stolen session must not
    guess the password behind it, nor spend an argon2 hash per guess unchecked)."""
    ratelimit.refuse_while_waiting("password", user.id, message=_wait_message)
    try:
        _verify(user.password_hash, current_password if isinstance(current_password, str) else "")
    except (VerificationError, InvalidHashError):
        ratelimit.failed("password", user.id)
        raise validation_error(current_password=_l("That is not your current password.")) from None
    ratelimit.succeeded("password", user.id)
    if problem := password_problem(new_password, user.username):
        raise validation_error(new_password=problem)
    new_hash = _hash(new_password)
    with transaction():
        user.password_hash = new_hash
        _revoke_all(user)


_DEVICE_SALT = "webchat-login-device"
DEVICE_USERS_MAX = 5  # users remembered by one device token (a shared computer)


def _device_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_DEVICE_SALT)


def _device_entries(token):
    """{username key: device id} of a device token we signed and that has not expired."""
    if not isinstance(token, str) or not token or len(token) > 2048:
        return {}
    try:
        entries = _device_serializer().loads(token, max_age=current_app.config["LOGIN_DEVICE_MAX_AGE_SECONDS"])
    except BadSignature:  # SignatureExpired included
        return {}
    return entries if isinstance(entries, dict) else {}


def known_device(token, key):
    """This device's id for the username key `key`, when `token` is a device token left by
    one of that user's successful logins; else None."""
    device_id = _device_entries(token).get(key) if key else None
    return device_id if isinstance(device_id, str) else None


def is_known_device(token, username):
    """Whether `token` is a device token of the user named `username` (the per-address
    limit on login requests lets such a device through: someone guessing from its
    address, an office's shared one, must not keep the owner out)."""
    return known_device(token, username_key(username) if isinstance(username, str) else "") is not None


def device_token(user, token=None):
    """A device token naming `user` beside the users `token` (this device's former one)
    named: given after a successful login, so that this device's next logins skip the
    per-address delays (OWASP's device cookies). A new id for the user each time."""
    entries = {k: v for k, v in _device_entries(token).items() if k != user.username_key}
    entries[user.username_key] = uuid.uuid4().hex
    return _device_serializer().dumps(dict(list(entries.items())[-DEVICE_USERS_MAX:]))


def set_locale(user, locale):
    """The user's UI language: "ko", "en", or None to follow the browser."""
    if locale is not None and locale not in LOCALES:
        raise validation_error(locale=_l("Use one of: %(choices)s, or null.", choices=", ".join(LOCALES)))
    with transaction():
        user.locale = locale
    return user


def access_token_lifetime():
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())


def issue_access_token(user, family=None):
    """A short-lived access token for the API and the socket (no refresh token). One
    issued with a refresh pair carries its family (`fam`), and dies with it."""
    claims = {"gen": user.token_generation}
    if family is not None:
        claims["fam"] = family
    token = create_access_token(identity=str(user.id), additional_claims=claims)
    return {"access_token": token, "expires_in": access_token_lifetime()}


def issue_tokens(user, user_agent=None, address=None):
    """An access token and a refresh token starting a new family: one login, whose
    session record (of the device `user_agent` names, at `address`) the family is."""
    with transaction():
        record = sessions.start(user, "token", user_agent, address, family=str(uuid.uuid4()))
        return _token_pair(user, family=record.family)


def _token_pair(user, family):
    """Create a token pair and record the refresh token, inside the caller's transaction."""
    tokens = issue_access_token(user, family)
    jti = str(uuid.uuid4())
    tokens["refresh_token"] = create_refresh_token(
        identity=str(user.id), additional_claims={"jti": jti, "fam": family, "gen": user.token_generation}
    )
    expires = utcnow() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    db.session.add(RefreshToken(jti=jti, family=family, user_id=user.id, expires_at=expires))
    return tokens


def decode(token, expected_type):
    """The claims of a token we signed, or TOKEN_INVALID / TOKEN_EXPIRED."""
    if not isinstance(token, str) or not token:
        raise ChatError("TOKEN_INVALID")
    try:
        claims = decode_token(token)
    except ExpiredSignatureError:
        raise ChatError("TOKEN_EXPIRED") from None
    except (PyJWTError, JWTExtendedException, ValueError):
        raise ChatError("TOKEN_INVALID") from None
    if claims.get("type") != expected_type:
        raise ChatError("TOKEN_INVALID")
    return claims


def user_for_access_token(token):
    """The user an access token speaks for, with its claims; revoked tokens (by logout,
    password change, or their family's session ending or expiring) are refused. One query."""
    claims = decode(token, "access")
    try:
        user_id = int(claims.get("sub"))
    except (TypeError, ValueError):
        raise ChatError("TOKEN_INVALID") from None
    family = claims.get("fam")
    if family is not None and not isinstance(family, str):
        raise ChatError("TOKEN_INVALID")
    revoked = sessions.dead_family(family) if family is not None else sa.false()
    row = db.session.execute(sa.select(User, revoked).where(User.id == user_id)).first()
    if row is None or row[1] or claims.get("gen") != row[0].token_generation or row[0].deactivated_at is not None:
        raise ChatError("TOKEN_INVALID")
    return row[0], claims


def revoked_credentials(credentials):
    """Of `credentials`, (user_id, generation, family or None) triples, the ones revoked
    since they were checked: the user's generation moved or the family's session is no
    longer live. For the sockets' periodic reconciliation; two queries per call."""
    credentials = set(credentials)
    if not credentials:
        return set()
    user_ids = {user_id for user_id, _gen, _fam in credentials}
    families = {family for _uid, _gen, family in credentials if family is not None}
    generations = dict(db.session.execute(sa.select(User.id, User.token_generation).where(User.id.in_(user_ids))).all())
    dead_families = sessions.dead_families(families)
    return {c for c in credentials if generations.get(c[0]) != c[1] or c[2] in dead_families}


def rotate_refresh_token(token):
    """Spend a refresh token for a new pair in the same family. A token presented a
    second time means it leaked: the whole family (its session) is ended and TOKEN_REUSED
    raised. A family whose session ended is TOKEN_INVALID, one past the session's idle or
    absolute lifetime TOKEN_EXPIRED."""
    claims = decode(token, "refresh")
    outcome = None
    with transaction() as session:
        row = session.scalar(sa.select(RefreshToken).where(RefreshToken.jti == claims.get("jti")).with_for_update())
        user = get_user(claims.get("sub"))
        if (
            row is None
            or row.revoked
            or user is None
            or claims.get("gen") != user.token_generation
            or user.deactivated_at is not None
        ):
            outcome = "TOKEN_INVALID"
        elif row.spent_at is not None:
            sessions.end_family(row.family)
            outcome = "TOKEN_REUSED"
        else:
            outcome = sessions.token_session_for_rotation(row.family)
            if outcome is None:
                row.spent_at = utcnow()
                tokens = _token_pair(user, family=row.family)
    if outcome:
        raise ChatError(outcome)
    return tokens


def revoke_all(user):
    """Inside the caller's transaction: end every session, access and refresh token of
    the user, and (after commit, on every node) every socket."""
    _revoke_all(user)


def _revoke_all(user):
    user.token_generation += 1
    db.session.execute(sa.update(RefreshToken).where(RefreshToken.user_id == user.id).values(revoked=True))
    sessions.end_all(user)
    realtime.disconnect_user_after_commit(user.id)


def logout(user):
    """Sign the user out everywhere: sessions, access and refresh tokens, live sockets."""
    with transaction():
        _revoke_all(user)
