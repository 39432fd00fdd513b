"""Promotions (满减, 满赠, limited-time discount, 秒杀, 拼单, descending-price auction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reference_core.db import Base, BigIntPK, UTCDateTime, utcnow


class Promotion(Base):
    __tablename__ = "core_promotions"
    __table_args__ = (CheckConstraint("stock_remaining >= 0", name="stock_nonneg"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # kind-specific rules (tiers, prices...), validated by the API schemas before they get here
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    # which products: {"skus": [...], "categories": [...]}; empty lists mean everything
    scope: Mapped[dict] = mapped_column(JSON, default=dict)
    # which stores: {"region_ids": [...], "tiers": [...]}; empty lists mean every store
    audience: Mapped[dict] = mapped_column(JSON, default=dict)
    stackable: Mapped[bool] = mapped_column(Boolean, default=True)
    # limited stock in bottles (flash sale, auction lot); NULL = unlimited
    stock_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    stock_remaining: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    per_store_limit: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # group orders: set once when the group is closed ("succeeded" / "failed")
    outcome: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PromotionUsage(Base):
    """Bottles a store has bought under a promotion; the per-store limit is a conditional update."""

    __tablename__ = "core_promotion_usage"

    promotion_id: Mapped[int] = mapped_column(ForeignKey("core_promotions.id"), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("core_stores.id"), primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger, default=0)


class GroupParticipant(Base):
    __tablename__ = "core_group_participants"
    __table_args__ = (UniqueConstraint("promotion_id", "store_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("core_promotions.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("core_stores.id"))
    bottles: Mapped[int] = mapped_column(BigInteger)
    # joined -> ordered (group reached its minimum, order created) | failed (group too small, or the
    # order could not be placed: ``note`` says why)
    status: Mapped[str] = mapped_column(String(16), default="joined")
    order_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
