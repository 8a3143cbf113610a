"""Who is calling over HTTP: a Bearer access token or the page's session. For every
HTTP adapter (the API, file downloads), so none borrows it from another."""

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from . import logs
from .errors import ChatError
from .extensions import csrf
from .services import accounts


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
        user, _claims = accounts.user_for_access_token(token)
        logs.note_user(user.id)
        return user
    return session_user()


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
