"""The schema: users and their refresh tokens, rooms, memberships and messages.

Only the service layer reads and writes these; adapters go through services.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

# utf8mb4 so Korean text and emoji round-trip; a binary collation so that equality and
# uniqueness mean the same on MariaDB as on SQLite (case folding is done explicitly).
MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}

# Microsecond timestamps on MariaDB too (its DATETIME defaults to whole seconds).
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def utcnow():
    """Naive UTC, as stored; payloads add the `Z`."""
    return datetime.now(UTC).replace(tzinfo=None)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(32))
    # NFKC + casefold of the username: the unique key that makes "Kim" and "kim" one name.
    username_key: Mapped[str] = mapped_column(sa.String(96), unique=True)
    # What the name looks like (accounts.username_skeleton: Unicode's confusables skeleton
    # of the key, hashed), so a signup finds a look-alike in one indexed query. Not unique:
    # names from before the check may already look alike.
    username_skeleton: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    # Every access token carries the generation it was issued under; bumping it on
    # logout or password change revokes all of them at once.
    token_generation: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # The UI language the user chose ("ko", "en"), or None to follow the browser.
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    # An optional address for the emails of what one missed while away; used only once
    # verified (by a signed link), and only while `email_notify` is on.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    email_verified_at: Mapped[datetime | None] = mapped_column(Timestamp)
    email_notify: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # A site admin (made only by `flask webchat admin grant`), and when an admin switched
    # the account off (None: active). A deactivated user cannot sign in; their messages stay.
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    deactivated_at: Mapped[datetime | None] = mapped_column(Timestamp)

    @property
    def active(self):
        return self.deactivated_at is None

    def get_id(self):
        """The session's user id carries the generation, so revocation ends sessions too."""
        return f"{self.id}:{self.token_generation}"

    def __repr__(self):
        return f"<User {self.id} {self.username}>"


class RefreshToken(db.Model):
    """One issued refresh token. Rotation spends it; a family is one login's chain."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (MYSQL_TABLE,)

    jti: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    family: Mapped[str] = mapped_column(sa.String(36), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    spent_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class DeviceSession(db.Model):
    """One login of one device: a page's session cookie names it, or a token login's
    refresh family is it. Ending it signs that device out (its cookie, its socket tokens
    and refresh tokens, which all carry `family`, and its sockets) and no other."""

    __tablename__ = "sessions"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The family every token of this login carries (`fam`): the refresh family of a token
    # login, the socket tokens' of a page login. The cuts find its sockets by it.
    family: Mapped[str] = mapped_column(sa.String(36), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # page | token
    # The User-Agent as ua-parser reads it ("Chrome 120, Windows"); the address last seen.
    device: Mapped[str] = mapped_column(sa.String(120), default="")
    address: Mapped[str] = mapped_column(sa.String(45), default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # Moved at most once a minute (SESSION_TOUCH_SECONDS): the idle lifetime counts from it.
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Room(db.Model):
    __tablename__ = "rooms"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    type: Mapped[str] = mapped_column(sa.String(10), index=True)  # public | private | direct
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # The last allocated `seq`; incremented under the room's row lock for every message.
    last_seq: Mapped[int] = mapped_column(default=0)
    # The room's change counter: moved under the same lock by every change to any of its
    # messages (a new one, an edit, a delete, a reaction, a quoted parent changing), each
    # change taking the next value as that message's `rev`. The change feed pages by it.
    last_rev: Mapped[int] = mapped_column(default=0, server_default="0")
    # How many of the room's messages count as unread to someone who has not read them
    # (not system notices, not deleted). With a member's `counted_read` it makes every
    # unread count a subtraction: no scan of the messages after each read pointer.
    counted_messages: Mapped[int] = mapped_column(default=0, server_default="0")
    # For direct rooms: the sorted participant ids, unique, so one set has one room.
    direct_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("room_id", "user_id"),
        sa.Index("ix_memberships_user_active", "user_id", "active"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(10), default="member")  # owner | member
    active: Mapped[bool] = mapped_column(default=True)
    joined_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The read pointer, as the message id the contract speaks of and the seq that makes
    # the unread count a range scan on (room_id, seq).
    last_read_message_id: Mapped[int | None] = mapped_column()
    last_read_seq: Mapped[int] = mapped_column(default=0)
    # How many of the room's counted messages lie at or before the read pointer; unread
    # is the room's `counted_messages` minus this. Kept under the room's row lock.
    counted_read: Mapped[int] = mapped_column(default=0, server_default="0")
    # What alerts this member: "all" | "mentions" | "mute"; None is the room type's
    # default (see services.mentions.effective_notify).
    notify: Mapped[str | None] = mapped_column(sa.String(8))

    user: Mapped[User] = relationship(lazy="joined")


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        sa.UniqueConstraint("room_id", "seq"),
        sa.UniqueConstraint("sender_id", "client_id"),
        # The change feed: a range scan, and one message per rev.
        sa.Index("ix_messages_room_id_rev", "room_id", "rev", unique=True),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column()
    sender_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(10), default="text")  # text | system | file
    body: Mapped[str] = mapped_column(sa.Text, default="")
    # The body as the page shows it: sanitised HTML from a Markdown subset, rendered once
    # when written (services.formatting); "" for system, file and deleted messages. It
    # takes up to about 16 bytes a character (a URL of emoji, each percent-encoded in the
    # `href` and shown in the text), more than MariaDB's TEXT holds: MEDIUMTEXT there.
    html: Mapped[str] = mapped_column(
        sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), default="", server_default=""
    )
    client_id: Mapped[str | None] = mapped_column(sa.String(64))
    # System messages: {"type": "joined"|"left"|..., "user_id": n, "by_id": n|None}.
    event: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Who deleted it: "sender", or "moderator" (the room's owner or a site admin).
    deleted_by: Mapped[str | None] = mapped_column(sa.String(10))
    # Kind `file`: the attachment; cleared when the message is deleted.
    file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attachments.id", ondelete="SET NULL"))
    # The room's `last_rev` at this message's latest change (see Room.last_rev).
    rev: Mapped[int] = mapped_column(default=0, server_default="0")
    edited_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The message this one replies to, in the same room; its quote is read live. Not a
    # foreign key: messages are never removed alone, and a room goes with all of them.
    reply_to_id: Mapped[int | None] = mapped_column(index=True)
    # The reactions as shown, [{"emoji", "user_ids"}] by first use: a summary of the
    # `reactions` rows, rewritten with them under the room's lock, so that a page of
    # history needs no query of its reactions.
    reactions: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True))
    # Whom the text mentions by name, resolved to member ids when stored or edited, and
    # "room" or "here" for @room / @here (whose many users live only in `mentions` rows).
    mentions: Mapped[list | None] = mapped_column(sa.JSON(none_as_null=True))
    mention_all: Mapped[str | None] = mapped_column(sa.String(4))
    # Search: the body (a file message: its file's name) in NFKC + case folding with runs
    # of whitespace as one space, or None when that is the body itself (most Korean text),
    # so that search confirms a candidate with one LIKE. Deferred: only search reads it.
    search_text: Mapped[str | None] = mapped_column(sa.Text, deferred=True)

    sender: Mapped[User | None] = relationship(lazy="joined")
    # Joined like the sender, so a page of history stays one query however many files it shows.
    file: Mapped["Attachment | None"] = relationship(lazy="joined")
    # Loaded for a whole page at once, and only when some message of it is a reply.
    reply_to: Mapped["Message | None"] = relationship(
        primaryjoin="foreign(Message.reply_to_id) == remote(Message.id)", lazy="selectin", viewonly=True
    )


class SearchGram(db.Model):
    """Search's posting lists: one row for each distinct two-character piece of each word
    of a message's `search_text` (services.search_index). Keyed (gram, message_id), so a
    gram's messages are one range scan newest first; (room_id, gram) serves a search in
    one room and takes a deleted room's rows with it."""

    __tablename__ = "search_grams"
    __table_args__ = (
        sa.Index("ix_search_grams_room_id_gram", "room_id", "gram"),
        {**MYSQL_TABLE, "sqlite_with_rowid": False},
    )

    gram: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    message_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"))


class MessageRevision(db.Model):
    """One version of an edited message's body, the original included (written at its
    first edit: a message never edited has none)."""

    __tablename__ = "message_revisions"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Reaction(db.Model):
    """One user's one emoji on one message: the triple is unique, so a repeated or
    concurrent add cannot count twice."""

    __tablename__ = "reactions"
    __table_args__ = (
        sa.UniqueConstraint("message_id", "user_id", "emoji", name="uq_reactions_message_user_emoji"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    emoji: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Mention(db.Model):
    """A member a message alerts: named in it, reached by its @room or @here, or the
    author of the message it replies to. With the message's `seq`, a member's mention
    count is a range count on (room_id, user_id, seq) past their read pointer, however far
    behind they are. An edit that drops the mention turns `active` off rather than
    removing the row, so mentioning them again does not notify them twice."""

    __tablename__ = "mentions"
    __table_args__ = (
        sa.UniqueConstraint("message_id", "user_id", name="uq_mentions_message_user"),
        sa.Index("ix_mentions_room_user_seq", "room_id", "user_id", "seq"),
        MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)


class EmailNotice(db.Model):
    """The last email a user was sent about one room: at most one an hour per room, and
    the claim that makes one node of several the sender (a conditional UPDATE wins)."""

    __tablename__ = "email_notices"
    __table_args__ = (sa.UniqueConstraint("user_id", "room_id", name="uq_email_notices_user_room"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    sent_at: Mapped[datetime] = mapped_column(Timestamp)
    # The room's seq the email covered up to: the next one lists only what came after.
    through_seq: Mapped[int] = mapped_column(default=0)


class Attachment(db.Model):
    """An uploaded file: the stored object (under a random key) and what we know about it."""

    __tablename__ = "attachments"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    storage_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The sanitised original name, shown and offered as the download's name.
    name: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    # Detected from the bytes, never taken from the client.
    content_type: Mapped[str] = mapped_column(sa.String(100))
    thumbnail_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class RoomBan(db.Model):
    """A user kept out of a room: they cannot join it or be invited (or re-enter a direct
    room) until the owner lifts the ban."""

    __tablename__ = "room_bans"
    __table_args__ = (sa.UniqueConstraint("room_id", "user_id", name="uq_room_bans_room_user"), MYSQL_TABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    by: Mapped[User | None] = relationship(foreign_keys=[by_id], lazy="joined")


class AuditEntry(db.Model):
    """One moderation or admin action: who did what to whom, when. Written in the
    transaction of the action itself. Names are copied, so the row still says who when
    the room is gone; a room or message id is not a foreign key for the same reason."""

    __tablename__ = "audit_log"
    __table_args__ = (MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    # kick | ban | unban | delete_message | deactivate | reactivate | grant_admin |
    # revoke_admin | delete_room
    action: Mapped[str] = mapped_column(sa.String(20))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str | None] = mapped_column(sa.String(32))
    target_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    target_name: Mapped[str | None] = mapped_column(sa.String(32))
    room_id: Mapped[int | None] = mapped_column()
    room_name: Mapped[str | None] = mapped_column(sa.String(80))
    message_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
