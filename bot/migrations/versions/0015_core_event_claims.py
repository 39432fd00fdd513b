"""ordering: core webhook events are claimed before they are processed (insert-first)

Revision ID: 0015
Revises: 0005
Create Date: 2026-12-06

``ordering_core_events.state``: ``done`` once the event's effects are committed, ``p:<token>``
while one delivery processes it (the claim; deleted again when processing fails, so the core's
redelivery runs it). Existing rows were all fully handled, hence the server default ``done``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "ordering_core_events",
        sa.Column("state", sa.String(length=16), server_default="done", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("ordering_core_events") as batch:
        batch.drop_column("state")
