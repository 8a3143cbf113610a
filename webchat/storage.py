"""Where attachment bytes live: one small interface, two backends.

`LocalStorage` keeps objects under UPLOAD_DIR (the default); `S3Storage` keeps them in
an S3 bucket (AWS or any S3-compatible server). Objects are named by random keys that
`new_key()` makes; names chosen by users never reach the storage. The services in
`services/files.py` are the only callers.
"""

import io
import logging
import os
import re
import tempfile
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app

BACKENDS = ("local", "s3")
KEY_RE = re.compile(r"^[0-9a-f]{32}$")
_EXTENSION = "webchat.storage"

log = logging.getLogger(__name__)


class MissingObject(LookupError):
    """The storage has no object under that key."""


class StorageError(Exception):
    """The storage could not be reached, or failed the operation."""


def new_key():
    """A fresh random object key (uuid4 hex)."""
    return uuid.uuid4().hex


def _check_key(key):
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


def check_config(config):
    """Refuse to start with a storage setting that could only fail later, at the first upload."""
    backend = config.get("STORAGE_BACKEND", "local")
    if backend not in BACKENDS:
        raise RuntimeError(f"STORAGE_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "s3" and not config.get("S3_BUCKET"):
        raise RuntimeError("STORAGE_BACKEND=s3 needs S3_BUCKET")


def get_storage(app=None):
    """The app's storage backend, built from its config on first use."""
    app = app or current_app._get_current_object()
    storage = app.extensions.get(_EXTENSION)
    if storage is None:
        config = app.config
        check_config(config)
        if config.get("STORAGE_BACKEND", "local") == "s3":
            storage = S3Storage(
                config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"), region=config.get("S3_REGION")
            )
        else:
            storage = LocalStorage(config["UPLOAD_DIR"])
        storage = app.extensions.setdefault(_EXTENSION, storage)
    return storage


@contextmanager
def _failures(*errors):
    """Report a backend's own failures as StorageError."""
    try:
        yield
    except errors as error:
        raise StorageError(f"{type(error).__name__}: {error}") from error


class Storage:
    """What every backend offers. `open` returns (a seekable binary stream, its size)."""

    def save(self, key, stream, content_type):
        raise NotImplementedError

    def open(self, key):
        raise NotImplementedError

    def delete(self, key):
        raise NotImplementedError

    def list(self):
        """Yield (key, last modified as naive UTC) for every object with a key of ours."""
        raise NotImplementedError

    def delete_quietly(self, keys):
        """Delete objects, logging failures instead of raising: used after a commit (a
        failure must not turn a committed change into an error) and when cleaning up
        after a failed upload. `flask webchat files gc` removes what is left behind."""
        for key in keys:
            try:
                self.delete(key)
            except Exception:
                log.warning("could not delete stored object %s", key, exc_info=True)


class LocalStorage(Storage):
    """Objects as files under `root`, spread over 256 subfolders by their key's first two
    characters. Writes go to a temporary file that is renamed into place, so an object is
    never seen half-written."""

    def __init__(self, root):
        self.root = Path(root)

    def _path(self, key):
        key = _check_key(key)
        return self.root / key[:2] / key

    def save(self, key, stream, content_type):
        path = self._path(key)
        with _failures(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, draft = tempfile.mkstemp(prefix=".upload-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    while chunk := stream.read(1024 * 1024):
                        out.write(chunk)
                os.replace(draft, path)
            except BaseException:
                Path(draft).unlink(missing_ok=True)
                raise

    def open(self, key):
        path = self._path(key)
        with _failures(OSError):
            try:
                stream = open(path, "rb")
            except FileNotFoundError:
                raise MissingObject(key) from None
            return stream, os.fstat(stream.fileno()).st_size

    def delete(self, key):
        path = self._path(key)
        with _failures(OSError):
            path.unlink(missing_ok=True)

    def list(self):
        with _failures(OSError):
            if not self.root.is_dir():
                return
            for folder in sorted(self.root.iterdir()):
                if not folder.is_dir():
                    continue
                for path in sorted(folder.iterdir()):
                    if KEY_RE.match(path.name) and path.name[:2] == folder.name:
                        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                        yield path.name, modified.replace(tzinfo=None)


class S3Storage(Storage):
    """Objects in one S3 bucket, named by their keys. The bucket should be webchat's own:
    `files gc` treats any object there with a key of ours and no row as garbage."""

    def __init__(self, bucket, *, endpoint_url=None, region=None):
        import boto3
        from botocore.config import Config as BotoConfig
        from botocore.exceptions import BotoCoreError, ClientError

        self.bucket = bucket
        # Checksums only where S3 requires them: many S3-compatible servers reject the
        # newer default (streaming CRC trailers) that AWS accepts.
        config = BotoConfig(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=5,
            read_timeout=30,
        )
        # A session of its own: boto3's default session is not safe to share across threads.
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
        self.errors = (BotoCoreError, ClientError)

    def save(self, key, stream, content_type):
        with _failures(*self.errors):
            self.client.put_object(Bucket=self.bucket, Key=_check_key(key), Body=stream, ContentType=content_type)

    def open(self, key):
        from botocore.exceptions import ClientError

        with _failures(*self.errors):
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=_check_key(key))
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    raise MissingObject(key) from None
                raise
        size = head["ContentLength"]
        return io.BufferedReader(_S3Reader(self.client, self.bucket, key, size), 64 * 1024), size

    def delete(self, key):
        with _failures(*self.errors):
            self.client.delete_object(Bucket=self.bucket, Key=_check_key(key))

    def list(self):
        with _failures(*self.errors):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                for item in page.get("Contents", []):
                    if KEY_RE.match(item["Key"]):
                        yield item["Key"], item["LastModified"].astimezone(UTC).replace(tzinfo=None)


class _S3Reader(io.RawIOBase):
    """A seekable, read-only view of one S3 object. Reading from a position asks S3 for the
    bytes from there on (a ranged GET), so an HTTP Range request is served by fetching
    only the range rather than everything before it."""

    def __init__(self, client, bucket, key, size):
        self.client, self.bucket, self.key, self.size = client, bucket, key, size
        self.position = 0
        self.body = None

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        position = max(0, base + offset)
        if position != self.position:
            self._close_body()
            self.position = position
        return self.position

    def readinto(self, buffer):
        if self.position >= self.size or not len(buffer):
            return 0
        if self.body is None:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.position}-")
            self.body = response["Body"]
        data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)

    def _close_body(self):
        if self.body is not None:
            self.body.close()
            self.body = None

    def close(self):
        self._close_body()
        super().close()
