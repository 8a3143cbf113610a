"""The error catalogue: every code of the wire contract, its HTTP status and default
message. Services raise `ChatError(code)`; the API, pages and socket acks render it
through `ChatError.to_dict()`, so a code means the same thing everywhere. Messages are
translated when rendered, into the request's (or the socket's) language; codes never are."""

from flask import g, jsonify, render_template, request
from flask_babel import lazy_gettext as _l

from . import metrics

ERRORS = {
    "UNAUTHENTICATED": (401, _l("Sign in first.")),
    "TOKEN_INVALID": (401, _l("The token is malformed, wrongly signed or revoked.")),
    "TOKEN_EXPIRED": (401, _l("The token has expired.")),
    "TOKEN_REUSED": (401, _l("This refresh token was already used; its family is revoked.")),
    "INVALID_CREDENTIALS": (401, _l("Wrong username or password.")),
    "USERNAME_TAKEN": (409, _l("That username is taken.")),
    "VALIDATION_ERROR": (400, _l("Some fields are missing or malformed.")),
    "ROOM_NOT_FOUND": (404, _l("No such room.")),
    "USER_NOT_IN_CHAT_ROOM": (403, _l("You are not a member of this room.")),
    "FORBIDDEN": (403, _l("You are not allowed to do that.")),
    "DUPLICATE_DIRECT_ROOM": (409, _l("A direct room with these people already exists.")),
    "MESSAGE_NOT_FOUND": (404, _l("No such message.")),
    "MESSAGE_DELETE_TIME_EXPIRED": (403, _l("Messages can only be deleted shortly after sending.")),
    "MESSAGE_EMPTY": (400, _l("The message is empty.")),
    "MESSAGE_TOO_LONG": (400, _l("The message is too long.")),
    "MESSAGE_EDIT_TIME_EXPIRED": (403, _l("This message can no longer be edited.")),
    "REACTION_LIMIT": (400, _l("This message has as many different reactions as it can take.")),
    "CONFIRMATION_REQUIRED": (409, _l("This notifies everyone in the room; confirm to send it.")),
    "BANNED": (403, _l("You are banned from this room.")),
    "ACCOUNT_DEACTIVATED": (403, _l("This account has been deactivated.")),
    "FILE_TOO_LARGE": (413, _l("The file is too large.")),
    "FILE_EMPTY": (400, _l("The file is empty.")),
    "RATE_LIMITED": (429, _l("Too many attempts; wait a moment.")),
    "SERVICE_UNAVAILABLE": (503, _l("The service is temporarily unavailable; retry is safe.")),
    # Not in the contract's table: a path that does not exist at all (or a method it does
    # not take, with status 405), and a server bug.
    "NOT_FOUND": (404, _l("Not found.")),
    "INTERNAL_ERROR": (500, _l("Something went wrong; it was logged.")),
}

# What an error page says (errors/error.html): a heading and what to do, for each code that
# can reach a page rather than a script (tests/test_error_pages.py reaches each one); any
# other code gets its catalogue message. The code itself is shown small, for support.
PAGE_TEXTS = {
    "NOT_FOUND": (_l("This page does not exist."), _l("The link may be mistyped, or the page may have moved.")),
    "ROOM_NOT_FOUND": (
        _l("This room is not available."),
        _l("It may have been deleted, or it is a private room you are not in. Ask a member to invite you."),
    ),
    "FORBIDDEN": (_l("This could not be done."), _l("You do not have the right to do this.")),
    # A private or direct room one left or was removed from: nothing of it is shown.
    "USER_NOT_IN_CHAT_ROOM": (
        _l("You are not in this room."),
        _l("Only its members can see it."),
    ),
    "VALIDATION_ERROR": (
        _l("Something in the request was not right."),
        _l("Go back, check what you entered, and try again."),
    ),
    "RATE_LIMITED": (_l("Too many tries in a short time."), _l("Wait a moment, then try again.")),
    "FILE_TOO_LARGE": (_l("The file is too large."), _l("Choose a smaller file and try again.")),
    "SERVICE_UNAVAILABLE": (
        _l("webchat is not available right now."),
        _l("Nothing was saved, so trying again in a moment is safe."),
    ),
    "INTERNAL_ERROR": (_l("Something went wrong on our side."), _l("The error was logged. Try again in a moment.")),
}


class ChatError(Exception):
    """A failure the client should see, named by a catalogue code."""

    def __init__(self, code, message=None, *, fields=None, **extra):
        if code not in ERRORS:
            raise ValueError(f"unknown error code {code}")
        self.code = code
        self.status, default = ERRORS[code]
        self.message = message or default
        self.fields = fields
        self.extra = extra
        super().__init__(code)

    def __str__(self):
        return f"{self.code}: {self.message}"

    def to_dict(self):
        """The `error` object of the contract: code, message (in the current language), and
        fields (their reasons likewise) or extras."""
        error = {"code": self.code, "message": str(self.message)}
        if self.fields is not None:
            error["fields"] = {name: str(reason) for name, reason in self.fields.items()}
        error.update(self.extra)
        return error


def validation_error(**fields):
    """A VALIDATION_ERROR naming each bad field with a human reason."""
    return ChatError("VALIDATION_ERROR", fields=fields)


def wants_json():
    """API calls and JSON clients get JSON errors; browsers get pages. A request with an
    `Authorization` header (a Bearer download) is a script's: browsers' pages send none."""
    return (
        request.path.startswith("/api/")
        or request.accept_mimetypes.best == "application/json"
        or "Authorization" in request.headers
    )


def page_text(error):
    """(heading, sentence) of `error`'s page: the code's own, with the error's message as the
    sentence when it says more than the catalogue's (a CSRF failure, a field's reasons)."""
    heading, sentence = PAGE_TEXTS.get(error.code, (ERRORS[error.code][1], _l("Go back and try again.")))
    if error.fields:
        sentence = " ".join(str(reason) for reason in error.fields.values())
    elif str(error.message) != str(ERRORS[error.code][1]):
        sentence = error.message
    return heading, sentence


def error_response(error, status=None):
    """The HTTP response for a ChatError: JSON for the API, a page for browsers."""
    metrics.error_answered(error.code, "http")
    g.error_code = error.code  # for the request's log line
    if wants_json():
        body = jsonify(error=error.to_dict())
    else:
        heading, sentence = page_text(error)
        body = render_template("errors/error.html", error=error, heading=heading, sentence=sentence)
    return body, status or error.status, retry_headers(error)


def retry_headers(error):
    """An answer's headers for `error`: Retry-After when it says how long to wait."""
    return {"Retry-After": str(error.extra["retry_after"])} if "retry_after" in error.extra else {}


def register_handlers(app):
    """Map ChatError and Flask's own HTTP errors onto the catalogue."""
    from flask_wtf.csrf import CSRFError
    from sqlalchemy.exc import InterfaceError, OperationalError
    from werkzeug.exceptions import HTTPException

    http_codes = {
        400: "VALIDATION_ERROR",
        401: "UNAUTHENTICATED",
        403: "FORBIDDEN",
        404: "NOT_FOUND",
        405: "NOT_FOUND",
        413: "FILE_TOO_LARGE",
        429: "RATE_LIMITED",
        503: "SERVICE_UNAVAILABLE",
    }

    @app.errorhandler(ChatError)
    def chat_error(error):
        return error_response(error)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_response(
            ChatError("FORBIDDEN", _l("The form expired or was not sent by this site; reload and try again."))
        )

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = http_codes.get(error.code)
        if code is None:
            return error
        if error.code == 405:
            return error_response(ChatError(code, _l("Method not allowed.")), status=405)
        # Werkzeug's description of a 400 is English: the API passes it on, pages say their own.
        return error_response(ChatError(code, error.description if error.code == 400 and wants_json() else None))

    @app.errorhandler(Exception)
    def unexpected_error(error):
        if isinstance(error, (OperationalError, InterfaceError)):
            return error_response(ChatError("SERVICE_UNAVAILABLE"))
        app.logger.exception("unhandled error")
        return error_response(ChatError("INTERNAL_ERROR"))


def ack_error(error):
    """The socket acknowledgement for a failed event."""
    metrics.error_answered(error.code, "socket")
    return {"ok": False, "error": error.to_dict()}
