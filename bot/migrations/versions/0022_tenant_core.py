"""tenancy: each tenant may have its own core (URL, API key, webhook secret)

Revision ID: 0022
Revises: 0001
Create Date: 2026-12-06

Empty strings mean "the process-wide JIUBOT_CORE_* settings", so existing tenants keep their core.
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (("core_url", 512), ("core_api_key", 256), ("core_webhook_secret", 256))


def upgrade() -> None:
    for name, length in COLUMNS:
        op.add_column("tenants", sa.Column(name, sa.String(length=length), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        for name, _length in COLUMNS:
            batch.drop_column(name)
