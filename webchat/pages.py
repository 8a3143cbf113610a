"""What the server-rendered pages share: the form-error helper of the page blueprints,
where a `next=` may send the browser, and the labels and limits every template shows,
which the pages' scripts read from the templates' data-* attributes rather than keeping
copies of their own."""

import unicodedata
from collections import Counter
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from flask import current_app, request
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from .i18n import LANGUAGE_NAMES
from .services import accounts, feed, files, messages, rooms, search

ROOM_TYPE_LABELS = {"public": _l("Public"), "private": _l("Private"), "direct": _l("Direct")}
# The colours a browser shows: the system's light or dark setting, or always one of them.
# A cookie, read here so that base.html picks the stylesheet before the first paint
# (no inline script under the CSP); a choice of this browser, as the system's setting is.
THEMES = ("system", "light", "dark")
THEME_COOKIE = "theme"
THEME_COOKIE_MAX_AGE = 365 * 86400


def show_errors(form, error):
    """Put a service's ChatError on a WTForms form: each reason next to the field it
    names, and on the form itself when the field is not in the form or none is named."""
    for name, reason in (error.fields or {}).items():
        if name in form:
            form[name].errors = list(form[name].errors) + [reason]
        else:
            form.form_errors.append(str(reason))
    if not error.fields:
        form.form_errors.append(str(error.message))


def safe_next(target):
    """`next` only when it is a path on this site (no scheme, no host, no `//`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    # Browsers drop tabs and newlines from URLs, and a newline cannot go into the
    # Location header at all: a target with any control character or space is refused.
    if any(c.isspace() or unicodedata.category(c)[0] == "C" for c in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def theme_choice():
    """This browser's theme: "system" (the default), "light" or "dark"."""
    value = request.cookies.get(THEME_COOKIE)
    return value if value in THEMES else "system"


def remember_theme(response, theme):
    """Make the `theme` cookie say `theme` from the next page on; "system" forgets it."""
    if theme == "system":
        response.delete_cookie(THEME_COOKIE, samesite="Lax", secure=request.is_secure)
    else:
        response.set_cookie(
            THEME_COOKIE, theme, max_age=THEME_COOKIE_MAX_AGE, samesite="Lax", secure=request.is_secure, httponly=True
        )
    return response


def limits():
    """The services' limits, as the pages show them and their scripts check them (the
    chat page passes each as data-<name>): lengths in characters, the delete window in
    seconds, the upload limit in bytes, page sizes in messages (and in changes, for the
    room's change feed), thumbnails' box in pixels."""
    config = current_app.config
    return {
        "max_length": config["MESSAGE_MAX_LENGTH"],
        "delete_window": config["MESSAGE_DELETE_WINDOW_SECONDS"],
        "max_upload": config["MAX_UPLOAD_BYTES"],
        "page_size": messages.PAGE_DEFAULT,
        "page_max": messages.PAGE_MAX,
        "changes_max": feed.PAGE_MAX,
        "username_min": accounts.USERNAME_MIN,
        "username_max": accounts.USERNAME_MAX,
        "password_min": accounts.PASSWORD_MIN,
        "room_name_max": rooms.NAME_MAX,
        "search_query_max": search.QUERY_MAX,
        "thumbnail_width": files.THUMBNAIL_BOX[0],
        "thumbnail_height": files.THUMBNAIL_BOX[1],
    }


def here_without_lang():
    """This page's path and query for the language switch's `next`, less `lang` (a
    `?lang=` left in it would switch the language straight back) and less a `next` that
    `safe_next` refuses (a foreign target is never written into a page)."""
    args = [
        (name, value)
        for name, value in request.args.items(multi=True)
        if name != "lang" and (name != "next" or safe_next(value))
    ]
    return request.path + (f"?{urlencode(args)}" if args else "")


def fallback_time(iso):
    """A contract timestamp ("…Z") as the server can write it: in the page language, in
    UTC, said so. The page's script writes it again in the reader's own time zone."""
    when = datetime.fromisoformat(iso.removesuffix("Z"))
    return f"{format_datetime(when, 'short', rebase=False)} UTC"


def shared_names(rooms):
    """The display names that more than one of `rooms` has: the lists show those rooms'
    type, members and owner beside the name (static/js/lib/roomlist.js, sharedNames, is
    the same rule for rooms added live)."""
    names = Counter(room["display_name"] for room in rooms)
    return {name for name, count in names.items() if count > 1}


def template_context():
    """Every template's `limits`, `room_type_labels`, `shared_names`, `language_switch`
    and `theme`
    (registered by create_app)."""
    return {
        "theme": theme_choice(),
        "limits": limits(),
        "room_type_labels": ROOM_TYPE_LABELS,
        "shared_names": shared_names,
        "language_switch": {"next": here_without_lang(), "choices": list(LANGUAGE_NAMES.items())},
    }
