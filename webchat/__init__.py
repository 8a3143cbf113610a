"""webchat: a real-time team chat on Flask and Flask-SocketIO.

`create_app(config)` builds the application as a short list of named steps.
"""

from pathlib import Path

from flask import Flask, abort, request

from . import i18n, intake, logs, metrics, realtime
from .database import configure_mariadb, configure_sqlite, engine_options
from .extensions import csrf, db, jwt, limiter, login_manager, migrate, socketio
from .realtime.managers import client_manager
from .realtime.redis_pool import SENTINEL_SCHEME, limiter_storage


def create_app(config="config.Config"):
    app = Flask(__name__, instance_relative_config=False)
    app.json = intake.JSONProvider(app)  # request JSON too deep or not text: VALIDATION_ERROR
    app.config.from_object(config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_BYTES"] + 64 * 1024
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"],
        app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
        pool_size=app.config.get("DB_POOL_SIZE"),
        max_overflow=app.config.get("DB_MAX_OVERFLOW"),
    )
    app.json.ensure_ascii = False
    register_extensions(app)
    register_blueprints(app)
    register_templates(app)
    register_socketio(app)
    register_error_handlers(app)
    register_commands(app)
    register_security_headers(app)
    register_proxies(app)
    return app


def register_extensions(app):
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
        elif db.engine.dialect.name in ("mysql", "mariadb"):
            configure_mariadb(db.engine)
    migrations = Path(__file__).resolve().parent.parent / "migrations"
    migrate.init_app(app, db, directory=str(migrations), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    jwt.init_app(app)
    if app.config["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://", SENTINEL_SCHEME)):
        # Checks wait for a pooled connection under a burst rather than being skipped;
        # through Sentinel they follow the primary.
        uri, options = limiter_storage(app.config["RATELIMIT_STORAGE_URI"])
        app.config["RATELIMIT_STORAGE_URI"] = uri
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", options)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    realtime.init_app(app)
    i18n.init_app(app)
    logs.init_app(app)
    metrics.init_app(app)

    from .callers import page_user
    from .services import emails, mentions, page_cache, reads, rooms, sessions

    emails.init_app(app)
    reads.init_app(app)
    mentions.init_app(app)
    rooms.init_app(app)
    page_cache.init_app(app)
    sessions.init_app(app)
    # A cookie signs in only while the session record it names is live.
    login_manager.user_loader(page_user)


def register_blueprints(app):
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .files import bp as files_bp
    from .health import bp as health_bp
    from .language import bp as language_bp
    from .rooms import bp as rooms_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(rooms_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(files_bp)
    app.register_blueprint(language_bp)
    app.register_blueprint(admin_bp)
    csrf.exempt(api_bp)  # the API checks CSRF itself, for session-authenticated calls only


def register_templates(app):
    from .pages import fallback_time, template_context

    app.context_processor(template_context)
    app.add_template_filter(fallback_time)


def register_socketio(app):
    from .chat import ChatNamespace
    from .chat.origins import origin_check

    manager = client_manager(app.config["MESSAGE_QUEUE_URL"], f"{app.config['CLUSTER_NAME']}-socketio")
    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        client_manager=manager,
        # Same origin plus the configured ones: CSRF does not cover sockets, so never "*".
        cors_allowed_origins=origin_check(app.config["SOCKETIO_ALLOWED_ORIGINS"]),
        json=intake.SocketJSON,
        serializer=intake.SocketPacket,
        logger=False,
        engineio_logger=False,
    )
    socketio.on_namespace(ChatNamespace(realtime.NAMESPACE))
    # Flask-SocketIO runs every event in a request context built from the connection's
    # handshake. Without a route for that path, each event's URL match raises NotFound,
    # whose stored traceback ties the context into a reference cycle (64 objects per send,
    # freed only by full collections that paused a busy worker for tens of ms). These
    # rules only match (one for WebSocket handshakes, one for polling): the Socket.IO
    # middleware answers the path before Flask would dispatch it.
    for websocket in (True, False):
        app.add_url_rule(
            "/socket.io/", endpoint="socketio", view_func=_served_by_socketio, strict_slashes=False, websocket=websocket
        )
    if not app.config["WEBSOCKET_COMPRESSION"]:
        app.wsgi_app = without_websocket_compression(app.wsgi_app)
    realtime.lifecycle.init_app(app)  # over the Socket.IO middleware: it refuses handshakes


def _served_by_socketio():
    """Never reached: the Socket.IO middleware answers /socket.io/ (see register_socketio)."""
    abort(404)


def without_websocket_compression(wsgi_app):
    """Decline permessage-deflate by not passing the client's offer on to the WebSocket
    server. A broadcast is encoded once, but eventlet and simple-websocket would compress
    every recipient's copy of it again: per-recipient CPU that costs more than the bytes
    of a chat message save. Socket.IO's own server ships with compression off too."""

    def app(environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return wsgi_app(environ, start_response)

    return app


def register_error_handlers(app):
    from .errors import register_handlers

    register_handlers(app)


def register_commands(app):
    from .commands import webchat_cli

    app.cli.add_command(webchat_cli)


def register_security_headers(app):
    hsts_seconds = app.config["HSTS_SECONDS"]

    @app.after_request
    def security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # What a page or an API answer shows is someone's: no browser or proxy keeps a
        # copy (the back button after a logout, a shared computer). Static assets are
        # the same for everyone; an answer with a rule of its own (files) keeps it.
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        if hsts_seconds and request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={hsts_seconds}")
        return response


def register_proxies(app):
    """Behind the proxies of TRUSTED_PROXIES, the client's address and scheme come from
    their X-Forwarded-For and X-Forwarded-Proto (webchat.proxies); outermost, so that
    the Socket.IO middleware sees them too."""
    from .proxies import TrustedProxies

    if app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = TrustedProxies(app.wsgi_app, app.config["TRUSTED_PROXIES"])
