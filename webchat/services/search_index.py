"""Search's index: the normalised text of each message and its two-character grams,
written in the same transaction as the message (posting, edits, deletes), and rebuilt by
`flask webchat search reindex`. `search` reads it.

A message's `search_text` is its body (a file message: its file's name) in NFKC with case
folding, whitespace runs made one space. Its grams are the distinct overlapping pairs of
characters inside each space-separated word: any term of two or more characters without
a space lies inside one word, so every message containing it holds all of its grams.
Pairs across a space are not stored (a phrase is found by its words' grams, then
confirmed), nor single characters (a one-character query scans; see docs/architecture.md).
"""

import re
import unicodedata

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import Message, SearchGram

_SPACES = re.compile(r"\s+")
_grams = SearchGram.__table__
_messages = Message.__table__


def fold(text):
    """NFKC and case folding (NFKC again after folding, which may undo a composition)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def normalise(text):
    """The form search compares: folded, whitespace runs as one space, trimmed."""
    return _SPACES.sub(" ", fold(text)).strip()


def grams_of(normalised):
    """The distinct two-character grams inside the words of a normalised text."""
    found = set()
    for word in normalised.split(" "):
        found.update(word[i : i + 2] for i in range(len(word) - 1))
    return found


def enabled():
    return current_app.config["SEARCH_INDEX_ENABLED"]


def indexed_source(kind, body, file_name=None):
    """What a message of `kind` is found by: a text's body, a file's name, else nothing."""
    if kind == "text":
        return body
    if kind == "file":
        return file_name or ""
    return ""


def search_text(source, body):
    """(the `search_text` column's value, the normalised text) for a message's indexed
    source: the column is None when the normalised text is its body itself."""
    normalised = normalise(source)
    return (None if normalised == body else normalised), normalised


def rows_for(message_id, room_id, normalised):
    """The (gram, message_id, room_id) rows of a message whose normalised text is `normalised`."""
    return [(gram, message_id, room_id) for gram in grams_of(normalised)]


# Rows per INSERT: SQLite takes at most 32,766 parameters a statement (3 a row).
ROWS_PER_INSERT = 5000


def insert_rows(rows, over=False):
    """Insert (gram, message_id, room_id) rows, a whole batch in one multi-row INSERT
    written here with the driver's placeholders: the send path's only per-row work, and
    SQLAlchemy's executemany spent as much CPU again on each row's parameters (measured
    in bench/send_cost.py). `over`: for re-indexing a message whose rows may not be
    exactly what its old text gives (it was changed while maintenance was off, or a
    reindex is running): a row already there is kept."""
    connection = db.session.connection()
    dialect = connection.dialect
    verb = "INSERT INTO"
    if over:
        verb = "INSERT IGNORE INTO" if dialect.name in ("mysql", "mariadb") else "INSERT OR IGNORE INTO"
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        values = ",".join([f"({mark},{mark},{mark})"] * len(chunk))
        connection.exec_driver_sql(
            f"{verb} {_grams.name} (gram, message_id, room_id) VALUES {values}",
            tuple(value for row in chunk for value in row),
        )


def replace(message, old_source, new_source):
    """Re-index `message` after its text changed from `old_source` to `new_source` ("" for
    a delete): its old grams go by primary key, its new ones come in, in the caller's
    transaction. The caller sets nothing on `message`: its `search_text` is set here."""
    if not enabled():
        message.search_text = None
        return
    old = grams_of(normalise(old_source))
    column, normalised = search_text(new_source, new_source if message.kind == "text" else "")
    new = grams_of(normalised)
    if old - new:
        db.session.execute(
            sa.delete(SearchGram).where(SearchGram.message_id == message.id, SearchGram.gram.in_(sorted(old - new)))
        )
    insert_rows([(g, message.id, message.room_id) for g in sorted(new - old)], over=True)
    message.search_text = column


def reindex(batch=2000, after_id=0, progress=None):
    """Rebuild the index from the messages themselves, `batch` messages per transaction,
    in id order after `after_id` (0: from scratch, which empties the index first; a
    stopped run resumes with the last id it reported). Each batch's messages are read
    under their row locks, so an edit or delete racing it is indexed as it committed;
    what the live path indexed meanwhile is kept. Returns (messages indexed, last id)."""
    from ..database import transaction
    from ..models import Attachment

    if after_id == 0:
        with transaction():
            db.session.execute(sa.delete(SearchGram))
    total, last = 0, after_id
    while True:
        with transaction():
            rows = db.session.execute(
                sa.select(Message.id, Message.room_id, Message.kind, Message.body, Message.deleted_at, Attachment.name)
                .outerjoin(Attachment, Attachment.id == Message.file_id)
                .where(Message.id > last)
                .order_by(Message.id)
                .limit(batch)
                .with_for_update(of=Message)
            ).all()
            if not rows:
                break
            grams, texts = [], []
            for row in rows:
                source = "" if row.deleted_at is not None else indexed_source(row.kind, row.body, row.name)
                column, normalised = search_text(source, "" if row.deleted_at is not None else row.body)
                texts.append({"message_id": row.id, "text": column})
                grams.extend(rows_for(row.id, row.room_id, normalised))
            db.session.execute(
                _messages.update()
                .where(_messages.c.id == sa.bindparam("message_id"))
                .values(search_text=sa.bindparam("text")),
                texts,
            )
            insert_rows(grams, over=True)
        total, last = total + len(rows), rows[-1].id
        if progress is not None:
            progress(total, last)
    return total, last
