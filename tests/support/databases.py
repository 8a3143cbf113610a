"""The in-process tests' databases: a schema built by the project's own migrations once
per session and backend, copied or emptied for each test (the `backend` fixture)."""

import shutil
import uuid

import pymysql
import sqlalchemy as sa

from config import TestConfig, database_uri
from webchat import create_app
from webchat.extensions import db

from .services import MARIADB_SERVER_URL


def config_for(uri, tmp_path):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = uri
        UPLOAD_DIR = str(tmp_path / "uploads")

    return Config


def _migrate(uri, tmp_path):
    from flask_migrate import upgrade

    app = create_app(config_for(uri, tmp_path))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _mysql_admin():
    url = sa.engine.make_url(database_uri(MARIADB_SERVER_URL))
    return pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "")


class Backend:
    """A migrated database for the session; `fresh(tmp_path)` gives each test an empty one."""

    def __init__(self, name, tmp_path_factory):
        self.name = name
        self.tmp = tmp_path_factory.mktemp(f"db-{name}")
        if name == "sqlite":
            self.template = self.tmp / "template.db"
            _migrate(f"sqlite:///{self.template}", self.tmp)
        else:
            self.database = f"webchat_test_{uuid.uuid4().hex[:10]}"
            with _mysql_admin() as conn, conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {self.database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            self.url = database_uri(f"{MARIADB_SERVER_URL.rstrip('/')}/{self.database}")
            _migrate(self.url, self.tmp)

    def fresh(self, tmp_path):
        if self.name == "sqlite":
            target = tmp_path / "webchat.db"
            shutil.copy(self.template, target)
            return f"sqlite:///{target}"
        engine = sa.create_engine(self.url)
        with engine.begin() as conn:
            conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(sa.text(f"DELETE FROM {table.name}"))
            conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))
        engine.dispose()
        return self.url

    def drop(self):
        if self.name == "mariadb":
            with _mysql_admin() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {self.database}")
