"""Members, identities, stores and the audit of merges.

The loyalty tables live in sibling modules (``ledger_models``, ``code_models``,
``reward_models``); they are imported at the bottom so ``bot.models`` sees every table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow

ROLES = ("consumer", "store_owner", "store_staff", "distributor_staff", "operator")

PHONE_TAIL_SQL = "substr(phone, length(phone) - 3, 4)"


class Member(Base):
    """One person (or store account holder) of a tenant, across every app they use."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "unionid"),
        UniqueConstraint("tenant_id", "phone"),
        # the console's lookups (migration 0024): search by phone tail, today's new members, a
        # store's people
        Index("ix_members_phone_tail", "tenant_id", "phone_tail"),
        Index("ix_members_created", "tenant_id", "created_at"),
        Index("ix_members_store", "store_id"),
        Index("ix_members_distributor", "tenant_id", "distributor_code"),
        Index("ix_members_region", "tenant_id", "region_code"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(24), default="consumer")
    unionid: Mapped[str | None] = mapped_column(String(64), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # --- membership branch (0006) ---
    phone_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The store a store_owner / store_staff works for, the distributor or region of staff.
    # No foreign key: adding one to ``members`` on SQLite means rebuilding the table, and that
    # rebuild cascade-deletes identities (see migration 0006). Stores are never deleted.
    store_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    distributor_code: Mapped[str | None] = mapped_column(String(64), default=None)
    region_code: Mapped[str | None] = mapped_column(String(64), default=None)
    tier: Mapped[str] = mapped_column(String(24), default="basic", server_default="basic")
    tier_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Alcohol marketing: consumer features need a confirmed adult; pushes can be refused.
    age_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    push_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The phone's last four digits, computed by the database on every write (no writer can forget
    # it): the console's 手机尾号 search is an index lookup, not ``LIKE '%1234'`` over every row.
    phone_tail: Mapped[str | None] = mapped_column(String(4), Computed(PHONE_TAIL_SQL), default=None)


class MemberIdentity(Base):
    """An (appid, openid) pair: how WeChat names the member inside one app."""

    __tablename__ = "member_identities"
    __table_args__ = (
        UniqueConstraint("appid", "openid"),
        Index("ix_member_identities_unionid", "tenant_id", "unionid"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    appid: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str] = mapped_column(String(64))
    unionid: Mapped[str | None] = mapped_column(String(64), default=None)
    following: Mapped[bool] = mapped_column(Boolean, default=False)
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    subscribe_scene: Mapped[str | None] = mapped_column(String(128), default=None)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    location_precision: Mapped[float | None] = mapped_column(Float, default=None)
    location_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Store(Base):
    """A store (门店) as the core ordering system names it; owns the ordering-points account."""

    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128), default="")
    region_code: Mapped[str | None] = mapped_column(String(64), default=None)
    distributor_code: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MemberMerge(Base):
    """Audit of a merge: who survived, who was folded in, why, and what moved."""

    __tablename__ = "member_merges"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The loyalty tables (imported for their side effect on Base.metadata, and re-exported).
from bot.membership.code_models import (  # noqa: E402
    CodeBatch,
    CodeRange,
    CodeRedemption,
    CodeRepeatScan,
    DiversionAlert,
    FraudFlag,
    SalesRegion,
    ScanRejection,
)
from bot.membership.ledger_models import (  # noqa: E402
    LoyaltyConfigRow,
    OrderPoints,
    PointsAccount,
    PointsCampaign,
    PointsLedger,
    PointsRule,
)
from bot.membership.reward_models import (  # noqa: E402
    CouponClaim,
    RedemptionOrder,
    Referral,
    RewardItem,
)

__all__ = [
    "ROLES",
    "CodeBatch",
    "CodeRange",
    "CodeRedemption",
    "CodeRepeatScan",
    "CouponClaim",
    "DiversionAlert",
    "FraudFlag",
    "LoyaltyConfigRow",
    "Member",
    "MemberIdentity",
    "MemberMerge",
    "OrderPoints",
    "PointsAccount",
    "PointsCampaign",
    "PointsLedger",
    "PointsRule",
    "RedemptionOrder",
    "Referral",
    "RewardItem",
    "SalesRegion",
    "ScanRejection",
    "Store",
]
