"""Issue 20, item 6: email for people who are away, against a real SMTP server (aiosmtpd)
on 127.0.0.1. The rules (delay, read in time, one per room per hour, only what is new,
mute, verified only, presence), the email itself (language, escaping, the opt-out link),
the account page's address and its verification link, and no SMTP_URL at all. The
two-process test is tests/integration/test_server_emails.py."""

import re
import ssl
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from webchat.database import transaction
from webchat.extensions import db
from webchat.models import EmailNotice, User, utcnow
from webchat.services import accounts, emails, messages, reads, rooms

from .support.accounts import PASSWORD, login
from .support.concurrency import run_together
from .support.launcher import free_port
from .support.polling import wait_until
from .support.smtp import HeldInbox, SmtpServer, self_signed_certificate

DELAY = 120


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def app(app_with, smtp):
    """This module's app sends email to `smtp` (a test that builds its own app with
    `app_with` signs its users up with `signup`, not `make_user`, which would build this one)."""
    return app_with(SMTP_URL=smtp.url, EMAIL_FROM="webchat <chat@webchat.test>", EMAIL_NOTIFY_DELAY_SECONDS=DELAY)


@pytest.fixture
def mail_app(app):
    return app


def signup(name):
    return accounts.signup(name, PASSWORD)


def later(seconds=DELAY + 1):
    return utcnow() + timedelta(seconds=seconds)


def with_address(user, address=None, verified=True, notify=True, locale=None):
    with transaction():
        user.email = address or f"{user.username}@example.com"
        user.email_verified_at = utcnow() - timedelta(days=1) if verified else None
        user.email_notify = notify
        user.locale = locale
    return user


@pytest.fixture
def people(mail_app, make_user):
    """alice and bob (bob with a verified address) in a public room."""
    alice, bob = make_user("alice"), with_address(make_user("bob"))
    room = rooms.create_room(alice, "planning")
    rooms.join_room(bob, room["id"])
    return alice, bob, room["id"]


def notices():
    db.session.rollback()
    return db.session.execute(sa.select(EmailNotice.user_id, EmailNotice.room_id, EmailNotice.through_seq)).all()


def fresh(user):
    """The user as stored now (what requests, in their own sessions, wrote)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(User, user.id)


def text_of(message):
    return message.get_body(("plain",)).get_content()


def html_of(message):
    return message.get_body(("html",)).get_content()


def test_a_mention_unread_past_the_delay_is_emailed_once(people, smtp):
    alice, bob, room_id = people
    sent = messages.send_message(alice, room_id, "@bob can you look at the budget?")[0]
    assert emails.sweep() == 0, "not before EMAIL_NOTIFY_DELAY_SECONDS"
    assert emails.sweep(later()) == 1
    assert emails.sweep(later()) == 0, "once"
    [message] = smtp.inbox.wait_for(1)
    assert smtp.inbox.recipients == [["bob@example.com"]]
    assert message["To"] == "bob@example.com" and message["From"] == "webchat <chat@webchat.test>"
    assert message["Subject"] == "1 unread mention in planning"
    text = text_of(message)
    assert "Hello bob," in text and "alice" in text and "can you look at the budget?" in text
    assert f"http://webchat.test/rooms/{room_id}" in text
    assert f'href="http://webchat.test/rooms/{room_id}"' in html_of(message)
    assert notices() == [(bob.id, room_id, sent.seq)]


def test_a_plain_message_in_a_group_room_is_not_emailed(people, smtp):
    alice, _bob, room_id = people
    messages.send_message(alice, room_id, "nobody in particular")
    assert emails.sweep(later()) == 0
    assert smtp.inbox.messages == []


def test_a_direct_message_is_emailed_without_a_mention(mail_app, make_user, smtp):
    alice, _bob = make_user("alice"), with_address(make_user("bob"))
    room = rooms.create_direct(alice, ["bob"])
    messages.send_message(alice, room["id"], "lunch?")
    messages.send_message(alice, room["id"], "my treat")
    assert emails.sweep(later()) == 1
    [message] = smtp.inbox.wait_for(1)
    assert message["Subject"] == "2 unread messages from alice"
    assert text_of(message).index("lunch?") < text_of(message).index("my treat")
    assert emails.sweep(later()) == 0


def test_read_in_time_sends_nothing(people, smtp):
    alice, bob, room_id = people
    sent = messages.send_message(alice, room_id, "@bob ping")[0]
    reads.mark_read(bob, room_id, sent.id)
    assert emails.sweep(later()) == 0
    assert smtp.inbox.messages == [] and notices() == []


def test_read_after_the_sweep_looked_but_before_the_claim_sends_nothing(people, smtp):
    alice, bob, room_id = people
    sent = messages.send_message(alice, room_id, "@bob ping")[0]
    assert emails._candidates(later(), None) == [(bob.id, room_id)]
    reads.mark_read(bob, room_id, sent.id)
    # The claim re-reads what is unread inside its transaction, and rolls back with nothing.
    assert emails._claim_and_send(bob.id, room_id, later()) == 0
    assert smtp.inbox.messages == [] and notices() == []


def test_one_email_per_room_per_hour_and_then_only_what_is_new(people, smtp):
    alice, bob, room_id = people
    messages.send_message(alice, room_id, "@bob first")
    assert emails.sweep(later()) == 1
    second = messages.send_message(alice, room_id, "@bob second")[0]
    assert emails.sweep(later()) == 0, "within the hour"
    assert emails.sweep(later(3600 + DELAY + 5)) == 1
    first_email, second_email = smtp.inbox.wait_for(2)
    assert "first" in text_of(first_email)
    assert "second" in text_of(second_email) and "first" not in text_of(second_email)
    assert first_email["Message-ID"] != second_email["Message-ID"]
    assert notices() == [(bob.id, room_id, second.seq)]
    assert emails.sweep(later(7200 + DELAY)) == 0, "nothing new since the last email"


def test_sweeps_at_the_same_moment_send_one_email_first_and_later(people, smtp, mail_app):
    alice, _bob, room_id = people
    messages.send_message(alice, room_id, "@bob first")
    sent = []

    def sweep(at):
        sent.append(emails.sweep(at))

    for now, expected in ((later(), 1), (later(3600 + DELAY + 5), 2)):
        sent.clear()
        outcomes = run_together(mail_app, *[(sweep, now)] * 8)
        assert outcomes == ["ok"] * 8
        assert sum(sent) == 1, "one claim wins: the INSERT the first time, the conditional UPDATE later"
        assert len(smtp.inbox.wait_for(expected)) == expected
        messages.send_message(alice, room_id, "@bob second")
    time.sleep(0.3)
    assert len(smtp.inbox.messages) == 2


def test_each_room_has_its_own_email(people, smtp):
    alice, bob, room_id = people
    other = rooms.create_room(alice, "other")["id"]
    rooms.join_room(bob, other)
    messages.send_message(alice, room_id, "@bob here")
    messages.send_message(alice, other, "@bob and there")
    assert emails.sweep(later()) == 2
    assert sorted(m["Subject"] for m in smtp.inbox.wait_for(2)) == [
        "1 unread mention in other",
        "1 unread mention in planning",
    ]


def test_a_muted_room_sends_nothing(people, smtp):
    alice, bob, room_id = people
    rooms.set_notify(bob, room_id, "mute")
    messages.send_message(alice, room_id, "@bob muted")
    assert emails.sweep(later()) == 0


@pytest.mark.parametrize("settings", [{"verified": False}, {"notify": False}])
def test_only_a_verified_address_with_emails_on_is_emailed(people, smtp, settings):
    alice, bob, room_id = people
    with_address(bob, **settings)
    messages.send_message(alice, room_id, "@bob hello")
    assert emails.sweep(later()) == 0


def test_what_came_before_the_address_was_verified_is_not_emailed(people, smtp):
    alice, bob, room_id = people
    messages.send_message(alice, room_id, "@bob old news")
    with transaction():
        bob.email_verified_at = utcnow() + timedelta(seconds=1)
    assert emails.sweep(later()) == 0


def test_someone_online_is_not_emailed_until_they_go(people, smtp, connect):
    alice, bob, room_id = people
    messages.send_message(alice, room_id, "@bob are you there?")
    sock = connect(bob)
    assert emails.sweep(later()) == 0
    sock.disconnect("/chat")
    assert emails.sweep(later()) == 1


def test_the_email_lists_ten_and_says_how_many_more(people, smtp):
    alice, bob, room_id = people
    for n in range(12):
        messages.send_message(alice, room_id, f"@bob item {n:02}")
    assert emails.sweep(later()) == 1
    [message] = smtp.inbox.wait_for(1)
    text = text_of(message)
    assert message["Subject"] == "12 unread mentions in planning"
    assert "item 00" not in text and "item 01" not in text, "the newest ten"
    assert all(f"item {n:02}" in text for n in range(2, 12))
    assert "And 2 more." in text


def test_user_text_is_escaped_in_the_html(people, smtp):
    alice, _bob, room_id = people
    messages.send_message(alice, room_id, '@bob <script>alert(1)</script> <a href="x">&</a>')
    assert emails.sweep(later()) == 1
    html = html_of(smtp.inbox.wait_for(1)[0])
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="x">' not in html and "&amp;" in html


@pytest.mark.parametrize("locale, marker", [("ko", re.compile(r"오[전후]")), ("en", re.compile(r"\b[AP]M\b"))])
def test_the_email_speaks_the_users_language(people, smtp, locale, marker):
    alice, bob, room_id = people
    with_address(bob, locale=locale)
    messages.send_message(alice, room_id, "@bob 안녕하세요")
    assert emails.sweep(later()) == 1
    message = smtp.inbox.wait_for(1)[0]
    html = html_of(message)
    assert f'<html lang="{locale}">' in html
    assert marker.search(text_of(message)), "the times are written the locale's way"


def test_without_a_language_the_email_speaks_the_default(app_with, smtp):
    app_with(SMTP_URL=smtp.url, DEFAULT_LOCALE="ko", EMAIL_NOTIFY_DELAY_SECONDS=DELAY)
    alice, bob = signup("alice"), with_address(signup("bob"))
    room = rooms.create_room(alice, "planning")
    rooms.join_room(bob, room["id"])
    messages.send_message(alice, room["id"], "@bob hi")
    assert emails.sweep(later()) == 1
    assert '<html lang="ko">' in html_of(smtp.inbox.wait_for(1)[0])


def test_the_opt_out_link_stops_emails_in_one_click_without_logging_in(people, smtp, mail_app):
    alice, bob, room_id = people
    messages.send_message(alice, room_id, "@bob hi")
    assert emails.sweep(later()) == 1
    message = smtp.inbox.wait_for(1)[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip().strip("<>")
    assert link in text_of(message) and link in html_of(message)
    response = mail_app.test_client().get(urlsplit(link).path)
    assert response.status_code == 200 and "Emails stopped" in response.text
    assert fresh(bob).email_notify is False
    messages.send_message(alice, room_id, "@bob again")
    assert emails.sweep(later(3600 + DELAY + 5)) == 0


def test_the_opt_out_link_takes_a_post_and_refuses_a_forged_token(people, mail_app):
    _alice, bob, _room_id = people
    client = mail_app.test_client()
    assert client.get("/auth/email/stop/forged.token").status_code == 400
    assert client.post(f"/auth/email/stop/{emails.stop_link_token(bob.id)}x").status_code == 400
    assert fresh(bob).email_notify is True
    assert client.post(f"/auth/email/stop/{emails.stop_link_token(bob.id)}").status_code == 200
    assert fresh(bob).email_notify is False


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # on loopback, on purpose
def test_smtp_credentials_are_percent_decoded(app_with):
    with SmtpServer(login=("me@example.com", "p@ss:w/rd")) as smtp:
        url = f"smtp://me%40example.com:p%40ss%3Aw%2Frd@127.0.0.1:{smtp.port}"
        app_with(SMTP_URL=url, EMAIL_NOTIFY_DELAY_SECONDS=DELAY)
        alice, _bob = signup("alice"), with_address(signup("bob"))
        room = rooms.create_direct(alice, ["bob"])
        messages.send_message(alice, room["id"], "hi")
        assert emails.sweep(later()) == 1
        smtp.inbox.wait_for(1)
        assert smtp.logins == [("me@example.com", "p@ss:w/rd")]


@pytest.mark.parametrize("tls", ["starttls", "smtps"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # on loopback, on purpose
def test_tls_by_starttls_or_from_the_start_with_a_login(app_with, tmp_path, monkeypatch, tls):
    certificate = self_signed_certificate(tmp_path)
    # The server's certificate is trusted as a CA would be; the app's TLS settings are its own.
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    monkeypatch.setattr(emails, "_tls_context", lambda: trusting)
    with SmtpServer(login=("me", "secret"), tls=tls, certificate=certificate) as smtp:
        scheme = "smtps" if tls == "smtps" else "smtp"
        app_with(SMTP_URL=f"{scheme}://me:secret@127.0.0.1:{smtp.port}", EMAIL_NOTIFY_DELAY_SECONDS=DELAY)
        alice, _bob = signup("alice"), with_address(signup("bob"))
        room = rooms.create_direct(alice, ["bob"])
        messages.send_message(alice, room["id"], "over TLS")
        assert emails.sweep(later()) == 1
        assert "over TLS" in text_of(smtp.inbox.wait_for(1)[0])
        assert smtp.logins == [("me", "secret")], "AUTH after TLS (the server refuses it before)"


def test_an_untrusted_certificate_is_refused(app_with, tmp_path):
    with SmtpServer(tls="smtps", certificate=self_signed_certificate(tmp_path)) as smtp:
        app_with(SMTP_URL=smtp.url, EMAIL_NOTIFY_DELAY_SECONDS=DELAY)
        alice, _bob = signup("alice"), with_address(signup("bob"))
        room = rooms.create_direct(alice, ["bob"])
        messages.send_message(alice, room["id"], "hi")
        assert emails.sweep(later()) == 0
        assert smtp.inbox.messages == [] and notices() == []


def test_an_smtp_server_that_is_down_leaves_the_email_for_a_later_sweep(people, smtp, mail_app):
    alice, bob, room_id = people
    messages.send_message(alice, room_id, "@bob hi")
    mail_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody listens there
    assert emails.sweep(later()) == 0
    assert notices() == [], "the claim is released"
    mail_app.config["SMTP_URL"] = smtp.url
    assert emails.sweep(later()) == 1
    smtp.inbox.wait_for(1)


def test_a_claim_held_past_its_lease_is_sent_by_another_sweep_once(people, smtp, mail_app):
    """A sweep stuck inside its SMTP exchange (its server never takes the email) holds
    its claim for EMAIL_CLAIM_SECONDS; then another sweep sends the email, and the stuck
    one, failing at last, undoes nothing. As if its process had died there: the drill
    with real nodes killed is tests/integration/test_faults.py."""
    alice, bob, room_id = people
    sent = messages.send_message(alice, room_id, "@bob hi")[0]
    now, lease = later(), timedelta(seconds=mail_app.config["EMAIL_CLAIM_SECONDS"])
    stuck_server = SmtpServer(inbox=HeldInbox()).__enter__()
    mail_app.config["SMTP_URL"] = stuck_server.url
    outcome = []

    def stuck_sweep():
        with mail_app.app_context():
            outcome.append(emails.sweep(now))

    stuck = threading.Thread(target=stuck_sweep)
    stuck.start()
    try:
        wait_until(lambda: stuck_server.inbox.held, 10, "the stuck sweep inside its SMTP exchange")
        mail_app.config["SMTP_URL"] = smtp.url
        assert emails.sweep(now + lease - timedelta(seconds=1)) == 0, "the claim holds"
        assert emails.sweep(now + lease) == 1
    finally:
        stuck_server.__exit__(None, None, None)
        stuck.join(30)
    assert outcome == [0]
    assert emails.sweep(now + lease + timedelta(seconds=1)) == 0, "once"
    assert len(smtp.inbox.wait_for(1)) == 1
    assert notices() == [(bob.id, room_id, sent.seq)]


def test_an_email_sent_again_after_a_lost_confirmation_is_the_same_message(people, smtp, mail_app):
    """The window a lease leaves: the SMTP server took the email and the process died
    before confirming it. The email goes again once the claim runs out, with the same
    Message-ID, so that mail stores that deduplicate by it show it once."""
    alice, _bob, room_id = people
    messages.send_message(alice, room_id, "@bob hi")
    now, lease = later(), timedelta(seconds=mail_app.config["EMAIL_CLAIM_SECONDS"])
    assert emails.sweep(now) == 1
    with transaction():  # the row as the claim wrote it, never confirmed
        db.session.execute(sa.update(EmailNotice).values(sent_at=now - emails.NOTICE_INTERVAL + lease, through_seq=0))
    assert emails.sweep(now + lease) == 1
    first, again = smtp.inbox.wait_for(2)
    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"].endswith("@webchat.test>")


def test_without_smtp_url_nothing_is_sent_and_nothing_fails(app_with):
    plain = app_with(SMTP_URL=None)
    alice, _bob = signup("carol"), with_address(signup("dave"))
    alice_client = login(plain.test_client(), alice)
    room = rooms.create_direct(alice, ["dave"])
    messages.send_message(alice, room["id"], "hi")
    assert emails.sweep(later()) == 0
    page = alice_client.get("/auth/password")
    assert page.status_code == 200 and "Email is not configured on this server" in page.text
    assert 'id="email-form"' not in page.text
    assert alice_client.post("/auth/email", data={"email-email": "a@example.com"}).status_code == 404


# The account page.


@pytest.fixture
def account(mail_app, make_user):
    user = make_user("erin")
    return user, login(mail_app.test_client(), user)


def verification_link(smtp, address):
    [message] = smtp.inbox.wait_for(1, address)
    link = re.search(r"http://\S+/auth/email/verify/\S+", text_of(message)).group(0)
    assert f'href="{link}"' in html_of(message)
    return urlsplit(link).path


def test_saving_an_address_sends_a_link_that_verifies_it(account, smtp):
    user, client = account
    response = client.post("/auth/email", data={"email-email": " Erin@Example.COM ", "email-notify": "y"})
    assert response.status_code == 302
    page = client.get("/auth/password").text
    assert "We sent a link to Erin@example.com" in page
    assert 'data-state="waiting"' in page
    path = verification_link(smtp, "Erin@example.com")
    assert fresh(user).email_verified_at is None
    done = client.application.test_client().get(path)  # no login needed
    assert done.status_code == 200 and "Email address confirmed" in done.text
    assert fresh(user).email_verified_at is not None
    assert 'data-state="verified"' in client.get("/auth/password").text


def test_changing_the_address_unverifies_it_and_old_links_stop_working(account, smtp):
    user, client = account
    client.post("/auth/email", data={"email-email": "old@example.com", "email-notify": "y"})
    old_link = verification_link(smtp, "old@example.com")
    client.post("/auth/email", data={"email-email": "new@example.com", "email-notify": "y"})
    assert client.get(old_link).status_code == 400
    client.get(verification_link(smtp, "new@example.com"))
    assert fresh(user).email_verified_at is not None
    client.post("/auth/email", data={"email-email": "newer@example.com", "email-notify": "y"})
    assert fresh(user).email_verified_at is None
    assert 'data-state="waiting"' in client.get("/auth/password").text


def test_the_same_address_saved_again_stays_verified_and_the_checkbox_saves(account, smtp):
    user, client = account
    client.post("/auth/email", data={"email-email": "erin@example.com", "email-notify": "y"})
    client.get(verification_link(smtp, "erin@example.com"))
    assert client.post("/auth/email", data={"email-email": "erin@example.com"}).status_code == 302
    stored = fresh(user)
    assert stored.email_verified_at is not None and stored.email_notify is False
    assert "Email settings saved." in client.get("/auth/password").text
    assert len(smtp.inbox.messages) == 1, "no second link for a verified address"


def test_an_expired_link_says_so(account, smtp, mail_app):
    user, client = account
    client.post("/auth/email", data={"email-email": "erin@example.com", "email-notify": "y"})
    path = verification_link(smtp, "erin@example.com")
    mail_app.config["EMAIL_VERIFY_MAX_AGE_SECONDS"] = -1
    response = client.get(path)
    assert response.status_code == 400 and "This link has expired" in response.text
    assert fresh(user).email_verified_at is None


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "two@@example.com", "x" * 250 + "@example.com"])
def test_a_malformed_address_is_refused_on_the_page(account, smtp, address):
    user, client = account
    response = client.post("/auth/email", data={"email-email": address, "email-notify": "y"})
    assert response.status_code == 400 and "error-text" in response.text
    assert fresh(user).email is None and smtp.inbox.messages == []


def test_clearing_the_address_forgets_it(account, smtp):
    user, client = account
    client.post("/auth/email", data={"email-email": "erin@example.com", "email-notify": "y"})
    assert client.post("/auth/email", data={"email-email": "", "email-notify": "y"}).status_code == 302
    stored = fresh(user)
    assert stored.email is None and stored.email_verified_at is None


def test_verification_links_are_rate_limited(app_with, smtp):
    app = app_with(SMTP_URL=smtp.url, RATELIMIT_ENABLED=True, RATELIMIT_EMAIL_VERIFY_PER_USER="2 per hour")
    user = signup("erin")
    client = login(app.test_client(), user)
    for n in range(3):
        client.post("/auth/email", data={"email-email": f"e{n}@example.com", "email-notify": "y"})
    assert len(smtp.inbox.wait_for(2)) == 2
    assert "Too many" in client.get("/auth/password").text or len(smtp.inbox.messages) == 2
