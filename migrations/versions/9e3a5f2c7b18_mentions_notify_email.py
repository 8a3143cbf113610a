"""mentions and notifications: table mentions, messages.mentions and mention_all,
memberships.notify, users.email, email_verified_at and email_notify, table email_notices

Existing messages mention nobody (their text was never resolved), and every member keeps
the default setting of their room's type.

Revision ID: 9e3a5f2c7b18
Revises: 7c4d2b8e1f60
Create Date: 2026-12-03 14:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '9e3a5f2c7b18'
down_revision = '7c4d2b8e1f60'
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

# Plain ALTER TABLE on both backends, as in 3b7c2e9a41f0.


def upgrade():
    op.add_column('messages', sa.Column('mentions', sa.JSON(), nullable=True))
    op.add_column('messages', sa.Column('mention_all', sa.String(length=4), nullable=True))
    op.add_column('memberships', sa.Column('notify', sa.String(length=8), nullable=True))
    op.add_column('users', sa.Column('email', sa.String(length=254), nullable=True))
    op.add_column('users', sa.Column('email_verified_at', Timestamp, nullable=True))
    op.add_column('users', sa.Column('email_notify', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        'mentions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('room_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id', 'user_id', name='uq_mentions_message_user'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_mentions_room_user_seq', 'mentions', ['room_id', 'user_id', 'seq'])
    op.create_index('ix_mentions_user_id', 'mentions', ['user_id'])
    op.create_table(
        'email_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('room_id', sa.Integer(), nullable=False),
        sa.Column('sent_at', Timestamp, nullable=False),
        sa.Column('through_seq', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'room_id', name='uq_email_notices_user_room'),
        **MYSQL_TABLE,
    )
    op.create_index('ix_email_notices_room_id', 'email_notices', ['room_id'])


def downgrade():
    op.drop_table('email_notices')  # its indexes with it
    op.drop_table('mentions')
    for column in ('email_notify', 'email_verified_at', 'email'):
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")
    op.execute("ALTER TABLE memberships DROP COLUMN notify")
    for column in ('mention_all', 'mentions'):
        op.execute(f"ALTER TABLE messages DROP COLUMN {column}")
