"""Logs: plain text by default, one JSON object per line with LOG_FORMAT=json.

Every HTTP request and every socket event is one record of the `webchat.access` logger
(INFO): its request id (the caller's X-Request-ID if it sent a sane one, else a new one,
returned in the response's X-Request-ID header), the user id when known, the route or
socket event, the status or error code, and the duration in ms. The app's own records
(`app.logger`, every `webchat.*` logger) share the format. LOG_LEVEL=warning keeps only
warnings and errors.
"""

import json
import logging
import re
import time
import uuid

from flask import g, request
from flask.logging import default_handler, wsgi_errors_stream

access = logging.getLogger("webchat.access")
# Flask's own format for the text lines.
TEXT_FORMAT = "[%(asctime)s] %(levelname)s in %(module)s: %(message)s"
# A caller's request id is kept if it is short and plain (it goes into every line).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# The fields of an access record, in the order a line shows them.
FIELDS = ("request_id", "user_id", "method", "route", "event", "status", "code", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the access fields it
    carries, and the traceback if any."""

    def format(self, record):
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


JsonFormatter.converter = time.gmtime


class _Handler(logging.StreamHandler):
    """Ours, so that a second app in one process (the tests) replaces it rather than
    adding another."""


def init_app(app):
    """Format the `webchat` loggers as LOG_FORMAT says and log each request."""
    logger = logging.getLogger("webchat")
    logger.setLevel(app.config.get("LOG_LEVEL") or "INFO")
    for handler in [h for h in logger.handlers if isinstance(h, _Handler)]:
        logger.removeHandler(handler)
    handler = _Handler(wsgi_errors_stream)  # as Flask's own: the request's wsgi.errors, else stderr
    handler.setFormatter(JsonFormatter() if app.config.get("LOG_FORMAT") == "json" else logging.Formatter(TEXT_FORMAT))
    logger.removeHandler(default_handler)  # Flask's, if an earlier app added it: ours replaces it
    logger.addHandler(handler)
    app.before_request(_begin)
    app.after_request(_end)


def request_id(given=None):
    """`given` if it is a sane id, else a fresh one."""
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


def note_user(user_id):
    """The caller of this request is `user_id` (set where the caller is found)."""
    g.log_user_id = user_id


def _begin():
    g.log_started = time.perf_counter()
    g.request_id = request_id(request.headers.get("X-Request-ID"))


def _end(response):
    started = g.pop("log_started", None)
    if started is None:  # a request whose before_request hooks did not all run
        return response
    response.headers["X-Request-ID"] = g.request_id
    if not access.isEnabledFor(logging.INFO):
        return response
    user_id = g.get("log_user_id")
    if user_id is None:
        login_user = g.get("_login_user")  # the session's user, if this request loaded it
        user_id = getattr(login_user, "id", None)
    route = request.url_rule.rule if request.url_rule is not None else None
    fields = {
        "request_id": g.request_id,
        "user_id": user_id,
        "method": request.method,
        "route": route or request.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if g.get("error_code"):
        fields["code"] = g.error_code
    access.info(
        "%s %s %s %s %sms user=%s request_id=%s",
        fields["method"],
        fields["route"],
        fields["status"],
        fields.get("code", "-"),
        fields["duration_ms"],
        user_id,
        g.request_id,
        extra=fields,
    )
    return response


def socket_event(event, user_id, code, seconds):
    """One socket event answered (`code` None when ok)."""
    if not access.isEnabledFor(logging.INFO):  # LOG_LEVEL=warning: nothing to build
        return
    fields = {
        "request_id": uuid.uuid4().hex,
        "user_id": user_id,
        "event": event,
        "status": "ok" if code is None else "error",
        "code": code,
        "duration_ms": round(seconds * 1000, 2),
    }
    access.info(
        "socket %s %s %sms user=%s request_id=%s",
        event,
        code or "ok",
        fields["duration_ms"],
        user_id,
        fields["request_id"],
        extra=fields,
    )
