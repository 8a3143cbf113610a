"""Attachments: upload (size, type from the bytes, thumbnails), who may download what and
how it is served, removal with messages and rooms, and the storage garbage collector.

The bytes live in `webchat.storage`; the rows in `Attachment`. An object is stored before
its row commits (a failed transaction removes it at once) and removed only after the
commit that drops its row, so a rollback never loses a file. What a crash leaves behind,
`collect_garbage` (`flask webchat files gc`) finds.
"""

import codecs
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image
from sqlalchemy.exc import IntegrityError

from .. import offload, ratelimit, realtime
from ..database import transaction
from ..errors import ChatError, validation_error
from ..extensions import db
from ..models import Attachment, utcnow
from ..storage import MissingObject, StorageError, get_storage, new_key
from . import images
from .access import check_member, parse_id, require_member_or_hide
from .posting import clean_client_id, clean_reply_to, existing_message, post_message

THUMBNAIL_BOX = images.THUMBNAIL_BOX
THUMBNAIL_TYPE = "image/webp"
NAME_MAX = 200
OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain; charset=utf-8"
# Served inline; every other type is served as a download, whatever it claims to be.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
# Magic numbers: the type comes from the first bytes, never from the client.
SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
]
# Text is UTF-8 without control characters other than tab, newline, form feed and CR.
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Bidirectional overrides can disguise a name ("txt.exe" shown as "exe.txt").
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
CHUNK = 64 * 1024


def clean_name(filename):
    """The name kept for display and download: the last path part only, NFC, without
    control or bidi-override characters, whitespace collapsed, at most NAME_MAX
    characters (the extension kept). Any script survives."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    # Line breaks and tabs become spaces; other control characters go.
    name = "".join(" " if c.isspace() else c for c in name.translate(_BIDI_CONTROLS))
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cs", "Co", "Cn"))
    name = " ".join(name.split()).strip(" .")
    if not name:
        return "file"
    if len(name) > NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 16:
            name = stem[: NAME_MAX - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:NAME_MAX].rstrip(" .")
    return name


def sniff(head):
    """The type the first bytes announce, or None."""
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass
class Inspected:
    size: int
    content_type: str
    thumbnail: bytes | None = None
    width: int | None = None
    height: int | None = None
    stripped: bytes | None = None  # the image without its metadata, stored instead of the upload


def inspect(stream, limit):
    """Measure and identify an upload: FILE_EMPTY, FILE_TOO_LARGE, VALIDATION_ERROR for an
    image too large to decode; for images a thumbnail and, with STRIP_IMAGE_METADATA, the
    bytes to store instead (`services.images`). A corrupt image is a plain file."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    if size > limit:
        raise ChatError("FILE_TOO_LARGE", _l("Files are limited to %(size)s.", size=_megabytes(limit)))
    if size == 0:
        raise ChatError("FILE_EMPTY")
    stream.seek(0)
    head = stream.read(16)
    content_type = sniff(head)
    if content_type in images.FORMATS:
        stream.seek(0)
        return _inspect_image(stream.read(), content_type)
    if content_type is None:
        content_type = TEXT_PLAIN if _is_text(stream) else OCTET_STREAM
    return Inspected(size, content_type)


def _megabytes(limit):
    return f"{limit / (1024 * 1024):g} MiB"


def _is_text(stream):
    stream.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(CHUNK):
            if _BINARY_CHARS.search(decoder.decode(chunk)):
                return False
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _inspect_image(data, content_type):
    config = current_app.config
    try:
        examined = examine_image(data, content_type, strip=config["STRIP_IMAGE_METADATA"])
    except images.TooManyPixels:
        raise validation_error(
            file=_l("Images are limited to %(count)s megapixels.", count=f"{config['MAX_IMAGE_PIXELS'] / 1e6:g}")
        ) from None
    except images.NotAnImage:
        # Kept as a plain file (a download); a photo cut short still loses what blocks of
        # metadata can be found, since it is served as sent.
        stripped = images.strip_blocks(data, images.FORMATS[content_type]) if config["STRIP_IMAGE_METADATA"] else None
        stripped = stripped if stripped != data else None
        return Inspected(len(stripped or data), OCTET_STREAM, stripped=stripped)
    stored = examined.stripped if examined.stripped is not None else data
    return Inspected(len(stored), content_type, examined.thumbnail, examined.width, examined.height, examined.stripped)


def check_image_config(config):
    """Refuse image settings that could only fail at the first upload, and set Pillow's own
    decompression-bomb check (process-wide) to the same bound."""
    for name in ("MAX_IMAGE_PIXELS", "IMAGE_DECODE_CONCURRENCY"):
        if not isinstance(config[name], int) or config[name] < 1:
            raise RuntimeError(f"{name} must be a whole number of at least 1, not {config[name]!r}")
    Image.MAX_IMAGE_PIXELS = config["MAX_IMAGE_PIXELS"]


def examine_image(data, content_type, strip=True):
    """`images.examine` on an OS thread (decoding takes up to a second), waiting its turn:
    at most IMAGE_DECODE_CONCURRENCY decodes at once in this process, since each can hold
    8 bytes a pixel; a waiting upload blocks only its own green thread."""
    with offload.turn("IMAGE_DECODE_CONCURRENCY"):
        return offload.run(images.examine, data, content_type, current_app.config["MAX_IMAGE_PIXELS"], strip)


def _existing(user, client_id, room_id):
    """The file message already stored under this client_id (an idempotent retry)."""
    message = existing_message(user.id, client_id, room_id)
    if message is not None and message.kind != "file":
        raise validation_error(client_id=_l("This client_id was already used for a text message."))
    return message


def upload(user, room_id, stream, filename, client_id=None, reply_to=None):
    """Store an uploaded file and post it to the room as a `file` message (a reply, with
    `reply_to`), announced after commit like any message. Idempotent on (sender,
    client_id) as send_message is: a retry returns the stored message and stores nothing.
    Returns (message, created).
    """
    room_id = parse_id(room_id)
    client_id = clean_client_id(client_id)
    reply_to = clean_reply_to(reply_to)
    if stream is None:
        raise validation_error(file=_l("Attach a file."))
    check_member(user, room_id)
    if (existing := _existing(user, client_id, room_id)) is not None:
        return existing, False
    ratelimit.check("RATELIMIT_UPLOADS_PER_USER", user.id)  # retries above never count
    info = inspect(stream, current_app.config["MAX_UPLOAD_BYTES"])
    storage = get_storage()
    keys = [new_key()]
    stream = io.BytesIO(info.stripped) if info.stripped is not None else stream
    stream.seek(0)
    try:
        storage.save(keys[0], stream, info.content_type)
        if info.thumbnail is not None:
            keys.append(new_key())
            storage.save(keys[1], io.BytesIO(info.thumbnail), THUMBNAIL_TYPE)
        message, created = _post(user, room_id, client_id, clean_name(filename), info, keys, reply_to)
    except IntegrityError:
        # A concurrent upload with the same client_id committed first (in another room, or
        # past the check above); the unique key on (sender, client_id) caught it.
        storage.delete_quietly(keys)
        if (existing := _existing(user, client_id, room_id)) is None:
            raise
        return existing, False
    except StorageError as error:
        current_app.logger.error("could not store an upload: %s", error)
        storage.delete_quietly(keys)
        raise ChatError("SERVICE_UNAVAILABLE") from error
    except BaseException:
        storage.delete_quietly(keys)
        raise
    if not created:
        storage.delete_quietly(keys)
    return message, created


def _post(user, room_id, client_id, name, info, keys, reply_to):
    attachment = {
        "room_id": room_id,
        "uploader_id": user.id,
        "storage_key": keys[0],
        "name": name,
        "size": info.size,
        "content_type": info.content_type,
        "thumbnail_key": keys[1] if len(keys) > 1 else None,
        "width": info.width,
        "height": info.height,
    }
    return post_message(
        user,
        room_id,
        client_id,
        lambda: _existing(user, client_id, room_id),
        kind="file",
        body="",
        file=attachment,
        reply_to=reply_to,
    )


@dataclass
class Download:
    """What the download route sends: a stream of `size` bytes and how to present it."""

    stream: object
    size: int
    content_type: str
    inline: bool
    name: str
    etag: str
    last_modified: datetime


def download(user, file_id, thumbnail=False):
    """An attachment (or its thumbnail) for an active member of its room. Anyone else,
    signed in or not, is told NOT_FOUND: whether a file exists is not theirs to know."""
    file_id = parse_id(file_id, "file_id")
    attachment = db.session.get(Attachment, file_id) if user is not None else None
    if attachment is None:
        raise ChatError("NOT_FOUND")
    require_member_or_hide(user, attachment.room_id, "NOT_FOUND")
    key = attachment.thumbnail_key if thumbnail else attachment.storage_key
    if key is None:
        raise ChatError("NOT_FOUND")
    try:
        stream, size = get_storage().open(key)
    except MissingObject:
        current_app.logger.warning("attachment %s: stored object %s is missing", attachment.id, key)
        raise ChatError("NOT_FOUND") from None
    except StorageError as error:
        current_app.logger.error("could not open stored object %s: %s", key, error)
        raise ChatError("SERVICE_UNAVAILABLE") from error
    content_type = THUMBNAIL_TYPE if thumbnail else attachment.content_type
    name = attachment.name
    if thumbnail:
        name = name.rpartition(".")[0] or name
        name += ".webp"
    return Download(
        stream=stream,
        size=size,
        content_type=content_type,
        inline=content_type in INLINE_TYPES,
        name=name,
        etag=key,
        last_modified=attachment.created_at,
    )


def discard_message_file(message):
    """Drop a deleted message's attachment: the row now, the stored objects after commit.
    Called by `messages.delete_message` inside its transaction."""
    attachment = message.file
    if attachment is None:
        return
    message.file = None
    # A plain DELETE: a concurrent delete of the same message finding no row is fine.
    db.session.execute(sa.delete(Attachment).where(Attachment.id == attachment.id))
    _remove_after_commit([attachment.storage_key, attachment.thumbnail_key])


def discard_room_files(room_id):
    """Before a room is deleted (its rows go by ON DELETE CASCADE): remove its stored
    objects after commit. Called by `rooms.leave` under the room's lock."""
    rows = db.session.execute(
        sa.select(Attachment.storage_key, Attachment.thumbnail_key).where(Attachment.room_id == room_id)
    ).all()
    _remove_after_commit([key for row in rows for key in row])


def _remove_after_commit(keys):
    keys = [key for key in keys if key]
    if keys:
        realtime.after_commit(partial(get_storage().delete_quietly, keys))


@dataclass
class StrippedFile:
    """One stored image that had metadata: its sizes before and after, and what was done."""

    file_id: int
    name: str
    before: int
    after: int | None
    outcome: str  # "would strip", "stripped", "gone" (deleted meanwhile), "too large"


def strip_stored_metadata(apply=False, batch=100):
    """Yield a StrippedFile for every stored image that still has metadata (uploaded before
    STRIP_IMAGE_METADATA, or with it off), and with `apply` replace it: the clean bytes are
    stored under a new key, the row takes that key (the download's ETag) and the new size in
    one transaction (only if the row still has the old key), and the old object is removed
    after the commit, so a failure at any point leaves a file that downloads."""
    storage = get_storage()
    max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
    after_id = 0
    while True:
        rows = db.session.execute(
            sa.select(Attachment.id, Attachment.name, Attachment.storage_key, Attachment.content_type)
            .where(Attachment.id > after_id, Attachment.content_type.in_(list(images.FORMATS)))
            .order_by(Attachment.id)
            .limit(batch)
        ).all()
        db.session.rollback()  # no read transaction held while objects are read and written
        if not rows:
            return
        for file_id, name, key, content_type in rows:
            after_id = file_id
            if (found := _strip_stored(storage, file_id, name, key, content_type, max_pixels, apply)) is not None:
                yield found


def _strip_stored(storage, file_id, name, key, content_type, max_pixels, apply):
    try:
        stream, size = storage.open(key)
    except MissingObject:
        return None  # `files gc` reports those
    with stream:
        data = stream.read()
    try:
        cleaned = images.strip_metadata(data, content_type, max_pixels)
    except images.TooManyPixels:
        return StrippedFile(file_id, name, size, None, "too large")
    except Exception:  # noqa: BLE001 - stored before the checks of today: not an image after all
        current_app.logger.warning("file %s: could not read it as %s", file_id, content_type, exc_info=True)
        return None
    if cleaned is None:
        return None
    if not apply:
        return StrippedFile(file_id, name, size, len(cleaned), "would strip")
    new = new_key()
    try:
        storage.save(new, io.BytesIO(cleaned), content_type)
        with transaction():
            changed = db.session.execute(
                sa.update(Attachment)
                .where(Attachment.id == file_id, Attachment.storage_key == key)
                .values(storage_key=new, size=len(cleaned))
            ).rowcount
    except BaseException:
        storage.delete_quietly([new])
        raise
    storage.delete_quietly([key] if changed else [new])
    return StrippedFile(file_id, name, size, len(cleaned), "stripped" if changed else "gone")


@dataclass
class GarbageReport:
    orphans: list = field(default_factory=list)  # keys of stored objects no row refers to
    missing: list = field(default_factory=list)  # (file id, key) of rows whose object is gone
    failed: list = field(default_factory=list)  # orphans that could not be removed


def collect_garbage(grace_seconds=3600, dry_run=False):
    """Find (and unless `dry_run`, remove) stored objects no attachment refers to, and
    report attachments whose object is missing. Objects younger than `grace_seconds` are
    left alone: an upload stores its object a moment before its row commits."""
    storage = get_storage()
    started = utcnow()
    cutoff = started - timedelta(seconds=grace_seconds)
    # Objects are listed before rows are read, so an upload committing in between is
    # seen as referenced, never as an orphan.
    stored = dict(storage.list())
    rows = db.session.execute(
        sa.select(Attachment.id, Attachment.storage_key, Attachment.thumbnail_key, Attachment.created_at).order_by(
            Attachment.id
        )
    ).all()
    db.session.rollback()  # end the read transaction; nothing below touches the database
    report = GarbageReport()
    referenced = set()
    for file_id, *keys, created_at in rows:
        for key in filter(None, keys):
            referenced.add(key)
            if key not in stored and created_at < started:
                report.missing.append((file_id, key))
    report.orphans = sorted(key for key, modified in stored.items() if key not in referenced and modified <= cutoff)
    if not dry_run:
        for key in report.orphans:
            try:
                storage.delete(key)
            except StorageError:  # report it and go on with the rest
                current_app.logger.warning("could not delete stored object %s", key, exc_info=True)
                report.failed.append(key)
    return report
