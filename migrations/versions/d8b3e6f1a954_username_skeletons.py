"""users.username_skeleton: what each username looks like (its confusables skeleton,
hashed), indexed, so a signup finds a look-alike in one query (issue 24)

Filled for every user in batches of 2,000 by id, as signup fills it.

Revision ID: d8b3e6f1a954
Revises: a7e2c9d4b316
Create Date: 2026-12-07 02:10:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd8b3e6f1a954'
down_revision = 'a7e2c9d4b316'
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade():
    op.add_column('users', sa.Column('username_skeleton', sa.String(length=64), nullable=True))
    op.create_index('ix_users_username_skeleton', 'users', ['username_skeleton'])
    _fill()


def _fill():
    from webchat.services.names import lookalike_key

    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, username FROM users WHERE id > :last ORDER BY id LIMIT :batch"),
            {"last": last, "batch": BATCH},
        ).all()
        if not rows:
            return
        bind.execute(
            sa.text("UPDATE users SET username_skeleton = :skeleton WHERE id = :id"),
            [{"id": row.id, "skeleton": lookalike_key(row.username)} for row in rows],
        )
        last = rows[-1].id


def downgrade():
    op.drop_index('ix_users_username_skeleton', table_name='users')
    op.drop_column('users', 'username_skeleton')
