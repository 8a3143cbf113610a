"""Unread counts two ways, for the tests that hold the counters to the definition."""

import sqlalchemy as sa

from webchat.extensions import db
from webchat.models import Membership, Message, Room
from webchat.services import reads


def counted_by_scan():
    """{(room_id, user_id): unread} by the definition: others' messages after the pointer
    that are neither system notices nor deleted, for every active membership."""
    m = sa.orm.aliased(Message)
    rows = db.session.execute(
        sa.select(Membership.room_id, Membership.user_id, sa.func.count(m.id))
        .outerjoin(
            m,
            sa.and_(
                m.room_id == Membership.room_id,
                m.seq > Membership.last_read_seq,
                m.kind != "system",
                m.deleted_at.is_(None),
                sa.or_(m.sender_id.is_(None), m.sender_id != Membership.user_id),
            ),
        )
        .where(Membership.active.is_(True))
        .group_by(Membership.room_id, Membership.user_id)
    ).all()
    return {(room_id, user_id): count for room_id, user_id, count in rows}


def counted_by_counters():
    result = {}
    for room_id in db.session.scalars(sa.select(Room.id)):
        for row in reads._member_counts(room_id):
            result[(room_id, row.user_id)] = row.unread
    return result
