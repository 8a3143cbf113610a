"""What a client's JSON may hold, checked where it comes in, before any handler reads it:
every HTTP request body parsed as JSON (`JSONProvider`: the API's, and a form posted as
JSON, which Flask-WTF reads too) and every socket event's payload (`SocketJSON` for the
packets, `problem` in the namespace's event wrapper).

Refused with VALIDATION_ERROR: nesting deeper than MAX_DEPTH (100,000 levels made the
parser overflow the interpreter's recursion limit, a 500), and strings holding a lone
surrogate, a valid JSON escape ("\\ud800") that is no character: neither the database's
UTF-8 nor a page can hold one, so storing it failed (a 500, or a socket's "retry is
safe" for a retry that can never succeed). NUL needs no check here: both databases'
text columns hold it, and names refuse control characters themselves."""

import json

from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from socketio.packet import Packet

from .errors import validation_error

MAX_DEPTH = 32
TOO_DEEP = _l("Nested deeper than %(max)s levels.", max=MAX_DEPTH)
SURROGATE = _l("Holds a lone surrogate escape (\\ud800 to \\udfff), which is not a character.")

# The event name a socket packet too deep to parse is given: no handler has it, so the
# namespace answers it (see ChatNamespace.trigger_event) with the packet's own ack id.
TOO_DEEP_EVENT = "\x00too deep"


def problem(value):
    """Why decoded JSON `value` is refused (TOO_DEEP or SURROGATE), or None. Iterative, so
    that no document can exhaust the stack; strings are checked whether keys or values."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and not _is_text(item):
                return SURROGATE
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                return TOO_DEEP
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def _is_text(string):
    try:
        string.encode("utf-8")
    except UnicodeEncodeError:  # only surrogates fail: every other code point encodes
        return False
    return True


class JSONProvider(DefaultJSONProvider):
    """The app's JSON (`app.json`), whose decoding Flask uses for every request body:
    what `problem` names, and documents too deep for the parser, are VALIDATION_ERROR.
    A ChatError rather than a ValueError, so that `get_json(silent=True)` does not take it
    for "not JSON"."""

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise validation_error(body=TOO_DEEP) from None
        reason = problem(value)
        if reason is not None:
            raise validation_error(body=reason)
        return value


class SocketJSON:
    """The socket packets' JSON (python-socketio's `json`): a packet too deep to parse
    becomes the event TOO_DEEP_EVENT, answered VALIDATION_ERROR like any bad event, not
    an error inside python-socketio that leaves the event unanswered."""

    dumps = staticmethod(json.dumps)

    @staticmethod
    def loads(data, **kwargs):
        try:
            return json.loads(data, **kwargs)
        except RecursionError:
            return [TOO_DEEP_EVENT]


class SocketPacket(Packet):
    """python-socketio's packet, without its search of every outgoing payload for bytes
    (to send them as binary attachments): webchat's events carry JSON only (files go
    over HTTP), and for an `open_room` ack (a page of 50 messages, a member list) the
    search, a list and a reduce per list and dict, cost about a tenth of the event's
    CPU. Bytes in an event now fail to encode, loudly; binary packets from a client are
    still decoded (and refused by the handlers as any other bad payload)."""

    uses_binary_events = False
