"""Frozen values that leave the content domain (pages, chat, CLI never see ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    tenant_id: int
    kind: str
    title: str
    summary: str
    body: str
    image_key: str
    video_key: str
    channels_url: str
    product_sku: str
    tags: tuple[str, ...]
    regions: tuple[str, ...]
    roles: tuple[str, ...]
    state: str
    publish_at: datetime | None
    expire_at: datetime | None
    region_code: str | None = None  # the owning region (console review scope); None: HQ's
    created_by: str = ""
    reviewed_by: str = ""


@dataclass(frozen=True, slots=True)
class Share:
    id: int
    tenant_id: int
    item_id: int
    forwarder_id: int
    parent_id: int | None
    depth: int
    code: str
    revoked: bool


@dataclass(frozen=True, slots=True)
class ViewResult:
    view_id: int
    counted: bool
    reason: str  # "" | self | revoked
    first_today: bool  # a new unique viewer of this share today
    viewer_share: Share | None  # the viewer's own share (forward-of-forward), when he may forward


@dataclass(frozen=True, slots=True)
class Credit:
    kind: str
    subject: str
    forwarder_id: int
    viewer_id: int
    share_id: int | None
    points: int


@dataclass(frozen=True, slots=True)
class Live:
    id: int
    tenant_id: int
    title: str
    host: str
    starts_at: datetime
    room: str
    products: tuple[str, ...]
    audience: tuple[str, ...]
    replay_url: str
    order_hours: int
    state: str
