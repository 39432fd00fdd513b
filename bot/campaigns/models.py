"""Tables of the regional feature (migration 0014, branch ``regional``): store referrals and
regional storefronts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow


class StoreReferral(Base):
    """B-side referral (客户推荐奖励): a store member or distributor staff (the referrer) brought a
    new store member (the referee), whose store is rewarded, with the referrer, once its first
    order is delivered.

    state: ``pending`` (scanned, waiting for the referee's store and its first order),
    ``rewarded``, ``lapsed`` (the first order was cancelled), ``refused`` (the store turned out to
    be the referrer's own). Member and store ids have no foreign keys: those tables belong to
    other migration branches.
    """

    __tablename__ = "regional_store_referrals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "referee_member_id"),  # one referrer per new member
        UniqueConstraint("tenant_id", "referee_store_id"),  # a store is rewarded once
        Index("ix_regional_store_referrals_state", "tenant_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    referrer_member_id: Mapped[int] = mapped_column(BigInteger, index=True)
    referrer_store_id: Mapped[int | None] = mapped_column(BigInteger, default=None)  # None: a distributor
    referee_member_id: Mapped[int] = mapped_column(BigInteger)
    referee_store_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    first_order_id: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Storefront(Base):
    """One published version of a region's mini-program home (页面装修): the newest version of a
    region is live (publishing is inserting the next version); ``region_code`` "*" is the
    tenant's default for regions without their own."""

    __tablename__ = "regional_storefronts"
    __table_args__ = (UniqueConstraint("tenant_id", "region_code", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(BigInteger)
    layout: Mapped[str] = mapped_column(Text)  # JSON, validated by storefront.check_layout
    published_by: Mapped[int | None] = mapped_column(BigInteger, default=None)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
