"""users.locale: the UI language a user chose ("ko", "en"), or NULL to follow the browser

Revision ID: 5a1c0e7d9b42
Revises: 3b7c2e9a41f0
Create Date: 2026-12-03 06:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '5a1c0e7d9b42'
down_revision = '3b7c2e9a41f0'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on both backends: a batch migration would copy `users`.
    op.add_column('users', sa.Column('locale', sa.String(length=5), nullable=True))


def downgrade():
    op.drop_column('users', 'locale')
