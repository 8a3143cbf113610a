"""The language switch on every page, and each language's catalog for the page scripts."""

from flask import abort, redirect, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..errors import validation_error
from ..i18n import clean_locale, js_catalog, remember_locale
from ..pages import safe_next
from ..services import accounts
from . import bp


@bp.post("/language")
def switch():
    """Speak `lang` from now on: in this browser (the cookie), and for a signed-in user
    who chose a language before, in their setting too (which would otherwise win)."""
    locale = clean_locale(request.form.get("lang"))
    if locale is None:
        raise validation_error(lang=_l("Choose one of the languages offered."))
    if current_user.is_authenticated and current_user.locale is not None:
        accounts.set_locale(current_user, locale)
    return remember_locale(redirect(safe_next(request.form.get("next")) or "/"), locale)


@bp.get("/i18n/<locale>.<version>.json")
def catalog(locale, version):
    """Immutable under its version (the content's hash): a changed catalog has a new URL."""
    if clean_locale(locale) is None:
        abort(404)
    body, current = js_catalog(locale)
    if version != current:
        abort(404)
    return (
        body,
        200,
        {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "public, max-age=31536000, immutable"},
    )
