"""Tables of the automation domain (migration 0011, branch "automation").

Every side effect has a unique key: an order fact per (tenant, core order), a profile per
(tenant, subject), an enrolment per (tenant, journey, subject, cycle), a step run per
(enrolment, step), a marketing send per (tenant, key), a campaign recipient per (campaign, member).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow


class OrderFact(Base):
    """A store's order as the core reported it (webhook or history backfill)."""

    __tablename__ = "auto_order_facts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "core_order_id"),
        Index("ix_auto_order_facts_store", "tenant_id", "store_code", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    core_order_id: Mapped[int] = mapped_column(BigInteger)
    core_store_id: Mapped[int] = mapped_column(BigInteger)
    store_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    coupon_discount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # JSON list of {"sku", "quantity", "amount_fen"}; "[]" when only the webhook was seen
    lines: Mapped[str] = mapped_column(Text, default="[]")
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SkuFact(Base):
    """What the catalog says of a SKU (brand, aroma, category), for affinities."""

    __tablename__ = "auto_sku_facts"
    __table_args__ = (UniqueConstraint("tenant_id", "sku"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128), default="")
    brand: Mapped[str] = mapped_column(String(64), default="")
    aroma: Mapped[str] = mapped_column(String(32), default="")
    category: Mapped[str] = mapped_column(String(32), default="")


class Profile(Base):
    """The latest computed profile of a store ("store:S0001") or consumer ("member:42")."""

    __tablename__ = "auto_profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "subject"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))  # store | consumer
    member_id: Mapped[int | None] = mapped_column(BigInteger, default=None)  # who hears from us
    region_code: Mapped[str | None] = mapped_column(String(64), default=None)
    recency_days: Mapped[int | None] = mapped_column(Integer, default=None)
    frequency: Mapped[int] = mapped_column(Integer, default=0)
    monetary_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    rfm: Mapped[str] = mapped_column(String(8), default="")  # e.g. "545"
    lifecycle: Mapped[str] = mapped_column(String(16), default="new")
    top_aroma: Mapped[str] = mapped_column(String(32), default="")
    top_brand: Mapped[str] = mapped_column(String(64), default="")
    affinity: Mapped[str] = mapped_column(Text, default="{}")  # JSON {"aroma": {...}, "brand": {...}}
    tier: Mapped[str] = mapped_column(String(16), default="")
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TierRuleSet(Base):
    """Tier rules of a tenant (region_code "" = the tenant's default), as YAML."""

    __tablename__ = "auto_tier_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "region_code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    region_code: Mapped[str] = mapped_column(String(64), default="")
    rules: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TierChange(Base):
    __tablename__ = "auto_tier_changes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "store_code", "changed_at"),
        Index("ix_auto_tier_changes_store", "tenant_id", "store_code"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    store_code: Mapped[str] = mapped_column(String(64))
    from_tier: Mapped[str] = mapped_column(String(16))
    to_tier: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JourneyVersion(Base):
    """A journey definition (YAML) as loaded; the highest active version of a name runs."""

    __tablename__ = "auto_journeys"
    __table_args__ = (UniqueConstraint("tenant_id", "name", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Enrolment(Base):
    """A subject in a journey: which arm, where it stands, when it is next due."""

    __tablename__ = "auto_enrolments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "journey", "subject", "cycle"),
        Index("ix_auto_enrolments_due", "state", "due_at"),
        Index("ix_auto_enrolments_subject", "tenant_id", "subject"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    journey: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(80))
    member_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    arm: Mapped[str] = mapped_column(String(12))  # treatment | control | holdout
    state: Mapped[str] = mapped_column(String(12), default="active")  # active | exited | completed
    step: Mapped[str] = mapped_column(String(64), default="")  # the next step's id ("" = none left)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    goal_until: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    exit_reason: Mapped[str] = mapped_column(String(32), default="")
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revenue_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    coupon_cost_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class StepRun(Base):
    """One step of one enrolment; inserted before its side effect, so it happens once."""

    __tablename__ = "auto_step_runs"
    __table_args__ = (UniqueConstraint("enrolment_id", "step"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("auto_enrolments.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    # started | held | done | unreachable | suppressed | failed
    status: Mapped[str] = mapped_column(String(16), default="started")
    variant: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class MarketingSend(Base):
    """One marketing message counted against a member's frequency cap (any journey, campaign or
    channel); the key is the message's idempotency key."""

    __tablename__ = "auto_marketing_sends"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        Index("ix_auto_marketing_sends_member", "tenant_id", "member_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(160))
    source: Mapped[str] = mapped_column(String(80))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubjectTag(Base):
    __tablename__ = "auto_tags"
    __table_args__ = (UniqueConstraint("tenant_id", "subject", "tag"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(80))
    tag: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Campaign(Base):
    """A one-off marketing send to a materialised list of recipients."""

    __tablename__ = "auto_campaigns"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignRecipient(Base):
    __tablename__ = "auto_campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id"),
        Index("ix_auto_campaign_recipients_todo", "campaign_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("auto_campaigns.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(BigInteger)
    appid: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str] = mapped_column(String(64))
    # pending | claimed | sent | unreachable | suppressed | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(String(200), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class MassJob(Base):
    """A campaign sent as one mass send (群发) by tag: its tag, WeChat's idempotency id
    (``clientmsgid``: a repeated call answers 45065 and sends nothing) and the outcome."""

    __tablename__ = "auto_mass_jobs"
    __table_args__ = (UniqueConstraint("campaign_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("auto_campaigns.id", ondelete="CASCADE"))
    appid: Mapped[str] = mapped_column(String(32))
    clientmsgid: Mapped[str] = mapped_column(String(64))
    tag_id: Mapped[int | None] = mapped_column(Integer, default=None)
    state: Mapped[str] = mapped_column(String(16), default="preparing")  # preparing | sent | refused
    msg_id: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class MassQuotaUse(Base):
    """One mass send counted for a member in a calendar month (Asia/Shanghai): a service
    account's follower receives at most 4 a month (errcode 45028 past it)."""

    __tablename__ = "auto_mass_quota"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id"),
        Index("ix_auto_mass_quota_member", "tenant_id", "member_id", "month"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(BigInteger)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM in Asia/Shanghai
    campaign_id: Mapped[int] = mapped_column(ForeignKey("auto_campaigns.id", ondelete="CASCADE"))
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
