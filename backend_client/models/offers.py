"""Promotions and coupons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


# promotions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    skus: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Audience:
    region_ids: tuple[int, ...] = ()
    tiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupTier:
    min_stores: int
    price_fen: int


@dataclass(frozen=True)
class GroupState:
    participants: int
    bottles: int
    current_price_fen: int | None
    next_tier: GroupTier | None
    outcome: str


@dataclass(frozen=True)
class AuctionState:
    current_price_fen: int
    next_drop_at: datetime | None


@dataclass(frozen=True)
class Promotion:
    id: int
    kind: str
    name: str
    description: str
    status: str
    starts_at: datetime
    ends_at: datetime
    scope: Scope
    audience: Audience
    stackable: bool
    rules: Mapping[str, Any]
    stock_total: int | None
    stock_remaining: int | None
    per_store_limit: int | None
    group: GroupState | None
    auction: AuctionState | None


@dataclass(frozen=True)
class PromotionPage:
    items: tuple[Promotion, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class GroupParticipation:
    promotion_id: int
    store_id: int
    bottles: int
    status: str
    order_id: int | None
    note: str
    group: GroupState


# coupons ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    kind: str
    amount_off_fen: int
    percent_off: int
    max_discount_fen: int | None
    threshold_fen: int
    audience: str
    audience_filter: Audience
    scope: Scope
    claim_starts_at: datetime
    claim_ends_at: datetime
    valid_days: int
    valid_until: datetime
    total_stock: int
    remaining: int
    per_holder_limit: int
    status: str


@dataclass(frozen=True)
class CampaignPage:
    items: tuple[Campaign, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class CouponClaim:
    id: int
    code: str
    campaign_id: int
    name: str
    kind: str
    amount_off_fen: int
    percent_off: int
    max_discount_fen: int | None
    threshold_fen: int
    holder_type: str
    holder_id: str
    status: str
    claimed_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None
    order_id: int | None
    redeemed_store_id: int | None


@dataclass(frozen=True)
class ClaimPage:
    items: tuple[CouponClaim, ...]
    next_cursor: str | None
