"""formatting: messages.html, the body rendered to sanitised HTML (issue 22)

Renders every stored text message, in batches of 2,000 by id: reads never render, so
no row may be left without its HTML. A plain message takes the fast path (a few
microseconds); one with Markdown in it about a tenth of a millisecond. Deleted, system
and file messages keep "".

Revision ID: c5f1a7d3e820
Revises: b4e8d2a6c913
Create Date: 2026-12-12 10:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = 'c5f1a7d3e820'
down_revision = 'b4e8d2a6c913'
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade():
    html = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql', 'mariadb')  # up to ~16 bytes a character
    op.add_column('messages', sa.Column('html', html, nullable=False, server_default=''))
    _fill()


def _fill():
    """Each text message's HTML, as the send path would have stored it."""
    from webchat.services.formatting import render

    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, body FROM messages WHERE id > :last AND kind = 'text' AND deleted_at IS NULL "
                "ORDER BY id LIMIT :batch"
            ),
            {"last": last, "batch": BATCH},
        ).all()
        if not rows:
            return
        bind.execute(
            sa.text("UPDATE messages SET html = :html WHERE id = :id"),
            [{"id": row.id, "html": render(row.body)} for row in rows],
        )
        last = rows[-1].id


def downgrade():
    op.execute("ALTER TABLE messages DROP COLUMN html")
