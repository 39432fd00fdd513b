"""membership: stores, points ledgers, bottle codes, scans, fraud control, rewards, referral

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-22

The membership branch (``branch_labels = ("membership",)``): only membership tables and the new
columns of ``members``. SQLite note: the new ``members`` columns are added with plain
``ALTER TABLE ... ADD COLUMN`` rather than batch mode, because batch mode rebuilds the table and
``DROP TABLE members`` with foreign keys on would cascade-delete every identity. For the same
reason ``members.store_id`` has no foreign key (SQLite cannot add one without the rebuild).
"""

import sqlalchemy as sa
from alembic import op

import bot.db

revision = "0006"
down_revision = "0001"
branch_labels = ("membership",)
depends_on = None

_MEMBER_COLUMNS = (
    ("phone_verified_at", "TIMESTAMP", "DATETIME"),
    ("distributor_code", "VARCHAR(64)", "VARCHAR(64)"),
    ("region_code", "VARCHAR(64)", "VARCHAR(64)"),
    ("tier", "VARCHAR(24) NOT NULL DEFAULT 'basic'", "VARCHAR(24) NOT NULL DEFAULT 'basic'"),
    ("tier_updated_at", "TIMESTAMP", "DATETIME"),
    ("age_confirmed_at", "TIMESTAMP", "DATETIME"),
    ("push_opt_out", "BOOLEAN NOT NULL DEFAULT false", "BOOLEAN NOT NULL DEFAULT 0"),
)


def _alter_members() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name, _pg, lite in _MEMBER_COLUMNS:
            op.execute(f"ALTER TABLE members ADD COLUMN {name} {lite}")
        op.execute("ALTER TABLE members ADD COLUMN store_id BIGINT")
        return
    op.add_column("members", sa.Column("phone_verified_at", bot.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column("members", sa.Column("store_id", sa.BigInteger(), nullable=True))
    op.add_column("members", sa.Column("distributor_code", sa.String(length=64), nullable=True))
    op.add_column("members", sa.Column("region_code", sa.String(length=64), nullable=True))
    op.add_column("members", sa.Column("tier", sa.String(length=24), server_default="basic", nullable=False))
    op.add_column("members", sa.Column("tier_updated_at", bot.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column("members", sa.Column("age_confirmed_at", bot.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column(
        "members", sa.Column("push_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False)
    )


def _restore_members() -> None:
    names = ["store_id", *(c[0] for c in _MEMBER_COLUMNS)]
    if op.get_bind().dialect.name == "sqlite":
        # SQLite >= 3.35 drops plain columns in place (no table rebuild, see the docstring).
        for name in names:
            op.execute(f"ALTER TABLE members DROP COLUMN {name}")
        return
    for name in names:
        op.drop_column("members", name)


def upgrade() -> None:
    op.create_table(
        "code_batches",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("product_name", sa.String(length=128), nullable=False),
        sa.Column("region_code", sa.String(length=64), nullable=True),
        sa.Column("distributor_code", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_code_batches_size_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_code_batches_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_batches")),
    )
    with op.batch_alter_table("code_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_batches_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "loyalty_configs",
        sa.Column(
            "tenant_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_loyalty_configs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_loyalty_configs")),
    )
    op.create_table(
        "points_campaigns",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("region_code", sa.String(length=64), nullable=True),
        sa.Column("multiplier_pct", sa.Integer(), nullable=False),
        sa.Column("starts_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("multiplier_pct > 0", name=op.f("ck_points_campaigns_multiplier_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_points_campaigns_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_campaigns")),
    )
    with op.batch_alter_table("points_campaigns", schema=None) as batch_op:
        batch_op.create_index(
            "ix_points_campaigns_window", ["tenant_id", "starts_at", "ends_at"], unique=False
        )

    op.create_table(
        "points_rules",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("scan_points", sa.Integer(), nullable=False),
        sa.Column("store_reward", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_points_rules_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_rules")),
        sa.UniqueConstraint("tenant_id", "sku", name=op.f("uq_points_rules_tenant_id_sku")),
    )
    op.create_table(
        "reward_items",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("catalog", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("points_cost", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("per_member_limit", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("points_cost > 0", name=op.f("ck_reward_items_cost_positive")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_reward_items_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_reward_items_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_items")),
    )
    with op.batch_alter_table("reward_items", schema=None) as batch_op:
        batch_op.create_index("ix_reward_items_catalog", ["tenant_id", "catalog"], unique=False)

    op.create_table(
        "sales_regions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("provinces", sa.Text(), nullable=False),
        sa.Column("cities", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sales_regions_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_regions")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_sales_regions_tenant_id_code")),
    )
    op.create_table(
        "stores",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("region_code", sa.String(length=64), nullable=True),
        sa.Column("distributor_code", sa.String(length=64), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_stores_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_stores_tenant_id_code")),
    )
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stores_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "code_ranges",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("first_serial", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=True),
        sa.Column("distributor_code", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "first_serial >= 1 AND last_serial >= first_serial", name=op.f("ck_code_ranges_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["code_batches.id"],
            name=op.f("fk_code_ranges_batch_id_code_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_code_ranges_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_ranges")),
    )
    with op.batch_alter_table("code_ranges", schema=None) as batch_op:
        batch_op.create_index("ix_code_ranges_batch", ["batch_id", "first_serial"], unique=False)

    op.create_table(
        "order_points",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_status", sa.String(length=32), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_order_points_store_id_stores"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_order_points_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_points")),
        sa.UniqueConstraint("tenant_id", "order_id", name=op.f("uq_order_points_tenant_id_order_id")),
    )
    with op.batch_alter_table("order_points", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_points_store_id"), ["store_id"], unique=False)

    op.create_table(
        "code_redemptions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("scanned_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=True),
        sa.Column("store_reward", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=64), nullable=True),
        sa.Column("province", sa.String(length=32), nullable=True),
        sa.Column("city", sa.String(length=32), nullable=True),
        sa.Column("place_source", sa.String(length=8), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("diverted", sa.Boolean(), nullable=False),
        sa.Column("repeat_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["code_batches.id"],
            name=op.f("fk_code_redemptions_batch_id_code_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_code_redemptions_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_code_redemptions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_redemptions")),
        sa.UniqueConstraint("batch_id", "serial", name=op.f("uq_code_redemptions_batch_id_serial")),
    )
    with op.batch_alter_table("code_redemptions", schema=None) as batch_op:
        batch_op.create_index("ix_code_redemptions_member", ["member_id", "scanned_at"], unique=False)
        batch_op.create_index("ix_code_redemptions_tenant", ["tenant_id", "scanned_at"], unique=False)

    op.create_table(
        "code_repeat_scans",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("province", sa.String(length=32), nullable=True),
        sa.Column("city", sa.String(length=32), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("scanned_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["code_batches.id"],
            name=op.f("fk_code_repeat_scans_batch_id_code_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_code_repeat_scans_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_code_repeat_scans_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_repeat_scans")),
    )
    with op.batch_alter_table("code_repeat_scans", schema=None) as batch_op:
        batch_op.create_index("ix_code_repeat_scans_code", ["batch_id", "serial"], unique=False)
        batch_op.create_index(batch_op.f("ix_code_repeat_scans_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "coupon_claims",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("coupon_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("claimed_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_coupon_claims_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_coupon_claims_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_claims")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_coupon_claims_tenant_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("coupon_claims", schema=None) as batch_op:
        batch_op.create_index("ix_coupon_claims_member", ["member_id", "claimed_at"], unique=False)

    op.create_table(
        "fraud_flags",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("window_key", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_fraud_flags_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_fraud_flags_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_flags")),
        sa.UniqueConstraint(
            "tenant_id",
            "member_id",
            "kind",
            "window_key",
            name=op.f("uq_fraud_flags_tenant_id_member_id_kind_window_key"),
        ),
    )
    with op.batch_alter_table("fraud_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fraud_flags_member_id"), ["member_id"], unique=False)

    op.create_table(
        "member_merges",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("survivor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("merged_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_id"], ["members.id"], name=op.f("fk_member_merges_merged_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"],
            ["members.id"],
            name=op.f("fk_member_merges_survivor_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_member_merges_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_merges")),
    )
    with op.batch_alter_table("member_merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_merges_merged_id"), ["merged_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_merges_survivor_id"), ["survivor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_merges_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "points_accounts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(member_id IS NULL) <> (store_id IS NULL)", name=op.f("ck_points_accounts_one_holder")
        ),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_points_accounts_balance_not_negative")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_points_accounts_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_points_accounts_store_id_stores"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_points_accounts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_accounts")),
        sa.UniqueConstraint(
            "tenant_id", "kind", "member_id", name=op.f("uq_points_accounts_tenant_id_kind_member_id")
        ),
        sa.UniqueConstraint(
            "tenant_id", "kind", "store_id", name=op.f("uq_points_accounts_tenant_id_kind_store_id")
        ),
    )
    with op.batch_alter_table("points_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_points_accounts_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "referrals",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("inviter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("invitee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rewarded_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invitee_id"], ["members.id"], name=op.f("fk_referrals_invitee_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["inviter_id"], ["members.id"], name=op.f("fk_referrals_inviter_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_referrals_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("tenant_id", "invitee_id", name=op.f("uq_referrals_tenant_id_invitee_id")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_inviter_id"), ["inviter_id"], unique=False)

    op.create_table(
        "scan_rejections",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        sa.Column("serial", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_scan_rejections_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scan_rejections_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_rejections")),
    )
    with op.batch_alter_table("scan_rejections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scan_rejections_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_scan_rejections_tenant", ["tenant_id", "created_at"], unique=False)

    op.create_table(
        "diversion_alerts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("redemption_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=64), nullable=False),
        sa.Column("distributor_code", sa.String(length=64), nullable=True),
        sa.Column("store_code", sa.String(length=64), nullable=True),
        sa.Column("found_province", sa.String(length=32), nullable=False),
        sa.Column("found_city", sa.String(length=32), nullable=True),
        sa.Column("place_source", sa.String(length=8), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["code_batches.id"],
            name=op.f("fk_diversion_alerts_batch_id_code_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["code_redemptions.id"],
            name=op.f("fk_diversion_alerts_redemption_id_code_redemptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_diversion_alerts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diversion_alerts")),
        sa.UniqueConstraint("redemption_id", name=op.f("uq_diversion_alerts_redemption_id")),
    )
    with op.batch_alter_table("diversion_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_diversion_alerts_region", ["tenant_id", "region_code", "created_at"], unique=False
        )

    op.create_table(
        "points_ledger",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("origin_account_id", sa.BigInteger(), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("source_kind", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=96), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["points_accounts.id"],
            name=op.f("fk_points_ledger_account_id_points_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_points_ledger_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_ledger")),
        sa.UniqueConstraint(
            "tenant_id",
            "source_kind",
            "source_id",
            name=op.f("uq_points_ledger_tenant_id_source_kind_source_id"),
        ),
    )
    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_points_ledger_account_created", ["account_id", "created_at"], unique=False)

    op.create_table(
        "redemption_orders",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["points_accounts.id"],
            name=op.f("fk_redemption_orders_account_id_points_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["reward_items.id"],
            name=op.f("fk_redemption_orders_item_id_reward_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_redemption_orders_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_redemption_orders_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_orders")),
        sa.UniqueConstraint(
            "tenant_id",
            "account_id",
            "request_key",
            name=op.f("uq_redemption_orders_tenant_id_account_id_request_key"),
        ),
    )
    with op.batch_alter_table("redemption_orders", schema=None) as batch_op:
        batch_op.create_index("ix_redemption_orders_item_account", ["item_id", "account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_redemption_orders_member_id"), ["member_id"], unique=False)

    _alter_members()


def downgrade() -> None:
    _restore_members()

    with op.batch_alter_table("redemption_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_redemption_orders_member_id"))
        batch_op.drop_index("ix_redemption_orders_item_account")

    op.drop_table("redemption_orders")
    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_points_ledger_account_created")

    op.drop_table("points_ledger")
    with op.batch_alter_table("diversion_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_diversion_alerts_region")

    op.drop_table("diversion_alerts")
    with op.batch_alter_table("scan_rejections", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_rejections_tenant")
        batch_op.drop_index(batch_op.f("ix_scan_rejections_member_id"))

    op.drop_table("scan_rejections")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_inviter_id"))

    op.drop_table("referrals")
    with op.batch_alter_table("points_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_points_accounts_tenant_id"))

    op.drop_table("points_accounts")
    with op.batch_alter_table("member_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_merges_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_member_merges_survivor_id"))
        batch_op.drop_index(batch_op.f("ix_member_merges_merged_id"))

    op.drop_table("member_merges")
    with op.batch_alter_table("fraud_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fraud_flags_member_id"))

    op.drop_table("fraud_flags")
    with op.batch_alter_table("coupon_claims", schema=None) as batch_op:
        batch_op.drop_index("ix_coupon_claims_member")

    op.drop_table("coupon_claims")
    with op.batch_alter_table("code_repeat_scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_repeat_scans_tenant_id"))
        batch_op.drop_index("ix_code_repeat_scans_code")

    op.drop_table("code_repeat_scans")
    with op.batch_alter_table("code_redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_code_redemptions_tenant")
        batch_op.drop_index("ix_code_redemptions_member")

    op.drop_table("code_redemptions")
    with op.batch_alter_table("order_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_points_store_id"))

    op.drop_table("order_points")
    with op.batch_alter_table("code_ranges", schema=None) as batch_op:
        batch_op.drop_index("ix_code_ranges_batch")

    op.drop_table("code_ranges")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stores_tenant_id"))

    op.drop_table("stores")
    op.drop_table("sales_regions")
    with op.batch_alter_table("reward_items", schema=None) as batch_op:
        batch_op.drop_index("ix_reward_items_catalog")

    op.drop_table("reward_items")
    op.drop_table("points_rules")
    with op.batch_alter_table("points_campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_points_campaigns_window")

    op.drop_table("points_campaigns")
    op.drop_table("loyalty_configs")
    with op.batch_alter_table("code_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_batches_tenant_id"))

    op.drop_table("code_batches")
