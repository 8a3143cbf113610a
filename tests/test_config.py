"""Settings: database URLs, and secrets that fail loudly in production and persist in
development. The start-up behaviour runs `import config` in a fresh interpreter, since
the module reads its environment once, at import."""

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from config import database_uri

ROOT = Path(__file__).resolve().parent.parent
SECRETS = ("SECRET_KEY", "JWT_SECRET_KEY")
PRINT_SETTINGS = (
    "import config; "
    "print(config.Config.SECRET_KEY); print(config.Config.JWT_SECRET_KEY); "
    "print(config.Config.SESSION_COOKIE_SECURE); print(config.Config.HSTS_SECONDS)"
)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("mysql://root@db/webchat", "mysql+pymysql://root@db/webchat?charset=utf8mb4"),
        ("mariadb://u:p@db:3306/webchat", "mysql+pymysql://u:p@db:3306/webchat?charset=utf8mb4"),
        ("mariadb+pymysql://u@db/webchat", "mysql+pymysql://u@db/webchat?charset=utf8mb4"),
        ("mysql+pymysql://u@db/webchat", "mysql+pymysql://u@db/webchat?charset=utf8mb4"),
        ("mysql://u@db/webchat?ssl=true", "mysql+pymysql://u@db/webchat?ssl=true&charset=utf8mb4"),
        ("mariadb://u@db/webchat?charset=utf8mb4", "mysql+pymysql://u@db/webchat?charset=utf8mb4"),
        ("sqlite:////var/lib/webchat/webchat.db", "sqlite:////var/lib/webchat/webchat.db"),
        ("sqlite:///instance/webchat.db", "sqlite:///instance/webchat.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_database_uri(url, expected):
    assert database_uri(url) == expected


def run_config(instance_dir, **env):
    """Import config in a fresh interpreter with a clean environment plus `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith("WEBCHAT_")}
    clean.pop("DATABASE_URL", None)
    clean.pop("SESSION_COOKIE_SECURE", None)
    clean.pop("HSTS_SECONDS", None)
    clean.update(WEBCHAT_INSTANCE_DIR=str(instance_dir), **env)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "present, missing",
    [({}, "SECRET_KEY"), ({"SECRET_KEY": "s" * 40}, "JWT_SECRET_KEY")],
)
def test_production_refuses_to_start_without_secrets(tmp_path, present, missing):
    instance = tmp_path / "instance"
    result = run_config(instance, WEBCHAT_ENV="production", **present)
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr
    # Nothing was generated in its place.
    assert not instance.exists() or not any(instance.iterdir())


def test_production_with_secrets_starts_and_uses_secure_cookies_and_hsts(tmp_path):
    instance = tmp_path / "instance"
    result = run_config(instance, WEBCHAT_ENV="production", SECRET_KEY="a" * 40, JWT_SECRET_KEY="b" * 40)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["a" * 40, "b" * 40, "True", str(365 * 86400)]
    assert not instance.exists() or not any(instance.iterdir())


def test_development_generates_secrets_once_in_the_instance_folder(tmp_path):
    instance = tmp_path / "instance"
    first = run_config(instance)
    assert first.returncode == 0, first.stderr
    secret, jwt_secret, secure, hsts = first.stdout.split()
    assert secure == "False" and hsts == "0"
    assert len(secret) >= 32 and len(jwt_secret) >= 32 and secret != jwt_secret
    for name, value in [("secret_key", secret), ("jwt_secret_key", jwt_secret)]:
        path = instance / name
        assert path.read_text().strip() == value
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    second = run_config(instance)
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == [secret, jwt_secret, "False", "0"]


def test_development_secrets_from_the_environment_win(tmp_path):
    instance = tmp_path / "instance"
    result = run_config(instance, SECRET_KEY="from-env", JWT_SECRET_KEY="jwt-from-env")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["from-env", "jwt-from-env"]
    assert not (instance / "secret_key").exists()


def test_processes_starting_together_agree_on_the_generated_secret(tmp_path):
    """Several workers starting at once on an empty instance folder must share one
    secret, or a session signed by one would be refused by the others."""
    instance = tmp_path / "instance"
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: run_config(instance), range(8)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    outputs = {r.stdout for r in results}
    assert len(outputs) == 1
    secret = outputs.pop().split()[0]
    assert secret and (instance / "secret_key").read_text().strip() == secret
    assert sorted(p.name for p in instance.iterdir()) == ["jwt_secret_key", "secret_key"]


def test_mariadb_pool_size_comes_from_the_settings_and_sqlite_keeps_its_own():
    from webchat.database import engine_options

    mysql = engine_options("mysql+pymysql://h/db", {"pool_recycle": 3600}, pool_size=10, max_overflow=30)
    assert (mysql["pool_size"], mysql["max_overflow"], mysql["isolation_level"]) == (10, 30, "READ COMMITTED")
    sqlite = engine_options("sqlite:///x.db", {"pool_recycle": 280}, pool_size=10, max_overflow=30)
    assert "pool_size" not in sqlite and "pool_recycle" not in sqlite


def test_mariadb_on_this_machine_skips_tls_and_a_remote_one_keeps_the_drivers_choice():
    from webchat.database import engine_options

    def ssl_disabled(uri):
        return engine_options(uri, {}).get("connect_args", {}).get("ssl_disabled")

    assert ssl_disabled("mysql+pymysql://root@127.0.0.1:3306/webchat?charset=utf8mb4") is True
    assert ssl_disabled("mysql+pymysql://root@localhost/webchat") is True
    assert ssl_disabled("mysql+pymysql://app@db.internal/webchat") is None
    assert ssl_disabled("mysql+pymysql://root@127.0.0.1/webchat?ssl_ca=/etc/ca.pem") is None
