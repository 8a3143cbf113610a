"""The UI's languages: which one a request speaks, and the catalog the JavaScript reads.

A request speaks, in this order: its user's setting; the `lang` asked for in the query
(which the language switch sets, and which then persists in the `lang` cookie); the
`lang` cookie; the best match of `Accept-Language` among ours; `DEFAULT_LOCALE`. A
socket's acks speak what its handshake settled (`locale_for`), kept on the connection. Error codes never change with the language; only their messages do.
"""

import functools
import hashlib
import json
import os

from babel.messages.pofile import read_po
from flask import current_app, g, has_request_context, request
from flask_babel import Babel, get_locale
from flask_login import current_user

LOCALES = ("ko", "en")
# Each language named in itself, as the language switch and the account page offer it.
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}
LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE = 365 * 86400

babel = Babel()


def init_app(app):
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    app.extensions["webchat.js_catalogs"] = {locale: _js_catalog(app, locale) for locale in LOCALES}
    app.after_request(_remember_asked_lang)
    app.context_processor(lambda: {"html_lang": str(get_locale()), "js_catalog_url": js_catalog_url})


def clean_locale(value):
    """`value` if it is one of ours, else None."""
    return value if value in LOCALES else None


def locale_for(user=None):
    """The language of the current request for `user` (or for nobody), by the order above."""
    return (
        clean_locale(getattr(user, "locale", None))
        or clean_locale(request.args.get("lang"))
        or clean_locale(request.cookies.get(LANG_COOKIE))
        or browser_locale()
    )


def browser_locale():
    """What this browser asks for by itself: `Accept-Language`'s best of ours, else the default."""
    return request.accept_languages.best_match(LOCALES) or current_app.config["DEFAULT_LOCALE"]


def remember_locale(response, locale):
    """Make the `lang` cookie say `locale` from the next request on; None forgets it, so
    that the browser's own choice speaks again."""
    if locale is None:
        response.delete_cookie(LANG_COOKIE, samesite="Lax", secure=request.is_secure)
    elif request.cookies.get(LANG_COOKIE) != locale:
        response.set_cookie(LANG_COOKIE, locale, max_age=LANG_COOKIE_MAX_AGE, samesite="Lax", secure=request.is_secure)
    return response


def select_locale():
    """Flask-Babel's selector for HTTP requests: the request's user's (the API's `g.user`,
    else the page session's), or the anonymous order. (A socket's acks speak its
    connection's language: the namespace forces it.)"""
    if not has_request_context():  # a CLI command, a background round
        return current_app.config["DEFAULT_LOCALE"]
    if "user" in g:
        return locale_for(g.user)
    return locale_for(current_user if current_user.is_authenticated else None)


def _remember_asked_lang(response):
    """`?lang=` persists: the cookie remembers it for the next pages."""
    asked = clean_locale(request.args.get("lang"))
    return remember_locale(response, asked) if asked else response


def _js_catalog(app, locale):
    """The JavaScript's half of a locale's catalog, as (JSON bytes, content hash): every
    message whose source is under static/js, read from the same .po file as the server's.
    A plural message is its list of forms (Korean has one, English two); the page picks
    one with `Intl.PluralRules`."""
    path = f"{app.root_path}/translations/{locale}/LC_MESSAGES/messages.po"
    return _js_catalog_of(path, locale, os.stat(path).st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _js_catalog_of(path, locale, _version):
    """`_js_catalog` of one version of the file (its mtime), read once per process:
    parsing the .po file was half of building an app, and the tests build one a test."""
    with open(path, encoding="utf-8") as handle:
        catalog = read_po(handle, locale=locale)
    messages = {}
    for message in catalog:
        if not message.id or not any(file.startswith("webchat/static/js/") for file, _line in message.locations):
            continue
        if isinstance(message.id, tuple | list):
            forms = [form or message.id[min(n, 1)] for n, form in enumerate(message.string)]
            messages[message.id[0]] = forms
        else:
            messages[message.id] = message.string or message.id
    body = json.dumps({"locale": locale, "messages": messages}, ensure_ascii=False, sort_keys=True).encode()
    return body, hashlib.sha256(body).hexdigest()[:12]


def js_catalog(locale):
    """(JSON bytes, hash) of `locale`'s JavaScript catalog, built at start-up."""
    return current_app.extensions["webchat.js_catalogs"][locale]


def js_catalog_url():
    """The current language's catalog for the page's scripts, versioned by its content."""
    from flask import url_for

    locale = str(get_locale())
    return url_for("i18n.catalog", locale=locale, version=js_catalog(locale)[1])
