"""Messages read only to be shown (a page of history, a room's last message): plain rows
with what `message_payload` reads, their sender, file and quoted parent nested, in one
query. A Message object with its User and Attachment objects cost more than the query
that fetched them: loading a page of 50 as objects (every column of the sender's and the
parent's users included) took about twice the CPU of the rows (bench/action_cost.py)."""

import functools

import sqlalchemy as sa
from sqlalchemy.orm import Bundle, aliased

from ..extensions import db
from ..models import Attachment, Message, User


class Joined(Bundle):
    """The columns of an outer-joined row under one name, or None when there was no row
    to join (its first column, the primary key, is NULL)."""

    def create_row_processor(self, query, procs, labels):
        bundle = super().create_row_processor(query, procs, labels)

        def proc(row):
            values = bundle(row)
            return None if values[0] is None else values

        return proc


_sender, _file = aliased(User), aliased(Attachment)
_parent, _parent_sender = aliased(Message), aliased(User)

# A message as `message_payload` reads it; select it with `joined` applied.
MESSAGE = Joined(
    "message",
    Message.id,
    Message.room_id,
    Message.seq,
    Message.kind,
    Message.body,
    Message.html,
    Message.client_id,
    Message.created_at,
    Message.deleted_at,
    Message.deleted_by,
    Message.event,
    Message.rev,
    Message.edited_at,
    Message.reactions,
    Message.mentions,
    Message.mention_all,
    Joined("sender", _sender.id, _sender.username, _sender.deactivated_at),
    Joined(
        "reply_to",
        _parent.id,
        _parent.seq,
        _parent.body,
        _parent.deleted_at,
        Joined("sender", _parent_sender.id, _parent_sender.username, _parent_sender.deactivated_at),
    ),
    Joined(
        "file",
        _file.id,
        _file.name,
        _file.size,
        _file.content_type,
        _file.thumbnail_key,
        _file.width,
        _file.height,
    ),
)


def joined(query):
    """`query` (selecting from Message) with the outer joins MESSAGE reads."""
    return (
        query.outerjoin(_sender, _sender.id == Message.sender_id)
        .outerjoin(_file, _file.id == Message.file_id)
        .outerjoin(_parent, _parent.id == Message.reply_to_id)
        .outerjoin(_parent_sender, _parent_sender.id == _parent.sender_id)
    )


@functools.cache
def _page_statement(bound, descending):
    """A page of a room's messages as MESSAGE rows, built once per shape (building and
    keying a statement of this many columns cost a sixth of a page's CPU): those whose
    seq is `bound` (an `operator` comparison, or None for any) :seq, by seq (`descending`
    or not), :limit of them."""
    query = joined(sa.select(MESSAGE)).where(Message.room_id == sa.bindparam("room_id"))
    if bound is not None:
        query = query.where(bound(Message.seq, sa.bindparam("seq")))
    return query.order_by(Message.seq.desc() if descending else Message.seq).limit(sa.bindparam("limit"))


def page_rows(room_id, bound=None, seq=None, *, descending, limit):
    """Up to `limit` messages of the room whose seq is `bound` (operator.lt, gt, ge; None
    for any) `seq`, by seq (`descending` or not), as MESSAGE rows."""
    params = {"room_id": room_id, "limit": limit} | ({"seq": seq} if bound is not None else {})
    return db.session.scalars(_page_statement(bound, descending), params).all()
