"""Coupon campaigns, per-holder counters and claims."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reference_core.db import Base, BigIntPK, UTCDateTime, utcnow


class CouponCampaign(Base):
    __tablename__ = "core_coupon_campaigns"
    __table_args__ = (
        CheckConstraint("remaining >= 0", name="remaining_nonneg"),
        CheckConstraint("remaining <= total_stock", name="remaining_le_total"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # amount_off | percent_off
    amount_off_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    percent_off: Mapped[int] = mapped_column(Integer, default=0)
    max_discount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    threshold_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    audience: Mapped[str] = mapped_column(String(16))  # stores | consumers
    audience_filter: Mapped[dict] = mapped_column(JSON, default=dict)  # region_ids, tiers (stores)
    scope: Mapped[dict] = mapped_column(JSON, default=dict)  # skus, categories
    claim_starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claim_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # a claimed coupon is valid for ``valid_days`` after the claim, but never past ``valid_until``
    valid_days: Mapped[int] = mapped_column(Integer)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    total_stock: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    per_holder_limit: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CouponHolder(Base):
    """How many coupons of a campaign a holder has claimed (a conditional update caps it)."""

    __tablename__ = "core_coupon_holders"
    __table_args__ = (CheckConstraint("claimed >= 0", name="claimed_nonneg"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("core_coupon_campaigns.id"), primary_key=True)
    holder_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    holder_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    claimed: Mapped[int] = mapped_column(Integer, default=0)


class CouponClaim(Base):
    __tablename__ = "core_coupon_claims"
    __table_args__ = (
        # the n-th coupon of a holder exists once: a second guard behind the holder counter
        UniqueConstraint("campaign_id", "holder_type", "holder_id", "seq"),
        Index("ix_core_coupon_claims_holder", "tenant_id", "holder_type", "holder_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("core_coupon_campaigns.id"))
    holder_type: Mapped[str] = mapped_column(String(16))
    holder_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="available")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    order_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    redeemed_store_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
