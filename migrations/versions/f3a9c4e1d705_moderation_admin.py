"""moderation and administration: users.is_admin and deactivated_at, messages.deleted_by,
tables room_bans and audit_log (issue 23)

Nobody is an admin and everyone is active to begin with; a message deleted before this
was deleted by its sender (only senders could).

Revision ID: f3a9c4e1d705
Revises: c5f1a7d3e820
Create Date: 2026-12-04 20:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = 'f3a9c4e1d705'
down_revision = 'c5f1a7d3e820'
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.add_column('users', sa.Column('is_admin', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('users', sa.Column('deactivated_at', Timestamp, nullable=True))
    op.add_column('messages', sa.Column('deleted_by', sa.String(length=10), nullable=True))
    op.execute("UPDATE messages SET deleted_by = 'sender' WHERE deleted_at IS NOT NULL AND kind <> 'system'")
    op.create_table(
        'room_bans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('room_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', Timestamp, nullable=False),
        sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('room_id', 'user_id', name='uq_room_bans_room_user'),
        **MYSQL_TABLE,
    )
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.String(length=32), nullable=True),
        sa.Column('target_user_id', sa.Integer(), nullable=True),
        sa.Column('target_name', sa.String(length=32), nullable=True),
        sa.Column('room_id', sa.Integer(), nullable=True),
        sa.Column('room_name', sa.String(length=80), nullable=True),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('created_at', Timestamp, nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['target_user_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        **MYSQL_TABLE,
    )


def downgrade():
    op.drop_table('audit_log')
    op.drop_table('room_bans')
    op.execute("ALTER TABLE messages DROP COLUMN deleted_by")
    for column in ('deactivated_at', 'is_admin'):
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")
