"""Points accounts and the append-only ledger (ARCHITECTURE.md mechanism 6), rules and config."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow

CONSUMPTION = "consumption"  # 消费积分, consumers, from bottle scans
ORDERING = "ordering"  # 订货积分, stores, from their orders and bottles opened
KINDS = (CONSUMPTION, ORDERING)


class PointsAccount(Base):
    """One balance per holder and kind; the holder is a member or a store, never both.

    ``balance`` only changes by a conditional ``UPDATE ... SET balance = balance + :d`` in the
    same transaction as its ledger row; the CHECK makes a negative balance impossible even for
    a buggy caller.
    """

    __tablename__ = "points_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "member_id"),
        UniqueConstraint("tenant_id", "kind", "store_id"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("(member_id IS NULL) <> (store_id IS NULL)", name="one_holder"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), default=None)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), default=None)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    # "open", or "merged" once its member was folded into another (no more postings).
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointsLedger(Base):
    """An immutable posting. (tenant, source_kind, source_id) is what caused it, so a retried or
    concurrent cause posts once. A merge re-points ``account_id``; ``origin_account_id`` keeps
    where the row was first posted."""

    __tablename__ = "points_ledger"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source_kind", "source_id"),
        Index("ix_points_ledger_account_created", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id", ondelete="CASCADE"))
    origin_account_id: Mapped[int] = mapped_column(BigInteger)
    delta: Mapped[int] = mapped_column(BigInteger)
    # earn (counts for tiers and freshness), reverse (takes an earning back), spend, refund, expire
    category: Mapped[str] = mapped_column(String(16))
    source_kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(96))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderPoints(Base):
    """Where a store order stands for points: the row the order-status webhooks serialise on."""

    __tablename__ = "order_points"
    __table_args__ = (UniqueConstraint("tenant_id", "order_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(64))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    # new (seen, nothing posted), credited, reversed, void (cancelled before it was credited)
    state: Mapped[str] = mapped_column(String(16), default="new")
    last_status: Mapped[str] = mapped_column(String(32), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointsRule(Base):
    """Points per scanned bottle of a SKU, and the store's 开瓶奖励 for it."""

    __tablename__ = "points_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "sku"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64))
    scan_points: Mapped[int] = mapped_column(Integer)
    store_reward: Mapped[int] = mapped_column(Integer, default=0)


class PointsCampaign(Base):
    """A time-boxed multiplier (percent) on scan points, for a SKU and/or region or all."""

    __tablename__ = "points_campaigns"
    __table_args__ = (
        CheckConstraint("multiplier_pct > 0", name="multiplier_positive"),
        Index("ix_points_campaigns_window", "tenant_id", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    sku: Mapped[str | None] = mapped_column(String(64), default=None)
    region_code: Mapped[str | None] = mapped_column(String(64), default=None)
    multiplier_pct: Mapped[int] = mapped_column(Integer, default=100)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoyaltyConfigRow(Base):
    """A tenant's loyalty knobs as JSON (see ``loyalty_config.LoyaltyConfig`` for the fields)."""

    __tablename__ = "loyalty_configs"

    tenant_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    data: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
