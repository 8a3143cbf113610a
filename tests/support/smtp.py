"""A real SMTP server for the email tests: aiosmtpd on 127.0.0.1, in a thread of the test
process, keeping every message it accepts. Never a mock of smtplib: the app talks SMTP
to it over a socket, as it would to a mail relay."""

import email
import threading
import time
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from .launcher import free_port


class Inbox:
    """The messages the server accepted, as `email.message.EmailMessage`s, with the
    envelope's recipients."""

    def __init__(self):
        self.messages = []
        self.recipients = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def to(self, address):
        with self._lock:
            return [m for m, rcpt in zip(self.messages, self.recipients, strict=True) if address in rcpt]

    def wait_for(self, count, address=None, timeout=20):
        """The messages (to `address`), once there are at least `count`; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(address) if address else list(self.messages)
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"{len(found)} emails (wanted {count}) within {timeout}s"
                return found
            time.sleep(0.05)


class SmtpServer:
    """`with SmtpServer() as smtp:` an SMTP server at `smtp.url`; with `login=(user,
    password)` it requires AUTH (over the plain connection: this is a test on loopback)."""

    def __init__(self, login=None):
        self.inbox = Inbox()
        self.port = free_port()
        self.login = login
        self.logins = []
        options = {}
        if login is not None:
            options = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **options)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        given = (auth_data.login.decode(), auth_data.password.decode())
        self.logins.append(given)
        return AuthResult(success=given == self.login)

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *_exc):
        self.controller.stop()
