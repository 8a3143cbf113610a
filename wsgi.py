"""The one module-level app, for gunicorn (`wsgi:app`) and the `flask` CLI.

The async library is patched before anything else is imported, so that sockets,
locks and the database driver all cooperate with its hub. `ASYNC_MODE` chooses it.
"""

import gc
import os

# The `flask` CLI (migrations, maintenance, announcements) sets WEBCHAT_NO_PATCH=1 and
# runs on plain threads: it serves no sockets, so patching would buy nothing.
if os.environ.get("WEBCHAT_NO_PATCH"):
    os.environ["ASYNC_MODE"] = "threading"
ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")

if ASYNC_MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

from webchat import create_app  # noqa: E402  (must come after patching)

app = create_app("config.Config")

# What start-up built (modules, the app, compiled queries) lives as long as the process:
# take it out of the cyclic collector's scans, so that a full collection under load walks
# only what requests made. With the Socket.IO route of webchat.register_socketio, which
# stopped each event leaving a cycle, full-collection pauses under load fell from 55-100
# ms to 4-12 ms (BENCHMARKS.md, change 10). gunicorn imports this module in the worker,
# after the fork.
gc.freeze()
