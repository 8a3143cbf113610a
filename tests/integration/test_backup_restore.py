"""Backup and restore as docs/deployment.md tells the operator: `mariadb-dump
--single-transaction` of a running server's database, a copy of its UPLOAD_DIR taken
after the dump, both restored into a fresh database and folder, and a new server on them
that answers every message as the old one did, with every file downloadable."""

import io
import shutil
import subprocess

import pytest
import requests
from PIL import Image

from ..support.accounts import PASSWORD
from ..support.chat_client import ChatClient
from ..support.http_client import api, api_user, unique_name
from ..support.services import require
from ..support.throwaway import ThrowawayMariaDB

pytestmark = [pytest.mark.integration, pytest.mark.mariadb]


class RestoredDatabase:
    """Another database on the throwaway server, as LiveServer needs one."""

    backend = "mariadb"

    def __init__(self, mariadb, name):
        self.mariadb, self.name, self.migrated = mariadb, name, False
        self.url = f"mysql://root@127.0.0.1:{mariadb.port}/{name}"


def everything(server, token, room_id):
    """Every message of the room, oldest first, as the API pages them."""
    messages, after = [], 0
    while True:
        page = api(server, token, "GET", f"/rooms/{room_id}/messages", params={"after_seq": after, "limit": 100})
        assert page.status_code == 200, page.text
        messages += page.json()["messages"]
        if not page.json()["has_more"]:
            return messages
        after = messages[-1]["seq"]


def png(width=64, height=48):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def test_dump_and_restore(live_server, tmp_path):
    require(shutil.which("mariadb-dump") and shutil.which("mariadb"), "mariadb-dump and mariadb")
    mariadb = ThrowawayMariaDB(tmp_path / "mariadb").start()
    try:
        uploads = tmp_path / "uploads"
        server = live_server(database=mariadb, env={"UPLOAD_DIR": str(uploads)})
        alice, a_token = api_user(server, unique_name("bk"))
        bob, b_token = api_user(server, unique_name("bl"))
        rooms = [api(server, a_token, "POST", "/rooms", json={"name": f"backup {i}"}).json()["room"] for i in (1, 2)]
        sockets = {a_token: ChatClient(server, a_token).connect(), b_token: ChatClient(server, b_token).connect()}
        for room in rooms:
            assert api(server, b_token, "POST", f"/rooms/{room['id']}/join").status_code == 200
            for i in range(60):  # more than one page
                body = {
                    "room_id": room["id"],
                    "body": f"메시지 {i} in {room['name']} ✓ **bold**",
                    "client_id": f"c{room['id']}-{i}",
                }
                ack = sockets[a_token if i % 2 else b_token].call("send_message", body)
                assert ack["ok"], ack
        for sock in sockets.values():
            sock.close()
        files = {
            "picture.png": (png(), "image/png"),
            "notes 한글.txt": ("backup 백업\n".encode() * 100, "text/plain"),
        }
        for name, (content, kind) in files.items():
            sent = api(server, a_token, "POST", f"/rooms/{rooms[0]['id']}/files", files={"file": (name, content, kind)})
            assert sent.status_code == 201, sent.text
        before = {room["id"]: everything(server, a_token, room["id"]) for room in rooms}
        attached = [m["file"] for m in before[rooms[0]["id"]] if m.get("file")]
        assert len(attached) == 2 and any(f["thumbnail_url"] for f in attached)

        # The backup, with the server running: the database first, then the files.
        dump = tmp_path / "webchat.sql"
        with open(dump, "wb") as out:
            subprocess.run(
                [
                    "mariadb-dump",
                    "--single-transaction",
                    "--quick",
                    "--default-character-set=utf8mb4",
                    "--host=127.0.0.1",
                    f"--port={mariadb.port}",
                    "--user=root",
                    "webchat",
                ],
                stdout=out,
                check=True,
                timeout=60,
            )
        archive = tmp_path / "uploads.tar"
        subprocess.run(["tar", "-C", str(uploads), "-cf", str(archive), "."], check=True, timeout=60)
        server.stop()

        # The restore: a fresh database and upload folder, and a new server on them.
        mariadb.query("CREATE DATABASE restored CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        with open(dump, "rb") as source:
            subprocess.run(
                [
                    "mariadb",
                    "--default-character-set=utf8mb4",
                    "--host=127.0.0.1",
                    f"--port={mariadb.port}",
                    "--user=root",
                    "restored",
                ],
                stdin=source,
                check=True,
                timeout=60,
            )
        restored_uploads = tmp_path / "restored-uploads"
        restored_uploads.mkdir()
        subprocess.run(["tar", "-C", str(restored_uploads), "-xf", str(archive)], check=True, timeout=60)
        restored = live_server(
            database=RestoredDatabase(mariadb, "restored"), env={"UPLOAD_DIR": str(restored_uploads)}
        )

        tokens = requests.post(
            f"{restored.url}/api/v1/auth/token",
            json={"username": alice["username"], "password": PASSWORD},
            timeout=10,
        )
        assert tokens.status_code == 200, tokens.text  # the accounts came back too
        token = tokens.json()["access_token"]
        after = {room["id"]: everything(restored, token, room["id"]) for room in rooms}
        assert after == before
        assert sum(len(messages) for messages in after.values()) >= 122
        bearer = {"Authorization": f"Bearer {token}"}
        for attachment in attached:
            name = attachment["name"]
            got = requests.get(f"{restored.url}{attachment['url']}", headers=bearer, timeout=10)
            assert got.status_code == 200 and got.content == files[name][0], name
            if attachment["thumbnail_url"]:
                thumb = requests.get(f"{restored.url}{attachment['thumbnail_url']}", headers=bearer, timeout=10)
                assert thumb.status_code == 200 and thumb.headers["Content-Type"].startswith("image/") and thumb.content
        # And it goes on: a new message takes the next seq.
        room_id = rooms[1]["id"]
        sock = ChatClient(restored, token).connect()
        sent = sock.call("send_message", {"room_id": room_id, "body": "after the restore"})
        assert sent["ok"] and sent["message"]["seq"] == after[room_id][-1]["seq"] + 1, sent
        sock.close()
    finally:
        mariadb.stop()
