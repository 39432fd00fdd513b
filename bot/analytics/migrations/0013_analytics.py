"""analytics: behaviour events (monthly partitions on PostgreSQL), daily rollups, slow-moving
alerts, weekly reports and their deliveries

Revision ID: 0013
Revises: 0001
Create Date: 2026-12-06
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import bot.db
from bot.analytics import partitions

revision = "0013"
down_revision = "0001"
branch_labels = ("analytics",)
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "analytics_events",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=96), nullable=False),
        sa.Column("occurred_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("store_id", sa.BigInteger(), nullable=True),
        sa.Column("region_code", sa.String(length=64), nullable=False),
        sa.Column("distributor_code", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=24), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("dwell_ms", sa.Integer(), nullable=False),
        sa.Column("props", sa.Text(), nullable=False),
        sa.Column("received_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "event_id", "occurred_at", name=op.f("pk_analytics_events")),
        postgresql_partition_by="RANGE (occurred_at)",
    )
    op.create_index(
        "ix_analytics_events_tenant_name_time", "analytics_events", ["tenant_id", "name", "occurred_at"]
    )
    op.create_index("ix_analytics_events_member_time", "analytics_events", ["member_id", "occurred_at"])
    if postgres:
        connection = op.get_bind()
        for statement in partitions.default_statements():
            op.execute(statement)
        today = datetime.now(UTC).date()
        partitions.ensure_months(connection, partitions.add_months(today, -2), 6)

    op.create_table(
        "analytics_daily",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=64), nullable=False),
        sa.Column("distributor_code", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("dwell_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "day",
            "name",
            "region_code",
            "distributor_code",
            "store_id",
            "sku",
            name=op.f("pk_analytics_daily"),
        ),
    )
    op.create_table(
        "analytics_rollup_runs",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("finished_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", name=op.f("pk_analytics_rollup_runs")),
    )
    op.create_table(
        "analytics_cursors",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_analytics_cursors")),
    )
    op.create_table(
        "analytics_slow_moving",
        sa.Column("id", bot.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("tenant_id", bot.db.BigIntPK, nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("ordered", sa.Integer(), nullable=False),
        sa.Column("scanned", sa.Integer(), nullable=False),
        sa.Column("last_ordered_on", sa.Date(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_slow_moving_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_slow_moving")),
        sa.UniqueConstraint(
            "tenant_id",
            "store_id",
            "sku",
            "week",
            name=op.f("uq_analytics_slow_moving_tenant_id_store_id_sku_week"),
        ),
    )
    op.create_index("ix_analytics_slow_moving_tenant_id", "analytics_slow_moving", ["tenant_id"])
    op.create_table(
        "analytics_reports",
        sa.Column("id", bot.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("tenant_id", bot.db.BigIntPK, nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_code", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=48), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("html_path", sa.String(length=300), nullable=False),
        sa.Column("pdf_path", sa.String(length=300), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_reports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_reports")),
        sa.UniqueConstraint(
            "tenant_id",
            "week",
            "scope",
            "scope_code",
            name=op.f("uq_analytics_reports_tenant_id_week_scope_scope_code"),
        ),
        sa.UniqueConstraint("token", name=op.f("uq_analytics_reports_token")),
    )
    op.create_index("ix_analytics_reports_tenant_id", "analytics_reports", ["tenant_id"])
    op.create_table(
        "analytics_report_deliveries",
        sa.Column("id", bot.db.BigIntPK, autoincrement=True, nullable=False),
        sa.Column("tenant_id", bot.db.BigIntPK, nullable=False),
        sa.Column("report_id", bot.db.BigIntPK, nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_analytics_report_deliveries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["analytics_reports.id"],
            name=op.f("fk_analytics_report_deliveries_report_id_analytics_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_report_deliveries")),
        sa.UniqueConstraint(
            "report_id", "member_id", name=op.f("uq_analytics_report_deliveries_report_id_member_id")
        ),
    )
    op.create_index("ix_analytics_report_deliveries_tenant_id", "analytics_report_deliveries", ["tenant_id"])


def downgrade() -> None:
    for table in (
        "analytics_report_deliveries",
        "analytics_reports",
        "analytics_slow_moving",
        "analytics_cursors",
        "analytics_rollup_runs",
        "analytics_daily",
        "analytics_events",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP SCHEMA IF EXISTS {partitions.SCHEMA} CASCADE")
