"""the change feed, edits, reactions, replies: rooms.last_rev, messages.rev, edited_at,
reply_to_id, reactions (a summary); tables message_revisions and reactions

Existing data gets `rev = seq` and `last_rev = last_seq`: every stored message's one
change so far was its posting, in seq order, so the feed starts consistent with history.

Revision ID: 7c4d2b8e1f60
Revises: 5a1c0e7d9b42
Create Date: 2026-12-03 09:10:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '7c4d2b8e1f60'
down_revision = '5a1c0e7d9b42'
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

# Plain ALTER TABLE on both backends, as in 3b7c2e9a41f0: a batch migration would copy
# and drop `messages`, and with foreign keys on, that cascades.


def upgrade():
    op.add_column('rooms', sa.Column('last_rev', sa.Integer(), server_default='0', nullable=False))
    op.add_column('messages', sa.Column('rev', sa.Integer(), server_default='0', nullable=False))
    op.add_column('messages', sa.Column('edited_at', Timestamp, nullable=True))
    op.add_column('messages', sa.Column('reactions', sa.JSON(), nullable=True))
    # No foreign key: a reply and its parent are in one room, messages are never removed
    # alone (a delete leaves a tombstone), and a room goes with all of its messages; a
    # self-reference would only add a cascade inside that delete (and SQLite could never
    # drop the column again).
    op.add_column('messages', sa.Column('reply_to_id', sa.Integer(), nullable=True))
    op.create_index('ix_messages_reply_to_id', 'messages', ['reply_to_id'])
    op.execute("UPDATE messages SET rev = seq")
    op.execute("UPDATE rooms SET last_rev = last_seq")
    op.create_index('ix_messages_room_id_rev', 'messages', ['room_id', 'rev'], unique=True)

    op.create_table(
        'message_revisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', Timestamp, nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_message_revisions_message_id', 'message_revisions', ['message_id'])
    op.create_table(
        'reactions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('emoji', sa.String(length=64), nullable=False),
        sa.Column('created_at', Timestamp, nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id', 'user_id', 'emoji', name='uq_reactions_message_user_emoji'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_reactions_user_id', 'reactions', ['user_id'])


def downgrade():
    op.drop_table('reactions')  # its indexes with it (MariaDB will not drop one an FK needs)
    op.drop_table('message_revisions')
    op.drop_index('ix_messages_room_id_rev', table_name='messages')
    op.drop_index('ix_messages_reply_to_id', table_name='messages')
    for column in ('reply_to_id', 'reactions', 'edited_at', 'rev'):
        op.execute(f"ALTER TABLE messages DROP COLUMN {column}")
    op.execute("ALTER TABLE rooms DROP COLUMN last_rev")
