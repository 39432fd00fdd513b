"""automation: order facts, profiles, tier rules and changes, journeys, enrolments, step runs,
marketing sends (the frequency cap), tags, campaigns and their recipients

Revision ID: 0011
Revises: 0001
Create Date: 2026-12-06

The automation branch (``branch_labels = ("automation",)``): only new ``auto_*`` tables.
"""

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0011"
down_revision = "0001"
branch_labels = ("automation",)
depends_on = None

TABLES = (
    "auto_campaign_recipients",
    "auto_step_runs",
    "auto_campaigns",
    "auto_enrolments",
    "auto_journeys",
    "auto_marketing_sends",
    "auto_order_facts",
    "auto_profiles",
    "auto_sku_facts",
    "auto_tags",
    "auto_tier_changes",
    "auto_tier_rules",
)


def upgrade() -> None:
    op.create_table(
        "auto_campaigns",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_auto_campaigns_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_campaigns")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_auto_campaigns_tenant_id_name")),
    )
    op.create_table(
        "auto_enrolments",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("journey", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("due_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entered_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("goal_until", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("exit_reason", sa.String(length=32), nullable=False),
        sa.Column("converted_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revenue_fen", sa.BigInteger(), nullable=False),
        sa.Column("coupon_cost_fen", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_auto_enrolments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_enrolments")),
        sa.UniqueConstraint(
            "tenant_id",
            "journey",
            "subject",
            "cycle",
            name=op.f("uq_auto_enrolments_tenant_id_journey_subject_cycle"),
        ),
    )
    op.create_table(
        "auto_journeys",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_auto_journeys_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_journeys")),
        sa.UniqueConstraint(
            "tenant_id", "name", "version", name=op.f("uq_auto_journeys_tenant_id_name_version")
        ),
    )
    op.create_table(
        "auto_marketing_sends",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("sent_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_auto_marketing_sends_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_marketing_sends")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_auto_marketing_sends_tenant_id_key")),
    )
    op.create_table(
        "auto_order_facts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("core_order_id", sa.BigInteger(), nullable=False),
        sa.Column("core_store_id", sa.BigInteger(), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("coupon_discount_fen", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("ordered_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_auto_order_facts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_order_facts")),
        sa.UniqueConstraint(
            "tenant_id", "core_order_id", name=op.f("uq_auto_order_facts_tenant_id_core_order_id")
        ),
    )
    op.create_table(
        "auto_profiles",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("region_code", sa.String(length=64), nullable=True),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary_fen", sa.BigInteger(), nullable=False),
        sa.Column("rfm", sa.String(length=8), nullable=False),
        sa.Column("lifecycle", sa.String(length=16), nullable=False),
        sa.Column("top_aroma", sa.String(length=32), nullable=False),
        sa.Column("top_brand", sa.String(length=64), nullable=False),
        sa.Column("affinity", sa.Text(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("last_order_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("computed_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_auto_profiles_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_profiles")),
        sa.UniqueConstraint("tenant_id", "subject", name=op.f("uq_auto_profiles_tenant_id_subject")),
    )
    op.create_table(
        "auto_sku_facts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("aroma", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_auto_sku_facts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_sku_facts")),
        sa.UniqueConstraint("tenant_id", "sku", name=op.f("uq_auto_sku_facts_tenant_id_sku")),
    )
    op.create_table(
        "auto_tags",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_auto_tags_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_tags")),
        sa.UniqueConstraint("tenant_id", "subject", "tag", name=op.f("uq_auto_tags_tenant_id_subject_tag")),
    )
    op.create_table(
        "auto_tier_changes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=False),
        sa.Column("from_tier", sa.String(length=16), nullable=False),
        sa.Column("to_tier", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("changed_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_auto_tier_changes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_tier_changes")),
        sa.UniqueConstraint(
            "tenant_id",
            "store_code",
            "changed_at",
            name=op.f("uq_auto_tier_changes_tenant_id_store_code_changed_at"),
        ),
    )
    op.create_table(
        "auto_tier_rules",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("region_code", sa.String(length=64), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_auto_tier_rules_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_tier_rules")),
        sa.UniqueConstraint(
            "tenant_id", "region_code", name=op.f("uq_auto_tier_rules_tenant_id_region_code")
        ),
    )
    op.create_table(
        "auto_campaign_recipients",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("lease_until", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["auto_campaigns.id"],
            name=op.f("fk_auto_campaign_recipients_campaign_id_auto_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_campaign_recipients")),
        sa.UniqueConstraint(
            "campaign_id", "member_id", name=op.f("uq_auto_campaign_recipients_campaign_id_member_id")
        ),
    )
    op.create_table(
        "auto_step_runs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("enrolment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("variant", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("started_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["auto_enrolments.id"],
            name=op.f("fk_auto_step_runs_enrolment_id_auto_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_step_runs")),
        sa.UniqueConstraint("enrolment_id", "step", name=op.f("uq_auto_step_runs_enrolment_id_step")),
    )
    op.create_index("ix_auto_enrolments_subject", "auto_enrolments", ["tenant_id", "subject"], unique=False)
    op.create_index("ix_auto_enrolments_due", "auto_enrolments", ["state", "due_at"], unique=False)
    op.create_index(
        "ix_auto_marketing_sends_member",
        "auto_marketing_sends",
        ["tenant_id", "member_id", "sent_at"],
        unique=False,
    )
    op.create_index(
        "ix_auto_order_facts_store",
        "auto_order_facts",
        ["tenant_id", "store_code", "ordered_at"],
        unique=False,
    )
    op.create_index(
        "ix_auto_tier_changes_store", "auto_tier_changes", ["tenant_id", "store_code"], unique=False
    )
    op.create_index(
        "ix_auto_campaign_recipients_todo",
        "auto_campaign_recipients",
        ["campaign_id", "status"],
        unique=False,
    )


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
