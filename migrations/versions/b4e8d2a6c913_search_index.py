"""search: messages.search_text and table search_grams (issue 21)

Fills the index for the messages already stored when there are at most 200,000 of them
(seconds); a larger database is migrated without it and indexed afterwards by
`flask webchat search reindex`, which may run while the server serves (until it is done,
older messages are not found).

Revision ID: b4e8d2a6c913
Revises: 9e3a5f2c7b18
Create Date: 2026-12-10 10:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b4e8d2a6c913'
down_revision = '9e3a5f2c7b18'
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}
FILL_AT_MOST = 200_000


def upgrade():
    op.add_column('messages', sa.Column('search_text', sa.Text(), nullable=True))
    op.create_table(
        'search_grams',
        sa.Column('gram', sa.String(length=2), nullable=False),
        sa.Column('message_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('room_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('gram', 'message_id'),
        sqlite_with_rowid=False,
        **MYSQL_TABLE,
    )
    op.create_index('ix_search_grams_room_id_gram', 'search_grams', ['room_id', 'gram'])
    count = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM messages")).scalar()
    if count and count <= FILL_AT_MOST:
        _fill()
    elif count:
        print(f"search: {count} messages; run `flask webchat search reindex` to index them")


def _fill():
    """The reindex command's work, on the migration's connection."""
    from webchat.services.search_index import indexed_source, rows_for, search_text

    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT m.id, m.room_id, m.kind, m.body, m.deleted_at, a.name FROM messages m "
                "LEFT JOIN attachments a ON a.id = m.file_id WHERE m.id > :last ORDER BY m.id LIMIT 2000"
            ),
            {"last": last},
        ).all()
        if not rows:
            return
        texts, grams = [], []
        for row in rows:
            source = "" if row.deleted_at is not None else indexed_source(row.kind, row.body, row.name)
            column, normalised = search_text(source, "" if row.deleted_at is not None else row.body)
            if column is not None:
                texts.append({"id": row.id, "text": column})
            grams.extend(
                {"gram": gram, "message_id": message_id, "room_id": room_id}
                for gram, message_id, room_id in rows_for(row.id, row.room_id, normalised)
            )
        if texts:
            bind.execute(sa.text("UPDATE messages SET search_text = :text WHERE id = :id"), texts)
        if grams:
            bind.execute(
                sa.text("INSERT INTO search_grams (gram, message_id, room_id) VALUES (:gram, :message_id, :room_id)"),
                grams,
            )
        last = rows[-1].id


def downgrade():
    op.drop_table('search_grams')  # its index with it
    op.execute("ALTER TABLE messages DROP COLUMN search_text")
