"""Analytics tables.

``analytics_events`` is declared here as one table; on PostgreSQL the migration makes it a
range-partitioned table by month on ``occurred_at`` (partitions live in the ``analytics_parts``
schema and are created ahead by a job). Its key is natural, ``(tenant_id, event_id,
occurred_at)``: the event id is the client's id (prefixed by the member) or the server-side
cause, so an event delivered twice is stored once, and the partition key is part of it as
PostgreSQL requires. Rows hold member ids, never an openid or a phone number.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow


class AnalyticsEvent(Base):
    __tablename__ = "analytics_events"
    __table_args__ = (
        Index("ix_analytics_events_tenant_name_time", "tenant_id", "name", "occurred_at"),
        Index("ix_analytics_events_member_time", "member_id", "occurred_at"),
    )

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(96), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(8))  # mp | server
    member_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    store_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    region_code: Mapped[str] = mapped_column(String(64), default="")
    distributor_code: Mapped[str] = mapped_column(String(64), default="")
    tier: Mapped[str] = mapped_column(String(24), default="")
    sku: Mapped[str] = mapped_column(String(64), default="")
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    dwell_ms: Mapped[int] = mapped_column(Integer, default=0)
    props: Mapped[str] = mapped_column(Text, default="{}")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DailyRollup(Base):
    """One day's counts of one event name at the finest grain (tenant, region, distributor,
    store, SKU). Coarser views sum these; ``members`` is exact only at this grain."""

    __tablename__ = "analytics_daily"

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    distributor_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    members: Mapped[int] = mapped_column(BigInteger, default=0)
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    dwell_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class RollupRun(Base):
    """When each tenant-day was last rolled up (the report says how fresh its figures are)."""

    __tablename__ = "analytics_rollup_runs"

    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SourceCursor(Base):
    """How far the server-side emitter has read each source table (scans, orders ...)."""

    __tablename__ = "analytics_cursors"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlowMovingAlert(Base):
    """A store's SKU ordered but not scanned for N weeks, raised once per (store, SKU, week)."""

    __tablename__ = "analytics_slow_moving"
    __table_args__ = (UniqueConstraint("tenant_id", "store_id", "sku", "week"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[int] = mapped_column(BigInteger)
    sku: Mapped[str] = mapped_column(String(64))
    week: Mapped[str] = mapped_column(String(8))  # ISO week, 2026-W49
    ordered: Mapped[int] = mapped_column(Integer)
    scanned: Mapped[int] = mapped_column(Integer)
    last_ordered_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WeeklyReport(Base):
    """An archived weekly report: its figures as JSON and where its HTML and PDF are stored."""

    __tablename__ = "analytics_reports"
    __table_args__ = (UniqueConstraint("tenant_id", "week", "scope", "scope_code"), UniqueConstraint("token"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    week: Mapped[str] = mapped_column(String(8))
    scope: Mapped[str] = mapped_column(String(16))  # tenant | region | distributor
    scope_code: Mapped[str] = mapped_column(String(64), default="")
    token: Mapped[str] = mapped_column(String(48))  # the unguessable part of the H5 link
    figures: Mapped[str] = mapped_column(Text)
    html_path: Mapped[str] = mapped_column(String(300), default="")
    pdf_path: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportDelivery(Base):
    """One push of one report to one recipient: sent, or why it could not be."""

    __tablename__ = "analytics_report_deliveries"
    __table_args__ = (UniqueConstraint("report_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("analytics_reports.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16))  # sent | unreachable
    reason: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # the link stops working
