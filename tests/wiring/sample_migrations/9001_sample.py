"""A sample feature's own table (tests/wiring/test_features.py)."""

import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "0001"
branch_labels = ("sample",)
depends_on = None


def upgrade() -> None:
    op.create_table("sample_notes", sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text))


def downgrade() -> None:
    op.drop_table("sample_notes")
