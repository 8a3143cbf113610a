"""The error catalogue: every code of the wire contract, its HTTP status and default
message. Services raise `ChatError(code)`; the API, pages and socket acks render it
through `ChatError.to_dict()`, so a code means the same thing everywhere."""
from flask import jsonify, render_template, request

ERRORS = {
    "UNAUTHENTICATED": (401, "Sign in first."),
    "TOKEN_INVALID": (401, "The token is malformed, wrongly signed or revoked."),
    "TOKEN_EXPIRED": (401, "The token has expired."),
    "TOKEN_REUSED": (401, "This refresh token was already used; its family is revoked."),
    "INVALID_CREDENTIALS": (401, "Wrong username or password."),
    "USERNAME_TAKEN": (409, "That username is taken."),
    "VALIDATION_ERROR": (400, "Some fields are missing or malformed."),
    "ROOM_NOT_FOUND": (404, "No such room."),
    "USER_NOT_IN_CHAT_ROOM": (403, "You are not a member of this room."),
    "FORBIDDEN": (403, "You are not allowed to do that."),
    "DUPLICATE_DIRECT_ROOM": (409, "A direct room with these people already exists."),
    "MESSAGE_NOT_FOUND": (404, "No such message."),
    "MESSAGE_DELETE_TIME_EXPIRED": (403, "Messages can only be deleted shortly after sending."),
    "MESSAGE_EMPTY": (400, "The message is empty."),
    "MESSAGE_TOO_LONG": (400, "The message is too long."),
    "FILE_TOO_LARGE": (413, "The file is too large."),
    "FILE_EMPTY": (400, "The file is empty."),
    "RATE_LIMITED": (429, "Too many attempts; wait a moment."),
    "SERVICE_UNAVAILABLE": (503, "The service is temporarily unavailable; retry is safe."),
    # Not in the contract's table: a path that does not exist at all (or a method it does
    # not take, with status 405), and a server bug.
    "NOT_FOUND": (404, "Not found."),
    "INTERNAL_ERROR": (500, "Something went wrong; it was logged."),
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
        super().__init__(f"{code}: {self.message}")

    def to_dict(self):
        """The `error` object of the contract: code, message, and fields or extras."""
        error = {"code": self.code, "message": self.message}
        if self.fields is not None:
            error["fields"] = self.fields
        error.update(self.extra)
        return error


def validation_error(**fields):
    """A VALIDATION_ERROR naming each bad field with a human reason."""
    return ChatError("VALIDATION_ERROR", fields=fields)


def wants_json():
    """API calls and JSON clients get JSON errors; browsers get pages."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(error, status=None):
    """The HTTP response for a ChatError: JSON for the API, a page for browsers."""
    if wants_json():
        body = jsonify(error=error.to_dict())
    else:
        body = render_template("errors/error.html", error=error)
    headers = {}
    if "retry_after" in error.extra:
        headers["Retry-After"] = str(error.extra["retry_after"])
    return body, status or error.status, headers


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
        return error_response(ChatError("FORBIDDEN", "The form expired or was not sent by this site; reload and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = http_codes.get(error.code)
        if code is None:
            return error
        if error.code == 405:
            return error_response(ChatError(code, "Method not allowed."), status=405)
        return error_response(ChatError(code, error.description if error.code == 400 else None))

    @app.errorhandler(Exception)
    def unexpected_error(error):
        if isinstance(error, (OperationalError, InterfaceError)):
            return error_response(ChatError("SERVICE_UNAVAILABLE"))
        app.logger.exception("unhandled error")
        return error_response(ChatError("INTERNAL_ERROR"))


def ack_error(error):
    """The socket acknowledgement for a failed event."""
    return {"ok": False, "error": error.to_dict()}
