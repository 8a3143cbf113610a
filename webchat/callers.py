"""Who is calling over HTTP: a Bearer access token or the page's session. For every
HTTP adapter (the API, file downloads), so none borrows it from another; and the page
session's cookie, bound to its session record (`services/sessions.py`)."""

from flask import current_app, g, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError

from . import logs
from .errors import ChatError
from .extensions import csrf
from .services import accounts, sessions

# The key of the Flask session (the signed cookie) that names its session record.
SESSION_KEY = "session_id"


def bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def request_user():
    """The calling user, by Bearer token or by session (with CSRF for unsafe methods)."""
    if request.headers.get("Authorization"):
        token = bearer_token()
        if not token:
            raise ChatError("TOKEN_INVALID")
        user, g.token_claims = accounts.user_for_access_token(token)
        logs.note_user(user.id)
        return user
    return session_user()


def caller_family():
    """The family of the caller's session, after `request_user`: the Bearer token's
    (`fam`, None for a token without one), or this browser's session record's."""
    if "token_claims" in g:
        return g.token_claims.get("fam")
    record = current_session()
    return record.family if record is not None else None


def session_user():
    """The user of the page's session (with CSRF for unsafe methods), or UNAUTHENTICATED."""
    if current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS") and current_app.config.get("WTF_CSRF_ENABLED", True):
            try:
                csrf.protect()
            except CSRFError:
                raise ChatError("FORBIDDEN", _l("Missing or invalid CSRF token.")) from None
        return current_user._get_current_object()
    raise ChatError("UNAUTHENTICATED")


def page_user(user_key):
    """Flask-Login's user loader: the user of this browser's cookie while the session
    record it names is live, else nobody (signed out at once)."""
    user_id, _, generation = user_key.partition(":")
    found = sessions.page_session(session.get(SESSION_KEY), user_id, generation, request.remote_addr)
    if found is None:
        return None
    g.device_session = found[1]
    return found[0]


def current_session():
    """The session record of this browser's signed-in cookie (after `current_user`)."""
    return g.get("device_session") if current_user.is_authenticated else None


def sign_in(user):
    """Sign this browser in as `user` with a new session: the old cookie's contents (the
    CSRF secret too) go, and the new cookie names a new session record. Against session
    fixation: whatever was known of the cookie before the login is worth nothing after."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    record = sessions.start_page_session(user, request.user_agent.string, request.remote_addr)
    login_user(user)
    session[SESSION_KEY] = record.id
    g.device_session = record
    return record


def sign_out():
    """Forget this browser's signed-in cookie (the caller ended its session record)."""
    logout_user()
    session.clear()
