"""Which pages may open a socket: our own origin always, plus SOCKETIO_ALLOWED_ORIGINS.

Engine.IO checks the same origin by itself only when no list is configured; given a list
it allows exactly that list, which would lock our own pages out. This check keeps both.
CSRF protection does not cover sockets, so this is what stops cross-site hijacking."""


def own_origins(environ):
    """The origins this request's page would have: as served, and as the proxy saw it."""
    host = environ.get("HTTP_HOST", "")
    origins = {f"{environ.get('wsgi.url_scheme', 'http')}://{host}"}
    if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
        scheme = environ.get("HTTP_X_FORWARDED_PROTO", environ.get("wsgi.url_scheme", "http")).split(",")[0].strip()
        forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        origins.add(f"{scheme}://{forwarded_host}")
    return origins


def origin_check(extra_origins):
    """Engine.IO's `cors_allowed_origins`: None (same origin only) when nothing extra is
    configured, else a callable allowing the same origin and the configured ones."""
    if not extra_origins:
        return None
    extra = set(extra_origins)

    def allowed(origin, environ):
        return origin in extra or origin in own_origins(environ)

    return allowed
