"""Attachments: upload, type detection, thumbnails, download rules, removal with messages
and rooms, and `files gc`. Every test that uses `app` runs on both storage backends (a
local folder, and S3 served by a real moto server over HTTP) and both databases.

What is stored is observed independently of webchat's storage code: by walking the
upload folder, or by listing the bucket with a client of our own.
"""

import io
import os
import re
import struct
import threading
import time
import uuid
import zlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import pytest
import sqlalchemy as sa
from PIL import Image, ImageChops, ImageCms, ImageSequence, PngImagePlugin

from webchat.commands import webchat_cli
from webchat.database import transaction
from webchat.extensions import db
from webchat.models import Attachment, Message, utcnow
from webchat.services import accounts, files, images, messages, rooms

from .support.accounts import PASSWORD, bearer, login
from .support.launcher import free_port

NS = "/chat"
LIMIT = 10 * 1024 * 1024  # the default MAX_UPLOAD_BYTES
KOREAN = "보고서 2026.pdf"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


# --- the two storage backends ------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server():
    """A real S3 API on 127.0.0.1 (moto in server mode), for the whole session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


class LocalObjects:
    """The upload folder, read directly."""

    def __init__(self, root):
        self.root = Path(root)

    def all(self):
        if not self.root.exists():
            return {}
        return {p.name: p.read_bytes() for p in self.root.rglob("*") if p.is_file()}

    def put(self, key, data):
        path = self.root / key[:2] / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def remove(self, key):
        (self.root / key[:2] / key).unlink()


class BucketObjects:
    """The bucket, read with a boto3 client of the test's own."""

    def __init__(self, endpoint, bucket):
        self.bucket = bucket
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")

    def all(self):
        listed = self.client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return {o["Key"]: self.client.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read() for o in listed}

    def put(self, key, data):
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def remove(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=key)


@pytest.fixture(params=["local", "s3"])
def app(app_with, request, monkeypatch):
    """The test app, storing attachments in a folder or in a fresh S3 bucket."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_server")
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_CONFIG_FILE", os.devnull),
            ("AWS_SHARED_CREDENTIALS_FILE", os.devnull),
        ):
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        bucket = f"webchat-{uuid.uuid4().hex[:16]}"
        observed = BucketObjects(endpoint, bucket)
        observed.client.create_bucket(Bucket=bucket)
        app = app_with(STORAGE_BACKEND="s3", S3_BUCKET=bucket, S3_ENDPOINT_URL=endpoint, S3_REGION="us-east-1")
    else:
        app = app_with()
        observed = LocalObjects(app.config["UPLOAD_DIR"])
    app.extensions["test.objects"] = observed
    return app


@pytest.fixture
def objects(app):
    return app.extensions["test.objects"]


# --- helpers -------------------------------------------------------------------------


def upload(client, user, room_id, data, name="file.bin", client_id=None, headers=None):
    form = {"file": (io.BytesIO(data), name)}
    if client_id is not None:
        form["client_id"] = client_id
    return client.post(
        f"/api/v1/rooms/{room_id}/files", data=form, headers=bearer(user) if headers is None else headers
    )


def uploaded(client, user, room_id, data, name="file.bin", **kwargs):
    response = upload(client, user, room_id, data, name, **kwargs)
    assert response.status_code == 201, response.text
    return response.json["message"]


def get(client, url, user=None, **headers):
    if user is not None:
        headers.update(bearer(user))
    return client.get(url, headers=headers)


def session_client(app, user):
    """A client signed in through the login form."""
    return login(app.test_client(), user)


def error_of(response):
    return response.json["error"]["code"]


def image_bytes(fmt, size=(640, 480), color="red", **save):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt, **save)
    return buf.getvalue()


def png_claiming(width, height):
    """A tiny PNG whose header claims `width` x `height`: what a decompression bomb looks like
    before it is decoded."""
    data = bytearray(image_bytes("PNG", (1, 1)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def file_rows():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Attachment))


def received(sock, name):
    return [e["args"][0] for e in sock.get_received(NS) if e["name"] == name]


@pytest.fixture
def room(app, alice, bob):
    room = rooms.create_room(alice, "General")
    rooms.join_room(bob, room["id"])
    return room


@pytest.fixture
def carol(make_user):
    return make_user("carol")


# --- upload ----------------------------------------------------------------------------


def test_member_uploads_and_the_room_hears_it_after_commit(app, client, alice, bob, room, connect, objects):
    b, b_list = connect(bob), connect(bob)
    b.emit("open_room", {"room_id": room["id"]}, namespace=NS, callback=True)
    b.get_received(NS), b_list.get_received(NS)

    message = uploaded(client, alice, room["id"], PDF, "minutes.pdf")

    assert message["kind"] == "file" and message["body"] == "" and message["seq"] == 3
    assert message["sender"]["username"] == "alice" and message["deleted"] is False
    attachment = message["file"]
    assert attachment == {
        "id": attachment["id"],
        "name": "minutes.pdf",
        "size": len(PDF),
        "content_type": "application/pdf",
        "url": f"/files/{attachment['id']}/minutes.pdf",
        "thumbnail_url": None,
        "width": None,
        "height": None,
    }
    assert received(b, "new_message") == [{"message": message}]
    assert received(b_list, "unread") == [
        {"room_id": room["id"], "unread_count": 1, "mention_count": 0, "last_message": message}
    ]
    assert rooms.room_view(alice, room["id"])["last_read_message_id"] == message["id"]
    assert rooms.room_view(alice, room["id"])["unread_count"] == 0
    assert list(objects.all().values()) == [PDF]
    # History and the room list carry the same shape.
    history = client.get(f"/api/v1/rooms/{room['id']}/messages", headers=bearer(bob)).json["messages"]
    assert history[-1] == message
    assert rooms.room_view(bob, room["id"])["last_message"] == message


def test_seq_is_shared_with_text_messages(app, client, alice, room):
    first, _ = messages.send_message(alice, room["id"], "before")
    message = uploaded(client, alice, room["id"], PDF, "a.pdf")
    after, _ = messages.send_message(alice, room["id"], "after")
    assert (first.seq, message["seq"], after.seq) == (3, 4, 5)


def test_session_authenticated_upload(app, alice, room):
    response = upload(session_client(app, alice), alice, room["id"], PDF, "a.pdf", headers={})
    assert response.status_code == 201 and response.json["message"]["sender"]["username"] == "alice"
    response = upload(app.test_client(), alice, room["id"], PDF, "a.pdf", headers={})
    assert (response.status_code, error_of(response)) == (401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "who, kind, code, status",
    [
        ("bob", "public", "USER_NOT_IN_CHAT_ROOM", 403),
        ("bob", "private", "ROOM_NOT_FOUND", 404),
        ("kicked", "public", "USER_NOT_IN_CHAT_ROOM", 403),
        ("left", "public", "USER_NOT_IN_CHAT_ROOM", 403),
        ("bob", "missing", "ROOM_NOT_FOUND", 404),
        ("anonymous", "public", "UNAUTHENTICATED", 401),
    ],
)
def test_only_members_upload(app, client, alice, bob, carol, objects, who, kind, code, status):
    room = rooms.create_room(alice, "Room", "private" if kind == "private" else "public")
    room_id = 999999 if kind == "missing" else room["id"]
    user, headers = bob, None
    if who in ("kicked", "left"):
        rooms.join_room(carol, room["id"])
        if who == "kicked":
            rooms.kick(alice, room["id"], "carol")
        else:
            rooms.leave(carol, room["id"])
        user = carol
    if who == "anonymous":
        headers = {}
    response = upload(client, user, room_id, PDF, "a.pdf", headers=headers)
    assert (response.status_code, error_of(response)) == (status, code)
    assert objects.all() == {} and file_rows() == 0


def test_missing_file_field_is_a_validation_error(app, client, alice, room):
    response = client.post(
        f"/api/v1/rooms/{room['id']}/files", data={"attachment": (io.BytesIO(PDF), "a.pdf")}, headers=bearer(alice)
    )
    assert response.status_code == 400 and error_of(response) == "VALIDATION_ERROR"
    assert "file" in response.json["error"]["fields"]
    response = client.post(f"/api/v1/rooms/{room['id']}/files", json={"file": "x"}, headers=bearer(alice))
    assert response.status_code == 400 and error_of(response) == "VALIDATION_ERROR"


def test_empty_file_is_refused(app, client, alice, room, objects):
    response = upload(client, alice, room["id"], b"", "empty.txt")
    assert (response.status_code, error_of(response)) == (400, "FILE_EMPTY")
    assert objects.all() == {} and file_rows() == 0


def test_retry_with_the_same_client_id_stores_one_message_and_one_object(
    app, client, alice, bob, room, connect, objects
):
    b = connect(bob)
    b.emit("open_room", {"room_id": room["id"]}, namespace=NS, callback=True)
    b.get_received(NS)
    first = uploaded(client, alice, room["id"], PDF, "a.pdf", client_id="upload-1")
    again = uploaded(client, alice, room["id"], PDF, "a.pdf", client_id="upload-1")
    assert again == first and first["client_id"] == "upload-1"
    assert len(objects.all()) == 1 and file_rows() == 1
    assert len(received(b, "new_message")) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.kind == "file")) == 1
    # A new client_id is a new message.
    assert uploaded(client, alice, room["id"], PDF, "a.pdf", client_id="upload-2")["id"] != first["id"]


def test_racing_retries_store_one_message_and_one_object(app, alice, room, objects):
    """Retries that all pass the first check before any commits: the check under the room's
    lock finds the winner, and the losers remove what they stored."""
    data, racers, headers = image_bytes("PNG"), 6, bearer(alice)
    start, responses = threading.Barrier(racers), []

    def retry():
        client = app.test_client()
        start.wait()
        responses.append(upload(client, alice, room["id"], data, "a.png", client_id="race", headers=headers))

    threads = [threading.Thread(target=retry) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in responses] == [201] * racers
    assert len({r.json["message"]["id"] for r in responses}) == 1
    assert file_rows() == 1
    assert len(objects.all()) == 2  # the image and its thumbnail, once


def test_client_id_rules_are_those_of_send_message(app, client, alice, room, objects):
    other = rooms.create_room(alice, "Other")
    uploaded(client, alice, room["id"], PDF, "a.pdf", client_id="used")
    messages.send_message(alice, room["id"], "text", client_id="text-1")
    stored = objects.all()
    for room_id, client_id in ((other["id"], "used"), (room["id"], "text-1"), (room["id"], ""), (room["id"], "x" * 65)):
        response = upload(client, alice, room_id, PDF, "a.pdf", client_id=client_id)
        assert (response.status_code, error_of(response)) == (400, "VALIDATION_ERROR"), client_id
        assert "client_id" in response.json["error"]["fields"]
    assert objects.all() == stored


def test_a_storage_failure_stores_nothing_and_says_retry(app, client, alice, room):
    if app.config["STORAGE_BACKEND"] == "s3":
        app.config["S3_BUCKET"] = f"missing-{uuid.uuid4().hex[:12]}"
    else:
        blocker = Path(app.config["UPLOAD_DIR"])
        blocker.parent.mkdir(parents=True, exist_ok=True)
        blocker.write_text("a file where the upload folder should be")
    response = upload(client, alice, room["id"], image_bytes("PNG"), "a.png")
    assert (response.status_code, error_of(response)) == (503, "SERVICE_UNAVAILABLE")
    assert file_rows() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.kind == "file")) == 0


# --- size limits ---------------------------------------------------------------------------


def test_the_limit_is_exact(app, client, alice, room, objects):
    assert app.config["MAX_UPLOAD_BYTES"] == LIMIT
    at_limit = b"\0" * LIMIT
    assert uploaded(client, alice, room["id"], at_limit, "big.bin")["file"]["size"] == LIMIT
    # One byte over still fits MAX_CONTENT_LENGTH (multipart overhead): the service refuses it.
    response = upload(client, alice, room["id"], at_limit + b"\0", "bigger.bin")
    assert (response.status_code, error_of(response)) == (413, "FILE_TOO_LARGE")
    assert response.content_type == "application/json"
    assert len(objects.all()) == 1 and file_rows() == 1


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes that counts how much of it the server read."""

    def __init__(self, size):
        self.size, self.consumed = size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.size - self.consumed)
        buffer[:n] = b"\0" * n
        self.consumed += n
        return n


def oversize_request(client, alice, room_id, body_size, streamed):
    boundary = "----webchat-test"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = CountingStream(body_size)
    stream = io.BufferedReader(body)
    headers = {**bearer(alice), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    environ = {"wsgi.input": io.BufferedReader(_Chain(head, stream))}
    if streamed:
        environ["wsgi.input_terminated"] = True  # what a server sets for a chunked body
    else:
        environ["CONTENT_LENGTH"] = str(len(head) + body_size)
    response = client.post(f"/api/v1/rooms/{room_id}/files", headers=headers, environ_overrides=environ)
    return response, body.consumed


class _Chain(io.RawIOBase):
    def __init__(self, head, rest):
        self.head, self.rest = io.BytesIO(head), rest

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.head.read(len(buffer)) or self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_an_oversize_body_is_refused_before_it_is_read_whole(app, client, alice, room, objects, streamed):
    size = 64 * 1024 * 1024
    response, consumed = oversize_request(client, alice, room["id"], size, streamed)
    assert (response.status_code, error_of(response)) == (413, "FILE_TOO_LARGE")
    if streamed:
        # Read up to the limit, not beyond.
        assert consumed <= app.config["MAX_CONTENT_LENGTH"] + 1024 * 1024
    else:
        assert consumed == 0  # refused on the declared length, before reading anything
    assert objects.all() == {} and file_rows() == 0


# --- type detection and thumbnails -------------------------------------------------------


def corrupt_png():
    data = image_bytes("PNG", (200, 200), "blue")
    return data[:60] + b"\0" * 200 + data[60:]


@pytest.mark.parametrize(
    "name, data, content_type, thumbnail",
    [
        ("photo.png", HTML, "text/plain; charset=utf-8", False),
        ("page.html", HTML, "text/plain; charset=utf-8", False),
        (
            "drawing.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "text/plain; charset=utf-8",
            False,
        ),
        ("notes.txt", "회의록: 다음 주 월요일\n".encode(), "text/plain; charset=utf-8", False),
        ("photo.txt", image_bytes("PNG"), "image/png", True),
        ("photo.jpg", image_bytes("JPEG"), "image/jpeg", True),
        ("anim.gif", image_bytes("GIF"), "image/gif", True),
        ("pic.webp", image_bytes("WEBP"), "image/webp", True),
        ("report.pdf", PDF, "application/pdf", False),
        ("page.html", "<html>".encode("utf-16"), "application/octet-stream", False),
        ("data.bin", bytes(range(256)) * 4, "application/octet-stream", False),
        ("broken.png", corrupt_png(), "application/octet-stream", False),
        ("cut.png", image_bytes("PNG", (400, 400), "green")[:100], "application/octet-stream", False),
    ],
    ids=[
        "html-named-png",
        "html",
        "svg",
        "korean-text",
        "png-named-txt",
        "jpeg",
        "gif",
        "webp",
        "pdf",
        "utf16-html",
        "binary",
        "corrupt-png",
        "truncated-png",
    ],
)
def test_the_type_comes_from_the_bytes(app, client, alice, room, name, data, content_type, thumbnail):
    message = uploaded(client, alice, room["id"], data, name)
    attachment = message["file"]
    assert attachment["content_type"] == content_type and attachment["name"] == name
    assert (attachment["thumbnail_url"] is not None) == thumbnail
    response = get(client, attachment["url"], alice)
    assert response.status_code == 200 and response.data == data
    served = response.headers["Content-Type"]
    assert served == content_type
    assert "html" not in served and "svg" not in served and "xml" not in served and "javascript" not in served
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline;" if thumbnail else "attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_png_and_jpeg_thumbnails_are_bounded_and_follow_exif_orientation(app, client, alice, room):
    # Left half red, right half blue, stored sideways: EXIF orientation 6 says "turn 90°
    # clockwise to view", which puts the left (red) edge on top.
    sideways = Image.new("RGB", (800, 400), "blue")
    sideways.paste((255, 0, 0), (0, 0, 400, 400))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    sideways.save(buf, "JPEG", exif=exif, quality=95)
    jpeg = uploaded(client, alice, room["id"], buf.getvalue(), "sideways.jpg")["file"]
    assert (jpeg["width"], jpeg["height"]) == (400, 800)
    response = get(client, jpeg["thumbnail_url"], alice)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/webp"
    assert response.headers["Content-Disposition"].startswith("inline;")
    thumb = Image.open(io.BytesIO(response.data)).convert("RGB")
    assert thumb.size == (160, 320)
    top, bottom = thumb.getpixel((80, 10)), thumb.getpixel((80, 310))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom

    png = uploaded(client, alice, room["id"], image_bytes("PNG", (1000, 500)), "wide.png")["file"]
    assert (png["width"], png["height"]) == (1000, 500)
    thumb = Image.open(io.BytesIO(get(client, png["thumbnail_url"], alice).data))
    assert thumb.format == "WEBP" and thumb.size == (320, 160)
    assert not thumb.getexif()  # no metadata (location, camera) copied into thumbnails


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("width, height", [(8000, 6000), (20000, 20000)], ids=["over-bound", "pillow-error"])
def test_decompression_bombs_are_refused(app, client, alice, room, objects, width, height):
    response = upload(client, alice, room["id"], png_claiming(width, height), "bomb.png")
    assert (response.status_code, error_of(response)) == (400, "VALIDATION_ERROR")
    assert "file" in response.json["error"]["fields"]
    assert objects.all() == {} and file_rows() == 0


def test_an_image_at_the_pixel_bound_is_accepted(app, client, alice, room):
    assert app.config["MAX_IMAGE_PIXELS"] == 5000 * 5000  # the default
    attachment = uploaded(client, alice, room["id"], image_bytes("PNG", (5000, 5000)), "big.png")["file"]
    assert attachment["content_type"] == "image/png" and attachment["thumbnail_url"]


# --- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, kept",
    [
        (KOREAN, KOREAN),
        ("\u1107\u1169\u1100\u1169\u1109\u1165.txt", "보고서.txt"),  # NFD (as macOS sends it) becomes NFC
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\kim\\문서\\계획.docx", "계획.docx"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("line\nbreak\ttab\x00.txt", "line break tab.txt"),
        ("  spaced   out  .txt ", "spaced out .txt"),
        ("...", "file"),
        ("", "file"),
        (None, "file"),
        ("😀 emoji.png", "😀 emoji.png"),
    ],
)
def test_names_are_sanitised(given, kept):
    assert files.clean_name(given) == kept


def test_long_names_are_cut_keeping_the_extension():
    name = files.clean_name("가" * 300 + ".pdf")
    assert len(name) == files.NAME_MAX and name.endswith("가.pdf")


def test_a_korean_name_round_trips(app, client, alice, room):
    attachment = uploaded(client, alice, room["id"], PDF, KOREAN)["file"]
    assert attachment["name"] == KOREAN
    assert attachment["url"] == f"/files/{attachment['id']}/%EB%B3%B4%EA%B3%A0%EC%84%9C%202026.pdf"
    response = get(client, attachment["url"], alice)
    disposition = response.headers["Content-Disposition"]
    kind, ascii_part, star_part = [p.strip() for p in disposition.split(";")]
    assert kind == "attachment" and ascii_part == 'filename="2026.pdf"'
    assert star_part.startswith("filename*=UTF-8''")
    assert unquote(star_part[len("filename*=UTF-8''") :], encoding="utf-8", errors="strict") == KOREAN
    assert disposition.isascii()
    # The name in the URL is for people; the id decides.
    assert get(client, f"/files/{attachment['id']}/whatever.bin", alice).data == PDF


# --- download ------------------------------------------------------------------------------


def test_who_may_download(app, client, alice, bob, carol, room, make_user):
    attachment = uploaded(client, alice, room["id"], image_bytes("PNG"), "a.png")["file"]
    for url in (attachment["url"], attachment["thumbnail_url"]):
        assert get(client, url, alice).status_code == 200
        assert get(client, url, bob).status_code == 200
        assert get(session_client(app, bob), url).status_code == 200  # by session
    outsider = make_user("dave")
    anonymous = get(app.test_client(), attachment["url"], Accept="application/json")
    assert anonymous.status_code == 404 and "Location" not in anonymous.headers
    assert anonymous.get_json()["error"]["code"] == "NOT_FOUND"
    assert get(client, attachment["url"], outsider).status_code == 404
    assert get(session_client(app, outsider), attachment["url"]).status_code == 404
    response = get(client, attachment["url"], Authorization="Bearer not-a-token")
    assert response.status_code == 401
    rooms.kick(alice, room["id"], "bob")
    assert get(client, attachment["url"], bob).status_code == 404
    assert get(client, attachment["thumbnail_url"], bob).status_code == 404
    rooms.join_room(carol, room["id"])
    assert get(client, attachment["url"], carol).status_code == 200  # history is the room's
    rooms.leave(carol, room["id"])
    assert get(client, attachment["url"], carol).status_code == 404
    assert get(client, f"/files/{attachment['id'] + 1000}/a.png", alice).status_code == 404
    pdf = uploaded(client, alice, room["id"], PDF, "a.pdf")["file"]
    assert get(client, pdf["url"] + "?thumb=1", alice).status_code == 404  # no thumbnail


def test_a_signed_out_browser_logs_in_and_lands_on_the_file(app, client, alice, bob, room, make_user):
    """Issue 22: a file link opened signed out is the login page, then the file itself."""
    attachment = uploaded(client, alice, room["id"], PDF, "회의록.pdf")["file"]
    browser = app.test_client()
    for url in (attachment["url"], attachment["url"] + "?thumb=1", "/files/999999/nothing.txt"):
        response = browser.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert response.status_code == 302, url  # the same for a file that does not exist
        login_url = urlsplit(response.headers["Location"])
        assert login_url.path == "/auth/login"
        assert parse_qs(login_url.query)["next"] == [unquote(url)]
    response = browser.get(attachment["url"])
    login_page = browser.get(response.headers["Location"])
    form = re.search(r'<form\b[^>]*\bid="login-form"[^>]*>', login_page.text).group(0)
    action = re.search(r'action="([^"]*)"', form).group(1)
    logged_in = browser.post(action.replace("&amp;", "&"), data={"username": "bob", "password": PASSWORD})
    assert logged_in.status_code == 302 and unquote(logged_in.headers["Location"]) == unquote(attachment["url"])
    download = browser.get(logged_in.headers["Location"])
    assert download.status_code == 200 and download.data == PDF
    # Logging in changes nothing of who may see it: an outsider still gets 404.
    make_user("dave")
    outsider = login(app.test_client(), accounts.find_user("dave"))
    assert outsider.get(attachment["url"]).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{"Accept": "application/json"}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}],
    ids=["json", "bad-bearer", "not-bearer"],
)
def test_scripts_keep_their_json_errors(app, client, alice, room, headers):
    attachment = uploaded(client, alice, room["id"], PDF, "a.pdf")["file"]
    response = app.test_client().get(attachment["url"], headers=headers)
    assert response.status_code == (404 if "Accept" in headers else 401)
    assert "Location" not in response.headers
    assert response.get_json()["error"]["code"] == ("NOT_FOUND" if "Accept" in headers else "TOKEN_INVALID")


def test_private_room_files_are_invisible_to_outsiders(app, client, alice, bob):
    secret = rooms.create_room(alice, "Secret", "private")
    attachment = uploaded(client, alice, secret["id"], PDF, "plan.pdf")["file"]
    assert get(client, attachment["url"], bob).status_code == 404
    rooms.invite(alice, secret["id"], "bob")
    assert get(client, attachment["url"], bob).status_code == 200


def test_ranges_and_caching(app, client, alice, room):
    data = os.urandom(300 * 1024)
    attachment = uploaded(client, alice, room["id"], data, "blob.bin")["file"]
    full = get(client, attachment["url"], alice)
    assert full.status_code == 200 and full.headers["Accept-Ranges"] == "bytes"
    assert int(full.headers["Content-Length"]) == len(data)
    assert full.headers["Cache-Control"] == "private, no-cache"
    etag = full.headers["ETag"]

    part = get(client, attachment["url"], alice, Range="bytes=200000-200099")
    assert part.status_code == 206 and part.data == data[200000:200100]
    assert part.headers["Content-Range"] == f"bytes 200000-200099/{len(data)}"
    tail = get(client, attachment["url"], alice, Range="bytes=-10")
    assert tail.status_code == 206 and tail.data == data[-10:]
    unsatisfiable = get(client, attachment["url"], alice, Range=f"bytes={len(data)}-")
    assert unsatisfiable.status_code == 416 and unsatisfiable.headers["Content-Range"] == f"bytes */{len(data)}"

    assert get(client, attachment["url"], alice, **{"If-None-Match": etag}).status_code == 304
    assert get(client, attachment["url"], alice, **{"If-None-Match": '"other"'}).status_code == 200
    resumed = get(client, attachment["url"], alice, Range="bytes=100-", **{"If-Range": etag})
    assert resumed.status_code == 206 and resumed.data == data[100:]
    head = client.head(attachment["url"], headers=bearer(alice))
    assert head.status_code == 200 and head.data == b"" and head.headers["Content-Length"] == str(len(data))
    # Conditional requests are authorised like any other: a signed-out browser logs in first.
    assert get(client, attachment["url"], **{"If-None-Match": etag}).status_code == 302
    assert get(client, attachment["url"], Accept="application/json", **{"If-None-Match": etag}).status_code == 404


# --- removal -------------------------------------------------------------------------------


def test_deleting_the_message_removes_its_file(app, client, alice, bob, room, objects):
    keep = uploaded(client, alice, room["id"], PDF, "keep.pdf")
    message = uploaded(client, alice, room["id"], image_bytes("PNG"), "gone.png")
    assert len(objects.all()) == 3  # two originals and a thumbnail
    response = client.delete(f"/api/v1/messages/{message['id']}", headers=bearer(alice))
    assert response.status_code == 200
    assert list(objects.all().values()) == [PDF]
    assert file_rows() == 1
    history = client.get(f"/api/v1/rooms/{room['id']}/messages", headers=bearer(bob)).json["messages"]
    tombstone = next(m for m in history if m["id"] == message["id"])
    assert tombstone["deleted"] is True and tombstone["file"] is None and tombstone["kind"] == "file"
    assert get(client, message["file"]["url"], alice).status_code == 404
    assert get(client, keep["file"]["url"], alice).status_code == 200


def test_files_survive_a_rolled_back_delete(app, client, alice, room, objects):
    message = uploaded(client, alice, room["id"], image_bytes("PNG"), "a.png")
    stored = objects.all()
    with pytest.raises(RuntimeError):
        with transaction():
            files.discard_message_file(db.session.get(Message, message["id"]))
            raise RuntimeError("rolled back")
    assert objects.all() == stored and file_rows() == 1
    assert get(client, message["file"]["url"], alice).status_code == 200


def test_a_message_past_the_window_keeps_its_file(app, client, alice, room, objects):
    message = uploaded(client, alice, room["id"], PDF, "a.pdf")
    with transaction():
        db.session.get(Message, message["id"]).created_at = utcnow() - timedelta(minutes=6)
    response = client.delete(f"/api/v1/messages/{message['id']}", headers=bearer(alice))
    assert error_of(response) == "MESSAGE_DELETE_TIME_EXPIRED"
    assert list(objects.all().values()) == [PDF]


def test_the_last_member_leaving_removes_the_rooms_files(app, client, alice, bob, room, objects):
    other = rooms.create_room(alice, "Other")
    elsewhere = uploaded(client, alice, other["id"], PDF, "other.pdf")
    uploaded(client, alice, room["id"], image_bytes("PNG"), "a.png")
    uploaded(client, bob, room["id"], b"bob's notes", "b.txt")
    assert len(objects.all()) == 4
    rooms.leave(alice, room["id"])
    assert len(objects.all()) == 4  # bob is still there
    rooms.leave(bob, room["id"])
    assert list(objects.all().values()) == [PDF]
    assert file_rows() == 1
    assert get(client, elsewhere["file"]["url"], alice).status_code == 200


# --- files gc ------------------------------------------------------------------------------


def gc(app, *args):
    result = app.test_cli_runner().invoke(webchat_cli, ["files", "gc", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_files_gc_removes_orphans_and_reports_missing_objects(app, client, alice, room, objects):
    kept = uploaded(client, alice, room["id"], image_bytes("PNG"), "kept.png")["file"]
    lost = uploaded(client, alice, room["id"], PDF, "lost.pdf")["file"]
    lost_key = db.session.get(Attachment, lost["id"]).storage_key
    objects.remove(lost_key)
    orphan = uuid.uuid4().hex
    objects.put(orphan, b"left behind by a crash")
    before = objects.all()

    output = gc(app, "--dry-run", "--grace", "0")
    assert orphan in output and lost_key in output and f"file {lost['id']}" in output
    assert objects.all() == before

    output = gc(app, "--grace", "0")
    assert orphan in output and lost_key in output
    after = objects.all()
    assert orphan not in after and len(after) == 2  # the kept image and its thumbnail
    assert get(client, kept["url"], alice).status_code == 200
    assert get(client, kept["thumbnail_url"], alice).status_code == 200
    assert file_rows() == 2  # rows are reported, never removed


def test_files_gc_leaves_young_objects_alone(app, objects):
    young = uuid.uuid4().hex
    objects.put(young, b"an upload about to commit")
    assert young not in gc(app) and young in objects.all()  # the default grace: an hour
    time.sleep(2.5)
    assert young in gc(app, "--grace", "1") and young not in objects.all()


def test_files_gc_ignores_objects_that_are_not_ours(app, objects):
    objects.put("README", b"somebody else's")
    gc(app, "--grace", "0")
    assert "README" in objects.all()


# --- queries -------------------------------------------------------------------------------


def test_a_page_of_history_costs_the_same_whatever_its_files(app, client, alice, room):
    statements = []

    def count(*_args):
        statements.append(1)

    def cost():
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = client.get(f"/api/v1/rooms/{room['id']}/messages", headers=bearer(alice))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(statements), sum(1 for m in response.json["messages"] if m["file"])

    uploaded(client, alice, room["id"], PDF, "1.pdf")
    few = cost()
    for n in range(5):
        uploaded(client, alice, room["id"], image_bytes("PNG", (50, 50)), f"{n}.png")
    many = cost()
    assert (few[1], many[1]) == (1, 6)
    assert few[0] == many[0]


def test_a_moderators_delete_removes_the_file_too(app, client, alice, bob, room, objects):
    """The owner deletes bob's file message: its stored objects go as with the sender's delete."""
    message = uploaded(client, bob, room["id"], image_bytes("PNG"), "bobs.png")
    assert len(objects.all()) == 2  # the original and its thumbnail
    assert client.delete(f"/api/v1/messages/{message['id']}", headers=bearer(alice)).status_code == 200
    assert objects.all() == {} and file_rows() == 0
    history = client.get(f"/api/v1/rooms/{room['id']}/messages", headers=bearer(bob)).json["messages"]
    tombstone = next(m for m in history if m["id"] == message["id"])
    assert tombstone["deleted_by"] == "moderator" and tombstone["file"] is None


# --- metadata stripped from originals (issue 24) --------------------------------------------

GPS_TEXT = b"37 deg 33' 59.0\" N"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="37,33.98N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_exif(orientation):
    """EXIF as a phone writes it: camera, time, orientation and a GPS position (Seoul)."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "samsung", "Galaxy S24", orientation  # Make, Model, Orientation
    exif[0x0131] = "G921FXXU1APB4"  # Software
    exif.get_ifd(0x8769)[0x9003] = "2026:12:06 09:41:00"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (37.0, 33.0, 59.0), "E", (126.0, 58.0, 40.0)
    return exif


def sideways_scene(size=(800, 400)):
    """Blue with a red top-left corner, as the sensor saw it."""
    scene = Image.new("RGB", size, (0, 0, 255))
    scene.paste((255, 0, 0), (0, 0, 100, 100))
    return scene


def phone_jpeg(orientation=6):
    """A phone-style photo: EXIF with GPS, Make/Model and Orientation, XMP, an sRGB profile,
    and maker data after the image's end (as Samsung phones append)."""
    buf = io.BytesIO()
    sideways_scene().save(buf, "JPEG", quality=87, exif=camera_exif(orientation), xmp=XMP, icc_profile=SRGB)
    return buf.getvalue() + b"SEFH\x00GPS " + GPS_TEXT


def assert_no_metadata(data):
    image = Image.open(io.BytesIO(data))
    assert not image.getexif(), dict(image.getexif())
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment", "Raw profile type exif"} & set(image.info)
    for trace in (b"Exif\0", b"samsung", b"Galaxy", b"xmpmeta", GPS_TEXT, b"2026:12:06"):
        assert trace not in data, trace
    return image


def test_a_phone_photo_is_served_without_its_location_and_upright(app, client, alice, bob, room, objects):
    original = phone_jpeg(orientation=6)  # "turn 90 degrees clockwise to view"
    assert b"GPS" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    attachment = uploaded(client, alice, room["id"], original, "IMG_2041.jpg")["file"]
    assert (attachment["width"], attachment["height"]) == (400, 800)

    served = get(client, attachment["url"], bob)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert objects.all()[db.session.get(Attachment, attachment["id"]).storage_key] == served.data
    assert attachment["size"] == len(served.data) == int(served.headers["Content-Length"])
    photo = assert_no_metadata(served.data)
    assert photo.format == "JPEG" and photo.size == (400, 800)  # turned: dimensions swapped
    photo = photo.convert("RGB")
    top_right, top_left = photo.getpixel((350, 50)), photo.getpixel((50, 50))
    assert top_right[0] > 200 and top_right[2] < 60, top_right  # the red corner, where the viewer saw it
    assert top_left[2] > 200 and top_left[0] < 60, top_left
    assert Image.open(io.BytesIO(served.data)).info["icc_profile"] == SRGB  # colours kept
    # The quality is the original's: the same quantisation tables, not a default re-encode.
    assert Image.open(io.BytesIO(served.data)).quantization == Image.open(io.BytesIO(original)).quantization

    thumb = Image.open(io.BytesIO(get(client, attachment["thumbnail_url"], bob).data)).convert("RGB")
    assert thumb.size == (160, 320) and thumb.getpixel((150, 10))[0] > 200


def test_an_upright_jpeg_keeps_its_pixels_byte_for_byte():
    """No orientation to apply: only the metadata segments go; the compressed image stays."""
    original = phone_jpeg(orientation=1)
    examined = images.examine(original, "image/jpeg", 25_000_000)
    stripped = examined.stripped
    assert_no_metadata(stripped)
    start = original.index(b"\xff\xda")  # the compressed image, from the first scan to its end
    assert original[start : original.index(b"\xff\xd9") + 2] in stripped and stripped.endswith(b"\xff\xd9")
    assert len(stripped) < len(original)
    assert Image.open(io.BytesIO(stripped)).tobytes() == Image.open(io.BytesIO(original)).tobytes()
    assert images.examine(stripped, "image/jpeg", 25_000_000).stripped is None  # nothing left to strip


def png_chunks(data):
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        chunks.append(kind.decode())
        pos += 12 + length
    return chunks


def text_png():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", GPS_TEXT.decode())  # tEXt
    info.add_text("Location", "서울 마포구", zip=True)  # zTXt
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())  # iTXt
    buf = io.BytesIO()
    sideways_scene((200, 100)).convert("RGBA").save(buf, "PNG", pnginfo=info, exif=camera_exif(1), icc_profile=SRGB)
    return buf.getvalue()


def gif_with_comment_and_xmp():
    """An animated GIF (2 frames, looping) with a comment and an XMP application extension."""
    frames = [Image.new("RGB", (60, 40), color) for color in ("red", "green")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], loop=0, duration=200, comment=GPS_TEXT)
    data = buf.getvalue()
    xmp = b"\x21\xff\x0bXMP DataXMP" + b"".join(
        bytes([len(c)]) + c for c in (XMP[i : i + 255] for i in range(0, len(XMP), 255))
    )
    at = data.index(b"\x21\xff\x0bNETSCAPE2.0")
    return data[:at] + xmp + b"\x00" + data[at:]


def animated_webp():
    frames = [sideways_scene((80, 40)), Image.new("RGB", (80, 40), "green")]
    buf = io.BytesIO()
    frames[0].save(
        buf, "WEBP", save_all=True, append_images=frames[1:], duration=150, exif=camera_exif(1), xmp=XMP, lossless=True
    )
    return buf.getvalue()


@pytest.mark.parametrize(
    "name, make, content_type, frames",
    [
        ("scan.png", text_png, "image/png", 1),
        ("loop.gif", gif_with_comment_and_xmp, "image/gif", 2),
        ("clip.webp", animated_webp, "image/webp", 2),
    ],
    ids=["png-text-exif", "gif-comment-xmp", "animated-webp"],
)
def test_png_gif_and_webp_lose_their_metadata_and_keep_their_pixels(
    app, client, alice, room, name, make, content_type, frames
):
    original = make()
    assert any(trace in original for trace in (GPS_TEXT, b"xmpmeta"))
    attachment = uploaded(client, alice, room["id"], original, name)["file"]
    assert attachment["content_type"] == content_type
    served = get(client, attachment["url"], alice).data
    image = assert_no_metadata(served)
    assert b"\xea\xb5\xac" not in served  # the Korean place name of the zTXt chunk, had it been kept uncompressed
    before = Image.open(io.BytesIO(original))
    assert getattr(image, "n_frames", 1) == frames and image.info.get("loop") == before.info.get("loop")
    for kept, had in zip(ImageSequence.Iterator(image), ImageSequence.Iterator(before), strict=True):
        assert ImageChops.difference(kept.convert("RGBA"), had.convert("RGBA")).getbbox() is None  # every pixel
    if content_type == "image/png":
        assert png_chunks(served) == ["IHDR", "iCCP", "IDAT", "IEND"]
        assert "tEXt" in png_chunks(original) and "iTXt" in png_chunks(original) and "eXIf" in png_chunks(original)


def test_a_container_that_cannot_be_walked_is_re_encoded_not_kept():
    """A PNG without its IEND chunk decodes, but its chunks cannot be walked to the end: it
    is re-encoded (losslessly) rather than kept with its metadata."""
    original = text_png()
    cut = original[: original.index(b"IEND") - 4]
    assert images.strip_blocks(cut, "PNG") is None
    stripped = images.examine(cut, "image/png", 25_000_000).stripped
    assert_no_metadata(stripped)
    assert png_chunks(stripped) == ["IHDR", "iCCP", "IDAT", "IEND"]
    assert Image.open(io.BytesIO(stripped)).tobytes() == Image.open(io.BytesIO(original)).tobytes()


def test_a_photo_cut_short_is_a_plain_file_without_its_metadata(app, client, alice, room):
    original = phone_jpeg(orientation=1)
    cut = original[: len(original) * 2 // 3]
    attachment = uploaded(client, alice, room["id"], cut, "cut.jpg")["file"]
    assert attachment["content_type"] == "application/octet-stream" and attachment["thumbnail_url"] is None
    served = get(client, attachment["url"], alice).data
    assert served.startswith(b"\xff\xd8") and len(served) == attachment["size"] < len(cut)
    for trace in (b"Exif\0", b"samsung", b"xmpmeta", b"GPS"):
        assert trace not in served, trace
    start = cut.index(b"\xff\xda")
    assert served.endswith(cut[start:])  # what there is of the image, as sent


def test_with_stripping_off_originals_are_stored_as_sent_and_the_command_strips_them(app, client, alice, room, objects):
    app.config["STRIP_IMAGE_METADATA"] = False
    photo = uploaded(client, alice, room["id"], phone_jpeg(), "old.jpg")["file"]
    plain = uploaded(client, alice, room["id"], image_bytes("PNG"), "plain.png")["file"]  # nothing to strip
    pdf = uploaded(client, alice, room["id"], PDF, "a.pdf")["file"]
    first = get(client, photo["url"], alice)
    assert first.data == phone_jpeg() and (photo["width"], photo["height"]) == (400, 800)
    app.config["STRIP_IMAGE_METADATA"] = True
    before = objects.all()
    row = db.session.get(Attachment, photo["id"])
    old_key, thumbnail_key = row.storage_key, row.thumbnail_key

    dry = app.test_cli_runner().invoke(webchat_cli, ["files", "strip-metadata"])
    assert dry.exit_code == 0, dry.output
    assert f"file {photo['id']} (old.jpg): {len(phone_jpeg())} -> " in dry.output and "would strip" in dry.output
    assert f"file {plain['id']}" not in dry.output and f"file {pdf['id']}" not in dry.output
    assert "1 would strip" in dry.output and objects.all() == before  # a dry run changes nothing
    assert get(client, photo["url"], alice, **{"If-None-Match": first.headers["ETag"]}).status_code == 304

    done = app.test_cli_runner().invoke(webchat_cli, ["files", "strip-metadata", "--apply"])
    assert done.exit_code == 0, done.output
    assert f"file {photo['id']} (old.jpg)" in done.output and "1 stripped" in done.output
    db.session.expire_all()
    row = db.session.get(Attachment, photo["id"])
    after = objects.all()
    assert row.storage_key != old_key and old_key not in after and row.thumbnail_key == thumbnail_key
    assert row.size == len(after[row.storage_key]) < len(phone_jpeg())
    served = get(client, photo["url"], alice, **{"If-None-Match": first.headers["ETag"]})
    assert served.status_code == 200 and served.headers["ETag"] != first.headers["ETag"]  # a new validator
    assert int(served.headers["Content-Length"]) == row.size
    assert assert_no_metadata(served.data).size == (400, 800)
    again = app.test_cli_runner().invoke(webchat_cli, ["files", "strip-metadata", "--apply"])
    assert "none has metadata" in again.output and objects.all() == after


# --- downloads revalidate; file errors in the caller's shape (issue 24) ----------------------


def test_every_view_revalidates_and_only_members_get_304(app, client, alice, bob, carol, room):
    attachment = uploaded(client, alice, room["id"], image_bytes("PNG"), "a.png")["file"]
    rooms.join_room(carol, room["id"])
    etag = get(client, attachment["url"], carol).headers["ETag"]
    rooms.leave(carol, room["id"])
    assert get(client, attachment["url"], carol, **{"If-None-Match": etag}).status_code == 404  # left: refused
    for url in (attachment["url"], attachment["thumbnail_url"]):
        first = get(client, url, bob)
        assert first.status_code == 200 and first.headers["Cache-Control"] == "private, no-cache"
        etag = first.headers["ETag"]
        assert get(client, url, bob, **{"If-None-Match": etag}).status_code == 304
        browser = session_client(app, bob)
        assert browser.get(url, headers={"If-None-Match": etag}).status_code == 304
    rooms.kick(alice, room["id"], "bob")
    for url in (attachment["url"], attachment["thumbnail_url"]):
        etag = get(client, url, alice).headers["ETag"]
        refused = get(client, url, bob, **{"If-None-Match": etag})
        assert refused.status_code == 404 and error_of(refused) == "NOT_FOUND" and "ETag" not in refused.headers
        assert browser.get(url, headers={"If-None-Match": etag}).status_code == 404


def test_file_errors_are_json_for_scripts_and_pages_for_browsers(app, client, alice, room):
    attachment = uploaded(client, alice, room["id"], PDF, "a.pdf")["file"]
    browser = session_client(app, alice)
    token = bearer(alice)
    cases = [  # (url, extra headers, status, code)
        (attachment["url"], {"Range": f"bytes={len(PDF)}-"}, 416, "VALIDATION_ERROR"),
        (attachment["url"] + "?thumb=1", {}, 404, "NOT_FOUND"),
        (f"/files/{attachment['id'] + 1000}/a.pdf", {}, 404, "NOT_FOUND"),
        ("/files/not-a-number/a.pdf", {}, 404, "NOT_FOUND"),
    ]
    for url, headers, status, code in cases:
        for script in (
            client.get(url, headers={**headers, **token}),
            browser.get(url, headers={**headers, "Accept": "application/json"}),
        ):
            assert script.status_code == status and script.is_json, (url, script.data[:200])
            assert error_of(script) == code and script.json["error"]["message"]
        page = browser.get(url, headers={**headers, "Accept": "text/html,*/*;q=0.8"})
        assert page.status_code == status and page.mimetype == "text/html", url
        assert code in page.text and "<html" in page.text
    refused = client.get(attachment["url"], headers={"Range": f"bytes={len(PDF)}-", **token})
    assert refused.headers["Content-Range"] == f"bytes */{len(PDF)}" and "range" in refused.json["error"]["fields"]
