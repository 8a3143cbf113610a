"""What tests and conftest.py files import: helpers, one job a module. Fixtures stay in
the conftest.py files, which nothing imports.

- services.py: which local services are up; `require_*` skips (fails under CI=true).
- accounts.py: the test password, `login` through the form, a `bearer` header.
- databases.py: the in-process tests' migrated databases (`Backend`, `config_for`).
- concurrency.py: calls released at the same moment (`run_together`, `at_once`).
- polling.py: `wait_until` something another process or thread does.
- unread.py: unread counts by their definition and by the counters.
- launcher.py: servers as subprocesses, shared with bench/run.py (no pytest in it).
- live.py: the real server for tests: `LiveDatabase`, `LiveServer`, `ServerFarm`.
- http_client.py: HTTP calls to a running server (accounts, pages, CSRF, unique names).
- chat_client.py: the python-socketio client for a running server.
- throwaway.py: private MariaDB and Redis servers that fault tests stop and start.
- browser.py: Playwright helpers (viewports, screenshots, `Pages`, logging in).
- xss.py: texts that try to smuggle markup into a page: names and bodies, through the formatting too (CORPUS).
- surface.py: the app's routes and /chat client events, read from the app, for the tests that must cover them all.
- smtp.py: a real SMTP server (aiosmtpd) in the test process; `HeldInbox`, one that never takes an email; a real server's email settings.
- socketgate.py: `SocketGate`, which cuts a browser context off the socket (not off the pages) and counts its sends.
- i18n.py: what a Korean page may not show (English the catalog translates, stray Latin words).
"""
