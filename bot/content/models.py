"""Tables of the content domain: the library, share tokens, views, attribution, livestreams.

Every side effect has a unique key from its cause: one share per (item, forwarder), one daily
viewer row per (share, viewer, day), one credit per (tenant, kind, subject), one reminder per
(live, member, kind), one reservation per (live, member).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, BigIntPK, UTCDateTime, utcnow

KINDS = ("article", "video", "poster", "product", "live")  # 图文, 短视频, 海报, 商品卡, 直播
STATES = ("draft", "review", "published", "rejected", "archived")


class ContentItem(Base):
    __tablename__ = "content_items"
    __table_args__ = (Index("ix_content_items_state", "tenant_id", "state", "publish_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # plain paragraphs (rendered escaped)
    image_key: Mapped[str] = mapped_column(String(128), default="")  # storage key of the cover
    video_key: Mapped[str] = mapped_column(String(128), default="")  # an uploaded short video
    channels_url: Mapped[str] = mapped_column(String(255), default="")  # 视频号 link
    product_sku: Mapped[str] = mapped_column(String(64), default="")
    tags: Mapped[str] = mapped_column(String(255), default="")  # "brand:黔酒,aroma:酱香,..."
    regions: Mapped[str] = mapped_column(String(255), default="")  # "" = every region
    roles: Mapped[str] = mapped_column(String(128), default="")  # "" = every role
    # the region whose operators edit and review it (the console's scope); None: HQ's item
    region_code: Mapped[str | None] = mapped_column(String(32), default=None)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    expire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    reviewed_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContentShare(Base):
    """A forwarder's personal link to an item; ``code`` is random (unguessable), the token
    carries it with an HMAC; ``parent_id`` is the share the forwarder came through (the chain)."""

    __tablename__ = "content_shares"
    __table_args__ = (UniqueConstraint("tenant_id", "item_id", "forwarder_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"), index=True)
    forwarder_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_shares.id", ondelete="SET NULL"), default=None
    )
    depth: Mapped[int] = mapped_column(Integer, default=1)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContentView(Base):
    """One open of a share page; ``counted`` is False for self-views (reason "self"). ``ref`` is
    the random key the page's stream entry carries (unique: an entry stored twice is one view)."""

    __tablename__ = "content_views"
    __table_args__ = (
        Index("ix_content_views_share", "share_id", "opened_at"),
        Index("ux_content_views_ref", "ref", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    share_id: Mapped[int] = mapped_column(ForeignKey("content_shares.id", ondelete="CASCADE"))
    viewer_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    ref: Mapped[str | None] = mapped_column(String(24), default=None)
    counted: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str] = mapped_column(String(16), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_seconds: Mapped[int] = mapped_column(Integer, default=0)
    read_valid: Mapped[bool] = mapped_column(Boolean, default=True)  # False: an impossible reading time
    notified: Mapped[str] = mapped_column(String(8), default="")  # "" | live | digest


class ContentDailyViewer(Base):
    __tablename__ = "content_daily_viewers"
    __table_args__ = (UniqueConstraint("share_id", "viewer_id", "day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    share_id: Mapped[int] = mapped_column(ForeignKey("content_shares.id", ondelete="CASCADE"))
    viewer_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)


class ContentTouch(Base):
    """A viewer reached through a share (page view or the forwarder's QR): starts his window."""

    __tablename__ = "content_touches"
    __table_args__ = (
        UniqueConstraint("share_id", "viewer_id"),
        Index("ix_content_touches_viewer", "tenant_id", "viewer_id", "first_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    share_id: Mapped[int] = mapped_column(ForeignKey("content_shares.id", ondelete="CASCADE"))
    viewer_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    forwarder_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContentCredit(Base):
    """An event credited to a forwarder: kind follow|scan|coupon|order|live_order; ``subject`` is
    what happened (the viewer for follow/scan/coupon, the order id for orders)."""

    __tablename__ = "content_credits"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "subject"),
        Index("ix_content_credits_forwarder", "tenant_id", "forwarder_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    share_id: Mapped[int | None] = mapped_column(ForeignKey("content_shares.id", ondelete="SET NULL"))
    item_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    live_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    forwarder_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    viewer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    points: Mapped[int] = mapped_column(Integer, default=0)
    happened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Livestream(Base):
    __tablename__ = "content_lives"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(32), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    room: Mapped[str] = mapped_column(String(128), default="")  # 视频号 live id or mini-program room
    products: Mapped[str] = mapped_column(String(255), default="")  # comma-separated SKUs
    audience: Mapped[str] = mapped_column(String(128), default="")  # roles/tiers, "" = everyone
    replay_url: Mapped[str] = mapped_column(String(255), default="")
    order_hours: Mapped[int] = mapped_column(Integer, default=24)
    state: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled|ended|cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LiveReservation(Base):
    __tablename__ = "content_live_reservations"
    __table_args__ = (UniqueConstraint("live_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    live_id: Mapped[int] = mapped_column(ForeignKey("content_lives.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16), default="h5")  # h5|mp|channels
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LiveDelivery(Base):
    """One push of a live to one member (kind reminder|replay|invite); claimed by a worker
    (state claimed), then sent | unreachable | failed."""

    __tablename__ = "content_live_deliveries"
    __table_args__ = (UniqueConstraint("live_id", "member_id", "kind"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    live_id: Mapped[int] = mapped_column(ForeignKey("content_lives.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="claimed")
    channel: Mapped[str] = mapped_column(String(16), default="")
    reason: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
