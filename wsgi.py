"""The one module-level app, for gunicorn (`wsgi:app`) and the `flask` CLI.

The async library is patched before anything else is imported, so that sockets,
locks and the database driver all cooperate with its hub. `ASYNC_MODE` chooses it.
"""
import os

ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")

# The `flask` CLI (migrations, maintenance) runs plain threads: patching it buys nothing.
if ASYNC_MODE == "eventlet" and not os.environ.get("WEBCHAT_NO_PATCH"):
    import eventlet

    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent" and not os.environ.get("WEBCHAT_NO_PATCH"):
    from gevent import monkey

    monkey.patch_all()

from webchat import create_app  # noqa: E402  (must come after patching)

app = create_app("config.Config")
