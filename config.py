"""Settings, every one read from the environment with a safe development default.

`Config` is what `wsgi.py` and the `flask` CLI use; `TestConfig` is what the tests use.
Every variable is documented in the README.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("WEBCHAT_INSTANCE_DIR", BASE_DIR / "instance"))
PRODUCTION = os.environ.get("WEBCHAT_ENV", "development") == "production"


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def instance_secret(name):
    """Return $name, or in development a random secret generated once and kept in the
    instance folder; production refuses to start without it."""
    value = os.environ.get(name)
    if value:
        return value
    if PRODUCTION:
        raise RuntimeError(f"{name} must be set when WEBCHAT_ENV=production")
    path = INSTANCE_DIR / name.lower()
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        # Written aside, private from the start, then linked into place: a process
        # starting at the same moment never reads a half-written (empty) secret, and
        # when two race, the first link wins and both use that secret.
        draft = INSTANCE_DIR / f".{path.name}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def database_uri(url):
    """Accept the usual `mysql://` / `mariadb://` URLs and use the pure-Python driver,
    which cooperates with eventlet and gevent (a C driver would block the hub)."""
    for prefix in ("mysql://", "mariadb://", "mariadb+pymysql://"):
        if url.startswith(prefix):
            url = "mysql+pymysql://" + url[len(prefix) :]
    if url.startswith("mysql+pymysql://") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return url


if PRODUCTION and os.environ.get("SMTP_URL") and not os.environ.get("PUBLIC_URL"):
    raise RuntimeError("PUBLIC_URL must be set when SMTP_URL is, with WEBCHAT_ENV=production (the emails' links)")


class Config:
    WEBCHAT_ENV = "production" if PRODUCTION else "development"
    SECRET_KEY = instance_secret("SECRET_KEY")
    JWT_SECRET_KEY = instance_secret("JWT_SECRET_KEY")

    SQLALCHEMY_DATABASE_URI = database_uri(os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'webchat.db'}")
    REDIS_URL = os.environ.get("REDIS_URL") or None
    MESSAGE_QUEUE_URL = os.environ.get("MESSAGE_QUEUE_URL") or REDIS_URL
    # Names this deployment's Redis keys and message-queue channel, so that several
    # deployments (or test clusters) can share one Redis without seeing each other.
    CLUSTER_NAME = os.environ.get("CLUSTER_NAME", "webchat")
    ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")
    # A node silent for this long is taken for dead and its sockets for offline.
    PRESENCE_NODE_TIMEOUT_SECONDS = env_int("PRESENCE_NODE_TIMEOUT_SECONDS", 20)
    # Each process re-checks its sockets this often against the database (revoked tokens,
    # lost memberships) and the manager (sockets the registry lost), in case a cut missed one.
    SOCKET_RECONCILE_SECONDS = env_int("SOCKET_RECONCILE_SECONDS", 30)
    # Every rate-limit counter's key starts with it (per-IP and per-user ones alike), so
    # that deployments sharing a Redis do not share counters.
    RATELIMIT_KEY_PREFIX = CLUSTER_NAME
    # Same-origin only unless listed (comma-separated); never "*": CSRF does not cover sockets.
    SOCKETIO_ALLOWED_ORIGINS = [
        o.strip() for o in os.environ.get("SOCKETIO_ALLOWED_ORIGINS", "").split(",") if o.strip()
    ]
    PORT = env_int("PORT", 5000)
    # The UI language when neither the user, nor a cookie, nor the browser names one we have.
    DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "en")

    UPLOAD_DIR = os.environ.get("UPLOAD_DIR") or str(INSTANCE_DIR / "uploads")
    MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
    # Uploaded images lose their metadata (EXIF with the GPS position and the camera, XMP,
    # IPTC, PNG text chunks), turned upright first: a photo taken at home would otherwise
    # tell the room where its sender lives. Off only for a site that must keep originals.
    STRIP_IMAGE_METADATA = env_bool("STRIP_IMAGE_METADATA", True)
    # Larger images are refused before they are decoded: a 170 KB PNG can claim 40 million
    # pixels and decode into 4 bytes a pixel (8 while resampled or turned). 25 million fits
    # a 24-megapixel photo, today's common phone and camera size.
    MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 25_000_000)
    # Images one process decodes at once; further uploads wait their turn, so decoding holds
    # at most about IMAGE_DECODE_CONCURRENCY x 8 x MAX_IMAGE_PIXELS bytes (400 MB by default).
    IMAGE_DECODE_CONCURRENCY = env_int("IMAGE_DECODE_CONCURRENCY", 2)
    # Where attachments live: "local" (under UPLOAD_DIR) or "s3" (S3_BUCKET on AWS or any
    # S3-compatible server at S3_ENDPOINT_URL; credentials from the standard AWS_* variables).
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local").strip().lower()
    S3_BUCKET = os.environ.get("S3_BUCKET") or None
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
    S3_REGION = os.environ.get("S3_REGION") or None
    MESSAGE_DELETE_WINDOW_SECONDS = env_int("MESSAGE_DELETE_WINDOW_SECONDS", 300)
    MESSAGE_MAX_LENGTH = 4000
    # How long after sending a message its sender may edit it (0: no limit).
    MESSAGE_EDIT_WINDOW_SECONDS = env_int("MESSAGE_EDIT_WINDOW_SECONDS", 0)
    # Search's index (messages.search_text, search_grams) is kept with every post, edit and
    # delete; false stops that, for the benchmark's comparison only: what is written
    # meanwhile is not found until `flask webchat search reindex`.
    SEARCH_INDEX_ENABLED = env_bool("SEARCH_INDEX_ENABLED", True)
    # Unread badges: each process sends a room's counts to its members at most once per
    # this many milliseconds, however fast messages arrive (0: with every message).
    UNREAD_FANOUT_MS = env_int("UNREAD_FANOUT_MS", 250)
    # Online counts: when users come online or go offline, each process sends a room's
    # member list at most once per this many milliseconds (0: with every connect).
    PRESENCE_FANOUT_MS = env_int("PRESENCE_FANOUT_MS", 250)
    # open_room: each process keeps the latest page of up to PAGE_CACHE_ROOMS rooms for
    # their next opener, while nothing in the room changed, for at most PAGE_CACHE_SECONDS
    # (how late a sender's deactivation may show in it; 0: no cache). services/page_cache.py.
    PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 10)
    PAGE_CACHE_ROOMS = env_int("PAGE_CACHE_ROOMS", 1000)
    # permessage-deflate for the sockets: off, since each recipient's copy of a broadcast
    # would be compressed anew (webchat.without_websocket_compression).
    WEBSOCKET_COMPRESSION = env_bool("WEBSOCKET_COMPRESSION", False)

    # Email for members who are away (services/emails.py). Without SMTP_URL nothing is sent.
    # smtp://[user:pass@]host[:port] (port 25 by default) upgrades with STARTTLS when the
    # server offers it and otherwise talks plain; smtps://… (port 465) is TLS from the first
    # byte. The user name and password are percent-decoded.
    SMTP_URL = os.environ.get("SMTP_URL") or None
    EMAIL_FROM = os.environ.get("EMAIL_FROM") or "webchat <webchat@localhost>"
    # The address the links in emails start with (https://chat.example.com); without it,
    # http://localhost:$PORT. Required in production when SMTP_URL is set.
    PUBLIC_URL = (os.environ.get("PUBLIC_URL") or "").rstrip("/") or None
    # An unread mention or direct message this old, its reader away, is emailed.
    EMAIL_NOTIFY_DELAY_SECONDS = env_int("EMAIL_NOTIFY_DELAY_SECONDS", 120)
    # How often each process looks for what to email (0: never, as in the tests).
    EMAIL_SWEEP_SECONDS = env_int("EMAIL_SWEEP_SECONDS", 30)
    # How long a process's claim on an email holds: if it dies before the SMTP server took
    # the email, another process sends it this much later. Well above one SMTP exchange
    # (each step may wait 15 s), so that a slow server does not get the email twice.
    EMAIL_CLAIM_SECONDS = env_int("EMAIL_CLAIM_SECONDS", 120)
    # How long the link in a verification email works.
    EMAIL_VERIFY_MAX_AGE_SECONDS = env_int("EMAIL_VERIFY_MAX_AGE_SECONDS", 2 * 86400)
    RATELIMIT_EMAIL_VERIFY_PER_USER = os.environ.get("RATELIMIT_EMAIL_VERIFY_PER_USER", "5 per hour")

    JWT_ACCESS_TOKEN_EXPIRES = timedelta(seconds=env_int("ACCESS_TOKEN_SECONDS", 15 * 60))
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(seconds=env_int("REFRESH_TOKEN_SECONDS", 30 * 86400))
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ALGORITHM = "HS256"
    JWT_DECODE_ALGORITHMS = ["HS256"]

    # The least zxcvbn score (0-4) a new password needs. 3 ("safely unguessable", about 10^8
    # guesses and more) is the strength zxcvbn's authors give against an offline attack on
    # a slow hash such as argon2id, should the database leak; 2 holds only against
    # throttled online guessing, and 4 refuses many memorable three-word phrases.
    PASSWORD_MIN_SCORE = env_int("PASSWORD_MIN_SCORE", 3)
    # argon2id parameters (RFC 9106's second recommended option).
    ARGON2_TIME_COST = env_int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = env_int("ARGON2_MEMORY_COST", 64 * 1024)
    # At most this many password hashes (logins, signups, password changes) at once per
    # process, each on four threads: the event loop keeps its share of the cores while a
    # storm of logins waits its turn. Default: half the cores, at least one.
    PASSWORD_HASH_CONCURRENCY = env_int("PASSWORD_HASH_CONCURRENCY", max(1, (os.cpu_count() or 2) // 2))

    # Rate limits (Flask-Limiter syntax). RATELIMIT_ENABLED=false switches all of them off
    # (typing's coalescing and the socket cap below too), as load tests and benchmarks
    # need; with REDIS_URL the counters hold across nodes.
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True  # a Redis outage must not take logins down
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_LOGIN_PER_IP = os.environ.get("RATELIMIT_LOGIN_PER_IP", "30 per minute")
    # Failed logins for one username from anywhere, counted apart from a known device's: a
    # ceiling for guessing spread over many addresses, far above what one address may
    # try (LOGIN_FREE_FAILURES and its delays) and far below what guesses a password of
    # PASSWORD_MIN_SCORE (10^8 and more): 100 an hour is under a million a year.
    RATELIMIT_LOGIN_PER_USERNAME = os.environ.get("RATELIMIT_LOGIN_PER_USERNAME", "100 per hour")
    # Failed logins for one username from one address (or from one known device, or wrong
    # current passwords on the password page, per user) that cost nothing; each further one
    # makes the next attempt wait LOGIN_DELAY_SECONDS, doubled with each failure, at most
    # LOGIN_DELAY_MAX_SECONDS. Someone else guessing from elsewhere never delays the owner.
    LOGIN_FREE_FAILURES = env_int("LOGIN_FREE_FAILURES", 5)
    LOGIN_DELAY_SECONDS = env_int("LOGIN_DELAY_SECONDS", 30)
    LOGIN_DELAY_MAX_SECONDS = env_int("LOGIN_DELAY_MAX_SECONDS", 3600)
    # A successful login leaves a signed device token (the `device` cookie, or `device_token`
    # of /auth/token) naming the user; a login from a known device skips the per-address
    # delays and the per-username ceiling (OWASP's device cookies). Good for this long.
    LOGIN_DEVICE_MAX_AGE_SECONDS = env_int("LOGIN_DEVICE_MAX_AGE_SECONDS", 180 * 86400)
    RATELIMIT_SIGNUP_PER_IP = os.environ.get("RATELIMIT_SIGNUP_PER_IP", "20 per hour")
    RATELIMIT_REFRESH_PER_IP = os.environ.get("RATELIMIT_REFRESH_PER_IP", "60 per minute")
    RATELIMIT_MESSAGES_PER_USER = os.environ.get("RATELIMIT_MESSAGES_PER_USER", "10 per 5 seconds")
    # Edits and reactions, a bucket of their own so that reacting never stops anyone posting.
    RATELIMIT_CHANGES_PER_USER = os.environ.get("RATELIMIT_CHANGES_PER_USER", "20 per 5 seconds")
    RATELIMIT_UPLOADS_PER_USER = os.environ.get("RATELIMIT_UPLOADS_PER_USER", "20 per minute")
    # Searches are asked for one at a time (on Enter, not per key), and one that scans (a
    # rare single character) costs a database second at a million messages.
    RATELIMIT_SEARCH_PER_USER = os.environ.get("RATELIMIT_SEARCH_PER_USER", "30 per minute")
    # Joining and leaving rooms (a rejoined direct room too): each posts a notice every
    # member sees, so a loop of them floods a room's history (690 in 10 s were seen).
    RATELIMIT_MEMBERSHIP_PER_USER = os.environ.get("RATELIMIT_MEMBERSHIP_PER_USER", "20 per 10 minutes")
    # Invitations sent, each a notice in the room and a room pushed onto someone's list.
    RATELIMIT_INVITES_PER_USER = os.environ.get("RATELIMIT_INVITES_PER_USER", "60 per 10 minutes")
    # New rooms, and new direct rooms (each lands in its participants' lists unasked).
    RATELIMIT_ROOMS_PER_USER = os.environ.get("RATELIMIT_ROOMS_PER_USER", "20 per hour")
    RATELIMIT_DIRECT_ROOMS_PER_USER = os.environ.get("RATELIMIT_DIRECT_ROOMS_PER_USER", "30 per 10 minutes")
    # At most one `typing` broadcast per user and room in this many seconds (0: every
    # one); the rest are answered ok and not relayed. The page sends one every 2.5 s.
    TYPING_INTERVAL_SECONDS = env_int("TYPING_INTERVAL_SECONDS", 2)
    # Open sockets per user, counted across nodes (through Redis when it is configured):
    # one more is refused with RATE_LIMITED (0: no cap). Each socket costs memory and a
    # share of every broadcast to its rooms.
    MAX_SOCKETS_PER_USER = env_int("MAX_SOCKETS_PER_USER", 20)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    # Every login (a page's cookie, a token login's refresh family) is a session record
    # the server can end. It ends by itself once unused this long (idle) or this long
    # after the login (absolute), whatever the cookie or the refresh token still say, so
    # a copied cookie or a lost device's refresh token stops working. Last seen moves at
    # most once per SESSION_TOUCH_SECONDS, never a write per request.
    SESSION_IDLE_LIFETIME = timedelta(seconds=env_int("SESSION_IDLE_LIFETIME", 14 * 86400))
    SESSION_ABSOLUTE_LIFETIME = timedelta(seconds=env_int("SESSION_ABSOLUTE_LIFETIME", 30 * 86400))
    SESSION_TOUCH_SECONDS = env_int("SESSION_TOUCH_SECONDS", 60)

    # Strict-Transport-Security on answers served over HTTPS: browsers then refuse plain
    # HTTP to this host for this many seconds (0: no header). A year in production; off
    # in development, where a browser would remember it for localhost.
    HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 86400 if PRODUCTION else 0)
    # The reverse proxies in front of the nodes (comma-separated addresses or networks:
    # "10.0.0.5,10.0.1.0/24"). Only a request from one of them has its client address
    # and scheme taken from X-Forwarded-For and X-Forwarded-Proto (webchat.proxies);
    # empty, nobody's are, and the per-IP limits count the TCP peer.
    TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "")

    # database.configure_mariadb pings connections that sat idle, so a server that closed
    # them (wait_timeout, a restart) is noticed; recycling is only a backstop.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 3600}
    # Connections per process to MariaDB. Under eventlet/gevent one process serves
    # thousands of sockets; an event waiting for a pooled connection waits in line.
    DB_POOL_SIZE = env_int("DB_POOL_SIZE", 10)
    DB_MAX_OVERFLOW = env_int("DB_MAX_OVERFLOW", 30)

    # GET /metrics (Prometheus): off unless METRICS_ENABLED; then only for the bearer token
    # METRICS_TOKEN or an address in METRICS_ALLOW (comma-separated addresses or networks).
    METRICS_ENABLED = env_bool("METRICS_ENABLED", False)
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    METRICS_ALLOW = os.environ.get("METRICS_ALLOW", "")
    # "json": one JSON object per line (requests, socket events, the app's own logs);
    # anything else: plain text.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "info").strip().upper()


class TestConfig(Config):
    TESTING = True
    RATELIMIT_ENABLED = False  # the rate-limit tests switch it on
    RATELIMIT_STORAGE_URI = "memory://"
    SECRET_KEY = "test-secret-key"
    JWT_SECRET_KEY = "test-jwt-secret-key-long-enough-for-hs256"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    REDIS_URL = None
    MESSAGE_QUEUE_URL = None  # the Socket.IO test client refuses a message queue
    ASYNC_MODE = "threading"
    UNREAD_FANOUT_MS = 0  # events in commit order, for the test client; tests/test_unread.py covers the coalescing
    PRESENCE_FANOUT_MS = 0  # likewise; tests/test_chat_socket.py covers the coalescing
    WTF_CSRF_ENABLED = False
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8 * 1024
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    HSTS_SECONDS = 0
    TRUSTED_PROXIES = ""
    SMTP_URL = None
    PUBLIC_URL = "http://webchat.test"
    EMAIL_SWEEP_SECONDS = 0  # tests/test_emails.py sweeps by hand
