"""content: the library, share tokens, views, attribution credits, livestreams

Revision ID: 0012
Revises: 0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from bot.db import UTCDateTime

revision = "0012"
down_revision = "0001"
branch_labels = ("content",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_items",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("image_key", sa.String(length=128), nullable=False),
        sa.Column("video_key", sa.String(length=128), nullable=False),
        sa.Column("channels_url", sa.String(length=255), nullable=False),
        sa.Column("product_sku", sa.String(length=64), nullable=False),
        sa.Column("tags", sa.String(length=255), nullable=False),
        sa.Column("regions", sa.String(length=255), nullable=False),
        sa.Column("roles", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("publish_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("expire_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_content_items_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_items")),
    )
    op.create_index(
        "ix_content_items_state", "content_items", ["tenant_id", "state", "publish_at"], unique=False
    )
    op.create_table(
        "content_lives",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=32), nullable=False),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("room", sa.String(length=128), nullable=False),
        sa.Column("products", sa.String(length=255), nullable=False),
        sa.Column("audience", sa.String(length=128), nullable=False),
        sa.Column("replay_url", sa.String(length=255), nullable=False),
        sa.Column("order_hours", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_content_lives_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_lives")),
    )
    op.create_table(
        "content_live_deliveries",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("live_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["live_id"],
            ["content_lives.id"],
            name=op.f("fk_content_live_deliveries_live_id_content_lives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_content_live_deliveries_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_content_live_deliveries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_live_deliveries")),
        sa.UniqueConstraint(
            "live_id", "member_id", "kind", name=op.f("uq_content_live_deliveries_live_id_member_id_kind")
        ),
    )
    op.create_index(
        op.f("ix_content_live_deliveries_live_id"), "content_live_deliveries", ["live_id"], unique=False
    )
    op.create_table(
        "content_live_reservations",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("live_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("inviter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inviter_id"],
            ["members.id"],
            name=op.f("fk_content_live_reservations_inviter_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["live_id"],
            ["content_lives.id"],
            name=op.f("fk_content_live_reservations_live_id_content_lives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_content_live_reservations_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_content_live_reservations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_live_reservations")),
        sa.UniqueConstraint(
            "live_id", "member_id", name=op.f("uq_content_live_reservations_live_id_member_id")
        ),
    )
    op.create_index(
        op.f("ix_content_live_reservations_live_id"), "content_live_reservations", ["live_id"], unique=False
    )
    op.create_table(
        "content_shares",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("forwarder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["forwarder_id"],
            ["members.id"],
            name=op.f("fk_content_shares_forwarder_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["content_items.id"],
            name=op.f("fk_content_shares_item_id_content_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["content_shares.id"],
            name=op.f("fk_content_shares_parent_id_content_shares"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_content_shares_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_shares")),
        sa.UniqueConstraint("code", name=op.f("uq_content_shares_code")),
        sa.UniqueConstraint(
            "tenant_id",
            "item_id",
            "forwarder_id",
            name=op.f("uq_content_shares_tenant_id_item_id_forwarder_id"),
        ),
    )
    op.create_index(op.f("ix_content_shares_forwarder_id"), "content_shares", ["forwarder_id"], unique=False)
    op.create_index(op.f("ix_content_shares_item_id"), "content_shares", ["item_id"], unique=False)
    op.create_table(
        "content_credits",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("share_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("item_id", sa.BigInteger(), nullable=True),
        sa.Column("live_id", sa.BigInteger(), nullable=True),
        sa.Column("forwarder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("viewer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("happened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["forwarder_id"],
            ["members.id"],
            name=op.f("fk_content_credits_forwarder_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["share_id"],
            ["content_shares.id"],
            name=op.f("fk_content_credits_share_id_content_shares"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_content_credits_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["viewer_id"],
            ["members.id"],
            name=op.f("fk_content_credits_viewer_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_credits")),
        sa.UniqueConstraint(
            "tenant_id", "kind", "subject", name=op.f("uq_content_credits_tenant_id_kind_subject")
        ),
    )
    op.create_index(
        "ix_content_credits_forwarder", "content_credits", ["tenant_id", "forwarder_id"], unique=False
    )
    op.create_table(
        "content_daily_viewers",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("share_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("viewer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["share_id"],
            ["content_shares.id"],
            name=op.f("fk_content_daily_viewers_share_id_content_shares"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_content_daily_viewers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["viewer_id"],
            ["members.id"],
            name=op.f("fk_content_daily_viewers_viewer_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_daily_viewers")),
        sa.UniqueConstraint(
            "share_id", "viewer_id", "day", name=op.f("uq_content_daily_viewers_share_id_viewer_id_day")
        ),
    )
    op.create_table(
        "content_touches",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("share_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("viewer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("forwarder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("first_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["forwarder_id"],
            ["members.id"],
            name=op.f("fk_content_touches_forwarder_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["share_id"],
            ["content_shares.id"],
            name=op.f("fk_content_touches_share_id_content_shares"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_content_touches_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["viewer_id"],
            ["members.id"],
            name=op.f("fk_content_touches_viewer_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_touches")),
        sa.UniqueConstraint("share_id", "viewer_id", name=op.f("uq_content_touches_share_id_viewer_id")),
    )
    op.create_index(
        "ix_content_touches_viewer", "content_touches", ["tenant_id", "viewer_id", "first_at"], unique=False
    )
    op.create_table(
        "content_views",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("share_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("viewer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_seconds", sa.Integer(), nullable=False),
        sa.Column("read_valid", sa.Boolean(), nullable=False),
        sa.Column("notified", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["share_id"],
            ["content_shares.id"],
            name=op.f("fk_content_views_share_id_content_shares"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_content_views_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["viewer_id"], ["members.id"], name=op.f("fk_content_views_viewer_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_views")),
    )
    op.create_index("ix_content_views_share", "content_views", ["share_id", "opened_at"], unique=False)


def downgrade() -> None:
    op.drop_table("content_views")
    op.drop_table("content_touches")
    op.drop_table("content_daily_viewers")
    op.drop_table("content_credits")
    op.drop_table("content_shares")
    op.drop_table("content_live_reservations")
    op.drop_table("content_live_deliveries")
    op.drop_table("content_lives")
    op.drop_table("content_items")
