"""analytics: a weekly report's pushed link can be revoked per recipient

Revision ID: 0021
Revises: 0013
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0021"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analytics_report_deliveries") as batch:
        batch.add_column(sa.Column("revoked_at", bot.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analytics_report_deliveries") as batch:
        batch.drop_column("revoked_at")
