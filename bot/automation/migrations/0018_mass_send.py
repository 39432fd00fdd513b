"""automation: mass send (群发) by tag — the job per campaign and the per-member monthly count;
campaign recipients indexed by (campaign, status, id) so a batch is claimed in id order by an
index range scan

Revision ID: 0018
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0018"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "auto_mass_jobs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("clientmsgid", sa.String(length=64), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("msg_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_auto_mass_jobs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["auto_campaigns.id"],
            name=op.f("fk_auto_mass_jobs_campaign_id_auto_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_mass_jobs")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_auto_mass_jobs_campaign_id")),
    )
    op.create_table(
        "auto_mass_quota",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("counted_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_auto_mass_quota_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["auto_campaigns.id"],
            name=op.f("fk_auto_mass_quota_campaign_id_auto_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_mass_quota")),
        sa.UniqueConstraint(
            "campaign_id", "member_id", name=op.f("uq_auto_mass_quota_campaign_id_member_id")
        ),
    )
    op.create_index("ix_auto_mass_quota_member", "auto_mass_quota", ["tenant_id", "member_id", "month"])
    op.drop_index("ix_auto_campaign_recipients_todo", table_name="auto_campaign_recipients")
    op.create_index(
        "ix_auto_campaign_recipients_todo", "auto_campaign_recipients", ["campaign_id", "status", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_auto_campaign_recipients_todo", table_name="auto_campaign_recipients")
    op.create_index("ix_auto_campaign_recipients_todo", "auto_campaign_recipients", ["campaign_id", "status"])
    op.drop_table("auto_mass_quota")
    op.drop_table("auto_mass_jobs")
