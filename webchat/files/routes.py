"""The download route: a thin adapter over `services.files.download`, which decides who
may see what and how it is presented; this module turns that into HTTP."""

import os
import re
import unicodedata
from urllib.parse import quote

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wsgi import FileWrapper

from ..callers import request_user
from ..errors import ChatError, error_response, validation_error, wants_json
from ..extensions import login_manager
from ..services import files
from . import bp

# Whatever a file contains, a browser must not run it: no scripts, no plugins, no forms,
# a unique origin. The inline style is for the browser's own image viewer page.
FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def caller():
    """The user by Bearer token or session, or None for an anonymous caller. A token that
    is present but invalid or expired is still refused with its code, so a client knows
    to renew it."""
    try:
        return request_user()
    except ChatError as error:
        if error.code == "UNAUTHENTICATED":
            return None
        raise


def content_disposition(kind, name):
    """RFC 6266: an ASCII `filename` for old clients and the exact name in `filename*`
    (RFC 5987, UTF-8, percent-encoded)."""
    stem, extension = os.path.splitext(name)
    fallback = _ascii(stem) or "file"
    if re.fullmatch(r"\.[A-Za-z0-9]{1,16}", extension):
        fallback += extension
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _ascii(text):
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.sub(r'[^\x20-\x7e]|["\\%;]', "_", text).split()).strip(" ._")


@bp.get("/files/<int:file_id>/<path:name>")
def download(file_id, name):
    """The file (or with `?thumb=1` its thumbnail). `name` is only for people: the id
    decides. Ranges and conditional requests are answered from the stream, after the caller
    is authorised: `no-cache` makes a browser ask again on every view (a 304 costs no bytes),
    so a member who left or was kicked stops seeing the room's files at once. A signed-out
    browser that opens a file link is sent to log in, and back to the file (before anything
    is looked up: that says nothing of whether the file exists); a script, asking for JSON,
    is told NOT_FOUND like anyone else who may not see it."""
    user = caller()
    if user is None and not wants_json():
        return login_manager.unauthorized()
    found = files.download(user, file_id, thumbnail=request.args.get("thumb") == "1")
    response = current_app.response_class(
        FileWrapper(found.stream, 64 * 1024), content_type=found.content_type, direct_passthrough=True
    )
    response.content_length = found.size
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if found.inline else "attachment", found.name
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Vary"] = "Cookie, Authorization"
    response.cache_control.private = True
    response.cache_control.no_cache = True
    response.set_etag(found.etag)  # objects never change: the key is a strong validator
    response.last_modified = found.last_modified
    try:
        return response.make_conditional(request, accept_ranges=True, complete_length=found.size)
    except RequestedRangeNotSatisfiable:
        response.close()  # the stream is not going to be sent
        refused = validation_error(range=_l("The requested range is not within the file."))
        body, status, headers = error_response(refused, status=416)
        headers["Content-Range"] = f"bytes */{found.size}"
        return body, status, headers
    except BaseException:
        response.close()
        raise
