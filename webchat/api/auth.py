"""The API's `authenticated` decorator and request body (the caller is `callers`')."""

from functools import wraps

from flask import g, request
from flask_babel import lazy_gettext as _l

from ..callers import request_user
from ..errors import ChatError


def authenticated(view):
    """Require a user; the view finds it in `g.user`."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.user = request_user()
        return view(*args, **kwargs)

    return wrapper


def json_body():
    """The request's JSON object, or VALIDATION_ERROR."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ChatError("VALIDATION_ERROR", _l("Send a JSON object."), fields={"body": _l("Expected a JSON object.")})
    return data
