"""A real SMTP server for the email tests: aiosmtpd on 127.0.0.1, in a thread of the test
process, keeping every message it accepts. Never a mock of smtplib: the app talks SMTP
to it over a socket, as it would to a mail relay."""

import asyncio
import datetime
import email
import ipaddress
import ssl
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


class HeldInbox(Inbox):
    """An inbox whose server never answers a recipient: a sender stays inside its SMTP
    exchange, its email not taken (for the tests of a sender that dies there). `held`
    counts the exchanges that got that far."""

    def __init__(self):
        super().__init__()
        self.held = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.held += 1
        await asyncio.Event().wait()  # until the server stops


def mail_env(smtp, delay, **more):
    """A real server's email settings for `smtp`: sweeping every second, emailing what
    waited `delay` seconds."""
    return {
        "SMTP_URL": smtp.url,
        "PUBLIC_URL": "http://chat.example.test",
        "EMAIL_FROM": "webchat <chat@example.test>",
        "EMAIL_NOTIFY_DELAY_SECONDS": str(delay),
        "EMAIL_SWEEP_SECONDS": "1",
        **more,
    }


def give_address(database, username):
    """A verified address for `username`, straight into a real server's database."""
    verified = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)).replace(tzinfo=None)
    address = f"{username}@example.test"
    database.execute(
        "UPDATE users SET email = ?, email_verified_at = ? WHERE username = ?", address, verified, username
    )
    return address


def self_signed_certificate(folder):
    """(certificate path, key path) of a fresh self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class SmtpServer:
    """`with SmtpServer() as smtp:` an SMTP server at `smtp.url`; with `login=(user,
    password)` it requires AUTH (over the plain connection: this is a test on loopback).
    `inbox=HeldInbox()` holds every sender inside its exchange.
    `tls="starttls"` offers and requires STARTTLS, `tls="smtps"` speaks TLS from the
    start, both with `certificate` (paths of a certificate and its key)."""

    def __init__(self, login=None, tls=None, certificate=None, inbox=None):
        self.inbox = inbox or Inbox()
        self.port = free_port()
        self.login = login
        self.logins = []
        self.tls = tls
        options = {}
        if login is not None:
            # aiosmtpd takes an implicit-TLS connection for a plain one: it offers AUTH
            # there only when TLS is not required. With STARTTLS it is, as it should be.
            options = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": tls == "starttls",
            }
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            options["tls_context" if tls == "starttls" else "ssl_context"] = context
            if tls == "starttls":
                options["require_starttls"] = True
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **options)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        given = (auth_data.login.decode(), auth_data.password.decode())
        self.logins.append(given)
        return AuthResult(success=given == self.login)

    @property
    def url(self):
        return f"{'smtps' if self.tls == 'smtps' else 'smtp'}://127.0.0.1:{self.port}"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *_exc):
        self.controller.stop()
