"""device sessions: table sessions, one row per login (a page's cookie or a token
login's refresh family), issue 24

Every refresh family still alive gets a row (device unknown), so that API clients stay
signed in; page cookies from before name no session and sign in again.

Revision ID: a7e2c9d4b316
Revises: f3a9c4e1d705
Create Date: 2026-12-07 01:20:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = 'a7e2c9d4b316'
down_revision = 'f3a9c4e1d705'
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        'sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('family', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('device', sa.String(length=120), nullable=False),
        sa.Column('address', sa.String(length=45), nullable=False),
        sa.Column('created_at', Timestamp, nullable=False),
        sa.Column('last_seen_at', Timestamp, nullable=False),
        sa.Column('ended_at', Timestamp, nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
        sa.UniqueConstraint('family', name=op.f('uq_sessions_family')),
        **MYSQL_TABLE,
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_user_id'), ['user_id'], unique=False)
    op.execute(
        "INSERT INTO sessions (user_id, family, kind, device, address, created_at, last_seen_at) "
        "SELECT user_id, family, 'token', '', '', MIN(created_at), MAX(created_at) FROM refresh_tokens "
        "GROUP BY user_id, family HAVING SUM(CASE WHEN revoked THEN 1 ELSE 0 END) = 0"
    )


def downgrade():
    # The table's indexes go with it (MariaDB refuses to drop the user_id index first: its
    # foreign key needs it).
    op.drop_table('sessions')
