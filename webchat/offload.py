"""Slow CPU work on a real OS thread, so that the event loop keeps serving every socket.

One process serves all its sockets from one event loop: a call that computes for 100 ms
without yielding (an argon2 password hash, at the production cost) pauses every socket of
the process for 100 ms. `run` hands such a call to the async library's pool of OS threads
and waits for it as green I/O. It suits C code that releases the GIL while it works
(argon2's hash, Pillow's decoding and resampling for thumbnails); Python code on the pool
still shares the GIL with the loop, which then gets its turn every few milliseconds.

The one place that knows each library's pool: ASYNC_MODE stays a one-variable switch.
"""

import threading

from flask import current_app


def run(function, *args):
    """`function(*args)`, computed off the event loop; its result or its exception."""
    mode = current_app.config["ASYNC_MODE"]
    if mode == "eventlet":
        from eventlet import tpool

        return tpool.execute(function, *args)
    if mode == "gevent":
        from gevent import get_hub

        return get_hub().threadpool.apply(function, args)
    return function(*args)  # threading: the caller is a thread already


def turn(setting):
    """A turn among this process's calls limited by the config value `setting` (at most
    that many at once): `with offload.turn("IMAGE_DECODE_CONCURRENCY"): ...`. The
    semaphore is the async library's own once it has patched `threading` (wsgi.py), so a
    caller waiting its turn blocks only its own green thread."""
    app = current_app._get_current_object()
    key = f"webchat.turns.{setting}"
    turns = app.extensions.get(key)
    if turns is None:
        turns = app.extensions.setdefault(key, threading.BoundedSemaphore(app.config[setting]))
    return turns
