"""Bottle-code batches, range events, redemptions and what fraud control keeps for review.

A batch of a million codes is one ``code_batches`` row: codes are computed from (batch, serial)
and verified by HMAC, activation and voiding are range rows, and a code gets its own row only
when it is first redeemed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow


class SalesRegion(Base):
    """A marketing region (营销中心 area) as a set of provinces and/or cities."""

    __tablename__ = "sales_regions"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    provinces: Mapped[str] = mapped_column(Text, default="")  # comma-separated names
    cities: Mapped[str] = mapped_column(Text, default="")


class CodeBatch(Base):
    __tablename__ = "code_batches"
    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    brand: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    product_name: Mapped[str] = mapped_column(String(128))
    region_code: Mapped[str | None] = mapped_column(String(64), default=None)
    distributor_code: Mapped[str | None] = mapped_column(String(64), default=None)
    size: Mapped[int] = mapped_column(Integer)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodeRange(Base):
    """An activation (shipped) or void over serials [first, last]; the newest covering row wins."""

    __tablename__ = "code_ranges"
    __table_args__ = (
        CheckConstraint("first_serial >= 1 AND last_serial >= first_serial", name="ordered"),
        Index("ix_code_ranges_batch", "batch_id", "first_serial"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("code_batches.id", ondelete="CASCADE"))
    first_serial: Mapped[int] = mapped_column(Integer)
    last_serial: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # activate | void
    store_code: Mapped[str | None] = mapped_column(String(64), default=None)
    distributor_code: Mapped[str | None] = mapped_column(String(64), default=None)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodeRedemption(Base):
    """The first (and only crediting) scan of a code. UNIQUE (batch, serial) is exactly-once."""

    __tablename__ = "code_redemptions"
    __table_args__ = (
        UniqueConstraint("batch_id", "serial"),
        Index("ix_code_redemptions_member", "member_id", "scanned_at"),
        Index("ix_code_redemptions_tenant", "tenant_id", "scanned_at"),
        # a region's or a store's scans of a day (the console's dashboard, migration 0024)
        Index("ix_code_redemptions_region", "tenant_id", "region_code", "scanned_at"),
        Index("ix_code_redemptions_store", "tenant_id", "store_code", "scanned_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("code_batches.id", ondelete="CASCADE"))
    serial: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))  # mp | h5 | oa
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    points: Mapped[int] = mapped_column(Integer, default=0)
    store_code: Mapped[str | None] = mapped_column(String(64), default=None)
    store_reward: Mapped[int] = mapped_column(Integer, default=0)
    region_code: Mapped[str | None] = mapped_column(String(64), default=None)  # the batch's, for patterns
    province: Mapped[str | None] = mapped_column(String(32), default=None)
    city: Mapped[str | None] = mapped_column(String(32), default=None)
    place_source: Mapped[str | None] = mapped_column(String(8), default=None)  # gps | mp | ip
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    diverted: Mapped[bool] = mapped_column(Boolean, default=False)
    repeat_count: Mapped[int] = mapped_column(Integer, default=0)


class CodeRepeatScan(Base):
    """A later scan of an already redeemed code by someone else: a counterfeit/refill signal."""

    __tablename__ = "code_repeat_scans"
    __table_args__ = (Index("ix_code_repeat_scans_code", "batch_id", "serial"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("code_batches.id", ondelete="CASCADE"))
    serial: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(8))
    province: Mapped[str | None] = mapped_column(String(32), default=None)
    city: Mapped[str | None] = mapped_column(String(32), default=None)
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScanRejection(Base):
    """A scan of a genuine code that was refused (cap, velocity, void ...), kept for review.
    Forged codes never reach the database; they go to a capped Redis stream instead."""

    __tablename__ = "scan_rejections"
    __table_args__ = (Index("ix_scan_rejections_tenant", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    batch_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    serial: Mapped[int | None] = mapped_column(Integer, default=None)
    reason: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    device: Mapped[str | None] = mapped_column(String(64), default=None)
    detail: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DiversionAlert(Base):
    """窜货: a bottle scanned outside the region its batch was shipped to."""

    __tablename__ = "diversion_alerts"
    __table_args__ = (
        UniqueConstraint("redemption_id"),
        Index("ix_diversion_alerts_region", "tenant_id", "region_code", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    redemption_id: Mapped[int] = mapped_column(ForeignKey("code_redemptions.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("code_batches.id", ondelete="CASCADE"))
    serial: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(64))  # the region the batch was shipped to
    distributor_code: Mapped[str | None] = mapped_column(String(64), default=None)
    store_code: Mapped[str | None] = mapped_column(String(64), default=None)
    found_province: Mapped[str] = mapped_column(String(32))
    found_city: Mapped[str | None] = mapped_column(String(32), default=None)
    place_source: Mapped[str] = mapped_column(String(8))
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FraudFlag(Base):
    """A suspicious pattern, once per member, kind and window (the unique key)."""

    __tablename__ = "fraud_flags"
    __table_args__ = (UniqueConstraint("tenant_id", "member_id", "kind", "window_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    window_key: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
