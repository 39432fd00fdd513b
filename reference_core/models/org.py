"""Organisation: tenants and their keys, regions (marketing centres), distributors, stores."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from reference_core.db import Base, BigIntPK, UTCDateTime, utcnow


class Tenant(Base):
    __tablename__ = "core_tenants"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    webhook_url: Mapped[str] = mapped_column(String(500), default="")
    webhook_secret: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """Keys are stored as SHA-256 hashes; ``seed_key`` keeps the plaintext of demo keys made by seed."""

    __tablename__ = "core_api_keys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    seed_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Region(Base):
    __tablename__ = "core_regions"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))


class Distributor(Base):
    __tablename__ = "core_distributors"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    region_id: Mapped[int] = mapped_column(ForeignKey("core_regions.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    city: Mapped[str] = mapped_column(String(64), default="")


class Store(Base):
    __tablename__ = "core_stores"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index("ix_core_stores_owner_phone", "tenant_id", "owner_phone"),
        CheckConstraint("credit_used_fen >= 0", name="credit_used_nonneg"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="tobacco_liquor")
    region_id: Mapped[int] = mapped_column(ForeignKey("core_regions.id"))
    distributor_id: Mapped[int] = mapped_column(ForeignKey("core_distributors.id"))
    owner_name: Mapped[str] = mapped_column(String(100), default="")
    owner_phone: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(16), default="potential")
    credit_limit_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_used_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CreditOverdue(Base):
    """What the store owes past its terms (逾期), as the brand's finance keeps it; no row = none."""

    __tablename__ = "core_credit_overdue"

    store_id: Mapped[int] = mapped_column(ForeignKey("core_stores.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    overdue_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CreditRule(Base):
    """The tenant's credit rule: refuse new orders while a store has anything overdue."""

    __tablename__ = "core_credit_rules"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"), primary_key=True)
    refuse_when_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
