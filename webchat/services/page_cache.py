"""Each room's latest page of messages, as payloads, kept by this process for the next
`open_room` of the room while its `last_rev` is unchanged.

Switching rooms is most of what people do (two thirds of the capacity mix), and every
member of a room gets the same latest page: reading and building it again for each was
the largest part of `open_room`'s CPU (bench/action_cost.py). Every change to a message
of a room moves the room's `last_rev` (the change feed's rule: a post, an edit, a
delete, a reaction, a quoted parent changing), so a page kept under the `last_rev` it
was read at is the page the database would give, with one exception no rev records: a
sender deactivated since (their `deactivated` mark). PAGE_CACHE_SECONDS bounds that;
0 turns the cache off. PAGE_CACHE_ROOMS bounds its memory (about 50 KB a room).

A page is read after its room's row: it is as new as that `last_rev` or newer (a message
committed in between), never older, and `open_room` has already joined the room's
stream, so whatever is newer than the page arrives live."""

import threading
import time
from collections import OrderedDict

from flask import current_app

from ..payloads import message_payload
from .messages import latest_page

_EXTENSION = "webchat.page_cache"


class PageCache:
    """Room id -> (last_rev, when kept, payloads, has_more), least recently used out first."""

    def __init__(self, rooms, seconds):
        self.rooms, self.seconds = rooms, seconds
        self._pages = OrderedDict()
        self._lock = threading.Lock()

    def get(self, room_id, last_rev):
        with self._lock:
            entry = self._pages.get(room_id)
            if entry is None or entry[0] != last_rev or time.monotonic() - entry[1] > self.seconds:
                return None
            self._pages.move_to_end(room_id)
            return entry[2], entry[3]

    def put(self, room_id, last_rev, payloads, has_more):
        with self._lock:
            self._pages[room_id] = (last_rev, time.monotonic(), payloads, has_more)
            self._pages.move_to_end(room_id)
            while len(self._pages) > self.rooms:
                self._pages.popitem(last=False)


def init_app(app):
    app.extensions[_EXTENSION] = PageCache(app.config["PAGE_CACHE_ROOMS"], app.config["PAGE_CACHE_SECONDS"])


def latest_payloads(room_id, last_rev):
    """(payloads, has_more) of the room's latest page; `last_rev` (the key) was read in
    this request and the caller has checked that the user may read the room."""
    cache = current_app.extensions[_EXTENSION]
    if cache.seconds > 0 and (kept := cache.get(room_id, last_rev)) is not None:
        return list(kept[0]), kept[1]
    page, has_more = latest_page(room_id)
    payloads = [message_payload(m) for m in page]
    if cache.seconds > 0:
        cache.put(room_id, last_rev, payloads, has_more)
    return list(payloads), has_more
