"""Account rules in the service layer: names, passwords, hashing, tokens, revocation."""

import threading
import time

import pytest
from zxcvbn import zxcvbn

from webchat import create_app
from webchat.errors import ChatError
from webchat.extensions import db
from webchat.models import User
from webchat.services import accounts, passwords

from .support.accounts import PASSWORD
from .support.databases import config_for


@pytest.fixture
def rules_app(tmp_path):
    """An app for rules that read the settings and no database: run once, not per backend."""
    app = create_app(config_for("sqlite://", tmp_path))
    with app.app_context():
        yield app


@pytest.mark.parametrize(
    "username, ok",
    [
        ("abc", True),
        ("a" * 32, True),
        ("김철수", True),
        ("émile.dupont", True),
        ("user_name-1.x", True),
        ("준호", True),  # two-syllable Korean names (issue 18)
        ("a", False),
        ("a" * 33, False),
        ("has space", False),
        ("semi;colon", False),
        ("<script>", False),
        ("tab\tname", False),
        ("", False),
        (None, False),
        (42, False),
    ],
)
def test_username_rules(username, ok):
    assert (accounts.username_problem(username) is None) is ok


@pytest.mark.parametrize(
    "password, ok", [(PASSWORD, True), ("blue whale 19 tango", True), ("1234567", False), ("", False), (None, False)]
)
def test_password_rules(rules_app, password, ok):
    assert (accounts.password_problem(password) is None) is ok


def test_signup_hashes_with_argon2id(app):
    user = accounts.signup("alice", PASSWORD)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_username_is_unique_case_insensitively(app):
    accounts.signup("Alice", PASSWORD)
    for other in ("alice", "ALICE", " Alice "):
        with pytest.raises(ChatError) as excinfo:
            accounts.signup(other, PASSWORD)
        assert excinfo.value.code == "USERNAME_TAKEN"
    assert accounts.new_username_problem("aLiCe") is not None
    assert accounts.new_username_problem("alicia") is None


def test_korean_username_round_trips(app):
    user = accounts.signup("김철수", PASSWORD)
    db.session.expire_all()
    assert accounts.find_user("김철수").username == "김철수"
    assert accounts.authenticate("김철수", PASSWORD).id == user.id


def test_signup_validation_names_fields(app):
    with pytest.raises(ChatError) as excinfo:
        accounts.signup("x", "short")
    assert excinfo.value.code == "VALIDATION_ERROR"
    assert set(excinfo.value.fields) == {"username", "password"}


def test_concurrent_signups_yield_one_account(app):
    """The unique index is the final word: two racing signups, one account."""
    outcomes = []
    barrier = threading.Barrier(2)

    def attempt(name):
        with app.app_context():
            barrier.wait()
            try:
                accounts.signup(name, PASSWORD)
                outcomes.append("created")
            except ChatError as error:
                outcomes.append(error.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("racer", "RACER")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["USERNAME_TAKEN", "created"]
    assert db.session.query(User).filter(User.username_key == "racer").count() == 1


def test_authenticate(app, alice):
    assert accounts.authenticate("ALICE", PASSWORD).id == alice.id
    for username, password in [("alice", "wrong password"), ("nobody", PASSWORD), ("alice", None)]:
        with pytest.raises(ChatError) as excinfo:
            accounts.authenticate(username, password)
        assert excinfo.value.code == "INVALID_CREDENTIALS"


def test_the_password_check_holds_no_database_connection(app, alice, monkeypatch):
    """A login gives its pooled connection back before it waits for argon2: a storm of
    logins queued for the hashing threads must not take the whole pool (bench's login
    storm: 908 of 1,000 logins were a 500 when they did)."""
    held = []
    real_verify = accounts._verify
    monkeypatch.setattr(
        accounts, "_verify", lambda *args: held.append(db.engine.pool.checkedout()) or real_verify(*args)
    )
    for username, password in [("alice", PASSWORD), ("alice", "wrong password"), ("nobody", PASSWORD)]:
        try:
            accounts.authenticate(username, password)
        except ChatError:
            pass
    assert held == [0, 0, 0]


def test_password_hashes_take_turns(app, monkeypatch):
    """At most PASSWORD_HASH_CONCURRENCY argon2 computations at once per process, so that a
    storm of logins cannot take every core from the event loop."""
    app.config["PASSWORD_HASH_CONCURRENCY"] = 2
    running, most = [0], [0]
    lock = threading.Lock()

    class SlowHasher:
        def verify(self, _hash, _password):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    monkeypatch.setattr(accounts, "_hasher", SlowHasher)

    def login():
        with app.app_context():
            accounts._verify("hash", "password")

    threads = [threading.Thread(target=login) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2


def test_no_turn_for_password_hashes_is_refused_at_startup(app_with):
    with pytest.raises(RuntimeError, match="PASSWORD_HASH_CONCURRENCY"):
        app_with(PASSWORD_HASH_CONCURRENCY=0)


def test_access_token_identifies_user(app, alice):
    token = accounts.issue_access_token(alice)["access_token"]
    user, claims = accounts.user_for_access_token(token)
    assert user.id == alice.id and claims["type"] == "access"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", None, 12])
def test_malformed_access_tokens_are_invalid(app, token):
    with pytest.raises(ChatError) as excinfo:
        accounts.user_for_access_token(token)
    assert excinfo.value.code == "TOKEN_INVALID"


def test_refresh_token_is_not_an_access_token(app, alice):
    tokens = accounts.issue_tokens(alice)
    with pytest.raises(ChatError) as excinfo:
        accounts.user_for_access_token(tokens["refresh_token"])
    assert excinfo.value.code == "TOKEN_INVALID"


def test_expired_access_token(app, alice):
    from datetime import timedelta

    from flask_jwt_extended import create_access_token

    token = create_access_token(
        identity=str(alice.id), additional_claims={"gen": 0}, expires_delta=timedelta(seconds=-5)
    )
    with pytest.raises(ChatError) as excinfo:
        accounts.user_for_access_token(token)
    assert excinfo.value.code == "TOKEN_EXPIRED"


def test_token_signed_with_another_key_is_invalid(app, alice):
    import jwt as pyjwt

    token = pyjwt.encode({"sub": str(alice.id), "type": "access", "gen": 0}, "another key", algorithm="HS256")
    with pytest.raises(ChatError) as excinfo:
        accounts.user_for_access_token(token)
    assert excinfo.value.code == "TOKEN_INVALID"


def test_unsigned_token_is_invalid(app, alice):
    import jwt as pyjwt

    token = pyjwt.encode({"sub": str(alice.id), "type": "access", "gen": 0}, None, algorithm="none")
    with pytest.raises(ChatError) as excinfo:
        accounts.user_for_access_token(token)
    assert excinfo.value.code == "TOKEN_INVALID"


def test_refresh_rotation_and_reuse_detection(app, alice):
    first = accounts.issue_tokens(alice)
    second = accounts.rotate_refresh_token(first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    third = accounts.rotate_refresh_token(second["refresh_token"])

    # The first token was spent: presenting it again revokes the whole family...
    with pytest.raises(ChatError) as excinfo:
        accounts.rotate_refresh_token(first["refresh_token"])
    assert excinfo.value.code == "TOKEN_REUSED"
    # ...including the newest token, which was never used.
    with pytest.raises(ChatError) as excinfo:
        accounts.rotate_refresh_token(third["refresh_token"])
    assert excinfo.value.code == "TOKEN_INVALID"


def test_reuse_revokes_only_that_family(app, alice):
    phone = accounts.issue_tokens(alice)
    laptop = accounts.issue_tokens(alice)
    accounts.rotate_refresh_token(phone["refresh_token"])
    with pytest.raises(ChatError):
        accounts.rotate_refresh_token(phone["refresh_token"])
    assert accounts.rotate_refresh_token(laptop["refresh_token"])["access_token"]


def test_logout_revokes_every_token(app, alice):
    tokens = accounts.issue_tokens(alice)
    accounts.logout(alice)
    for call, token in [
        (accounts.user_for_access_token, tokens["access_token"]),
        (accounts.rotate_refresh_token, tokens["refresh_token"]),
    ]:
        with pytest.raises(ChatError) as excinfo:
            call(token)
        assert excinfo.value.code == "TOKEN_INVALID"
    fresh = accounts.issue_access_token(alice)["access_token"]
    assert accounts.user_for_access_token(fresh)[0].id == alice.id


def test_change_password(app, alice):
    old_token = accounts.issue_access_token(alice)["access_token"]
    with pytest.raises(ChatError) as excinfo:
        accounts.change_password(alice, "not it", "a new password")
    assert excinfo.value.fields == {"current_password": "That is not your current password."}
    accounts.change_password(alice, PASSWORD, "a new password")
    assert accounts.authenticate("alice", "a new password").id == alice.id
    with pytest.raises(ChatError):
        accounts.authenticate("alice", PASSWORD)
    with pytest.raises(ChatError):
        accounts.user_for_access_token(old_token)


# --- strength, names (issue 24) --------------------------------------------------------


@pytest.mark.parametrize(
    "password, username, reason",
    [
        ("password123", None, "one of the most used passwords"),
        ("P@ssw0rd", None, "common password with small changes"),
        ("aaaaaaaaaa", None, "Repeated characters"),
        ("abcdefghij", None, "Sequences"),
        ("zxcvfrewq", None, "Keyboard patterns"),
        ("12.05.1987", None, "Dates"),
        ("jennifer", None, "Names"),
        ("alice2026", "Alice", "close to your username"),
        ("xK9#mQ2z", None, "Make it longer"),
    ],
)
def test_guessable_passwords_are_refused_with_our_reason(rules_app, password, username, reason):
    """zxcvbn's verdict, said in a message of ours (translatable), never its English."""
    problem = accounts.password_problem(password, username)
    assert problem is not None and reason in str(problem)
    assert str(problem) in {str(text) for text in passwords.REASONS.values()}


def test_username_is_a_user_input_of_the_estimate(rules_app):
    assert accounts.password_problem("bluewhale2026") is None
    assert "username" in str(accounts.password_problem("bluewhale2026", "BlueWhale"))


def test_minimum_score_is_a_setting(rules_app):
    rules_app.config["PASSWORD_MIN_SCORE"] = 0
    assert accounts.password_problem("password") is None
    rules_app.config["PASSWORD_MIN_SCORE"] = 4
    assert accounts.password_problem("xK9#mQ2zp") is not None  # 3: enough by default
    assert accounts.password_problem(PASSWORD) is None


def test_estimate_is_zxcvbns_own(rules_app):
    """The estimate calls zxcvbn's parts with a dictionary of its own (thread-safe); its
    score is the one zxcvbn() gives, so that an upgrade that changes them shows here."""
    for password in ("password123", "P@ssw0rd", "alice2026", "xK9#mQ2z", PASSWORD, "비밀번호입니다", "12.05.1987"):
        assert passwords.estimate(password, ["alice", "webchat"])[0] == zxcvbn(password, ["alice", "webchat"])["score"]


def test_signup_and_password_change_refuse_guessable_passwords(app, alice):
    with pytest.raises(ChatError) as excinfo:
        accounts.signup("carol", "iloveyou1")
    assert excinfo.value.code == "VALIDATION_ERROR" and set(excinfo.value.fields) == {"password"}
    assert accounts.find_user("carol") is None
    with pytest.raises(ChatError) as excinfo:
        accounts.change_password(alice, PASSWORD, "alice2026")
    assert excinfo.value.code == "VALIDATION_ERROR" and "username" in str(excinfo.value.fields["new_password"])
    assert accounts.authenticate("alice", PASSWORD).id == alice.id


@pytest.mark.parametrize(
    "username",
    [
        "a\u200bb",  # zero-width space
        "\u202eabc",  # right-to-left override
        "ab\u2066c",  # left-to-right isolate
        "\u3164\u3164",  # Hangul filler: a letter that shows as nothing
        "a\u115fb",  # Hangul choseong filler
        "x\x00y",
        "a\u00adb",  # soft hyphen
    ],
)
def test_usernames_refuse_invisible_characters(rules_app, username):
    assert "invisible" in str(accounts.username_problem(username))


@pytest.mark.parametrize(
    "username, ok",
    [
        ("раypal", False),
        ("Αlice", False),
        ("kim준호", True),
        ("준호a3f9c1", True),  # digits look like letters of many scripts, and belong to none
        ("j0hn_3", True),
        ("이준호_dev", True),
        ("Ελληνικά", True),
        ("Дмитрий", True),
    ],
)
def test_mixed_script_lookalikes_are_refused(rules_app, username, ok):
    """A name may mix scripts (kim준호), but not imitate one with another's letters: the
    Cyrillic р and а in "раypal", the Greek Α in "Αlice"."""
    problem = accounts.username_problem(username)
    assert (problem is None) is ok
    assert ok or "scripts" in str(problem)


def test_a_name_whose_normalised_form_is_too_long_is_refused(app):
    """Six U+FDFA are six characters, 108 once NFKC spells them out: over the key's 96
    (MariaDB refused the row with a 500; SQLite stored it)."""
    with pytest.raises(ChatError) as excinfo:
        accounts.signup("\ufdfa" * 6, PASSWORD)
    assert excinfo.value.code == "VALIDATION_ERROR" and "too long" in str(excinfo.value.fields["username"])
    assert accounts.signup("\ufdfa" * 5, PASSWORD).username_key == accounts.username_key("\ufdfa" * 5)


@pytest.mark.parametrize("lookalike", ["alıce", "rnary", "\u0440\u043e\u0435"])
def test_signup_refuses_a_name_that_looks_like_an_existing_one(app, make_user, lookalike):
    """One skeleton, one script each: a dotless ı, "rn" for "m", Cyrillic "рое" for "poe"."""
    for name in ("Alice", "mary", "poe"):
        make_user(name)
    with pytest.raises(ChatError) as excinfo:
        accounts.signup(lookalike, PASSWORD)
    assert excinfo.value.code == "VALIDATION_ERROR"
    assert "looks too much like" in str(excinfo.value.fields["username"])
    assert accounts.signup("Alicia", PASSWORD)
