"""unread counters: rooms.counted_messages, memberships.counted_read

An unread count becomes `rooms.counted_messages - memberships.counted_read` instead of
a count of the messages after each read pointer, which grew with every unread message
and was run for every member on every send.

Revision ID: 3b7c2e9a41f0
Revises: d1fdf524ef21
Create Date: 2026-11-30 13:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '3b7c2e9a41f0'
down_revision = 'd1fdf524ef21'
branch_labels = None
depends_on = None

# Messages that count as unread: not system notices, not deleted.
COUNTED = "m.kind <> 'system' AND m.deleted_at IS NULL"


# Plain ALTER TABLE on both backends (SQLite 3.35+ drops columns in place): a batch
# migration would copy and drop `rooms`, and with foreign keys on, dropping it cascades
# to every membership and message.


def upgrade():
    op.add_column('rooms', sa.Column('counted_messages', sa.Integer(), server_default='0', nullable=False))
    op.add_column('memberships', sa.Column('counted_read', sa.Integer(), server_default='0', nullable=False))
    op.execute(f"UPDATE rooms SET counted_messages = "
               f"(SELECT COUNT(*) FROM messages m WHERE m.room_id = rooms.id AND {COUNTED})")
    op.execute(f"UPDATE memberships SET counted_read = "
               f"(SELECT COUNT(*) FROM messages m WHERE m.room_id = memberships.room_id "
               f"AND m.seq <= memberships.last_read_seq AND {COUNTED})")


def downgrade():
    op.execute("ALTER TABLE memberships DROP COLUMN counted_read")
    op.execute("ALTER TABLE rooms DROP COLUMN counted_messages")
