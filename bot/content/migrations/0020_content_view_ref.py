"""content: a view's reference (the key its stream entry carries: a view is stored once) and an
item's owning region (the console's review scope; NULL = HQ's)

Revision ID: 0020
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("content_views") as batch:
        batch.add_column(sa.Column("ref", sa.String(length=24), nullable=True))
        batch.create_index("ux_content_views_ref", ["ref"], unique=True)
    with op.batch_alter_table("content_items") as batch:
        batch.add_column(sa.Column("region_code", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("content_items") as batch:
        batch.drop_column("region_code")
    with op.batch_alter_table("content_views") as batch:
        batch.drop_index("ux_content_views_ref")
        batch.drop_column("ref")
