"""wechat: deferred replies, durable until delivered

Revision ID: 0016
Revises: 0003
Create Date: 2026-12-06

``deferred_replies``: one row per callback whose handler missed the budget (WeChat was acked, the
reply is owed). The owner renews ``lease_until`` while it works; ``jiubot worker`` re-runs rows
whose owner died (bot/wechat/deferred.py). Model: ``bot/wechat/models.py``.
"""

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0016"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deferred_replies",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("member_id", _ID, nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("lease_until", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_deferred_replies_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_deferred_replies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deferred_replies")),
        sa.UniqueConstraint("appid", "dedupe_key", name=op.f("uq_deferred_replies_appid_dedupe_key")),
    )
    with op.batch_alter_table("deferred_replies", schema=None) as batch_op:
        batch_op.create_index("ix_deferred_replies_due", ["status", "lease_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_deferred_replies_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_table("deferred_replies")
