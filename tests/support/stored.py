"""What a refused request or event must leave as it was, for the bad-input tests."""

import sqlalchemy as sa

from webchat.extensions import db
from webchat.models import Attachment, Message, MessageRevision, Reaction, Room

COUNTED_ROWS = (MessageRevision, Reaction, Attachment)


def stored_state():
    """The rooms' counters, each message's rev and text, and the rows that edits,
    reactions and uploads add."""
    state = {
        "rooms": db.session.execute(sa.select(Room.id, Room.last_seq, Room.last_rev).order_by(Room.id)).all(),
        "messages": db.session.execute(
            sa.select(Message.id, Message.rev, Message.body, Message.edited_at, Message.deleted_at).order_by(Message.id)
        ).all(),
        **{m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in COUNTED_ROWS},
    }
    db.session.commit()  # end the read: the next one sees what committed since
    return state
