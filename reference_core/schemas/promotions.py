"""Promotions: one resource with a ``kind`` and kind-specific ``rules``.

满减 (full_reduction), 满赠 (full_gift) and limited-time discounts (discount) apply by themselves when
a cart qualifies. Flash sales (flash_sale) and auctions (auction) are bought through explicitly: an
order line names the promotion. Group orders (group_buy) are joined; orders are placed for every
participant when the group closes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from reference_core.schemas.common import (
    MAX_BOTTLES,
    Category,
    Cursor,
    Fen,
    Id,
    Model,
    Out,
    Sku,
    Tier,
    Timestamp,
    text,
)

PromotionKind = Literal["full_reduction", "full_gift", "discount", "flash_sale", "group_buy", "auction"]


class Scope(Model):
    skus: list[Sku] = Field(default_factory=list, max_length=200, description="empty: every product")
    categories: list[Category] = Field(default_factory=list, max_length=3)


class Audience(Model):
    region_ids: list[Id] = Field(default_factory=list, max_length=100, description="empty: every region")
    tiers: list[Tier] = Field(default_factory=list, max_length=3)


class ReductionTier(Model):
    threshold_fen: Fen
    off_fen: Fen


class FullReductionRules(Model):
    tiers: list[ReductionTier] = Field(min_length=1, max_length=10, description="满 threshold 减 off")

    @model_validator(mode="after")
    def _off_below_threshold(self) -> FullReductionRules:
        if any(t.off_fen > t.threshold_fen for t in self.tiers):
            raise ValueError("off_fen cannot exceed threshold_fen")
        return self


class GiftTier(Model):
    threshold_fen: Fen
    gift_sku: Sku
    gift_bottles: int = Field(ge=1, le=1000)


class FullGiftRules(Model):
    tiers: list[GiftTier] = Field(min_length=1, max_length=10)


class DiscountRules(Model):
    percent_off: int = Field(ge=1, le=99, description="e.g. 12 = 12% off (8.8折)")


class FlashSaleRules(Model):
    sku: Sku
    price_fen: Fen = Field(description="bottle price during the sale")


class GroupTier(Model):
    min_stores: int = Field(ge=1, le=10_000)
    price_fen: Fen = Field(description="bottle price once this many stores joined")


class GroupBuyRules(Model):
    sku: Sku
    min_group_size: int = Field(ge=2, le=10_000, description="stores needed for the group to go ahead")
    tiers: list[GroupTier] = Field(min_length=1, max_length=10)
    max_bottles_per_store: int = Field(default=MAX_BOTTLES, ge=1, le=MAX_BOTTLES)


class AuctionRules(Model):
    sku: Sku
    warehouse_id: Id = Field(description="the warehouse holding the near-expiry lot")
    start_price_fen: Fen
    floor_price_fen: Fen
    step_fen: int = Field(ge=1, le=10**12, description="the price drops by this much ...")
    step_seconds: int = Field(ge=1, le=86_400 * 30, description="... every this many seconds")

    @model_validator(mode="after")
    def _floor(self) -> AuctionRules:
        if self.floor_price_fen > self.start_price_fen:
            raise ValueError("floor_price_fen cannot exceed start_price_fen")
        return self


class _CreateBase(Model):
    name: Annotated[str, text(200, 1)]
    description: Annotated[str, text(500)] = ""
    starts_at: Timestamp
    ends_at: Timestamp
    scope: Scope = Field(default_factory=Scope)
    audience: Audience = Field(default_factory=Audience)
    stackable: bool = Field(default=True, description="may combine with other order-level promotions")

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class FullReductionCreate(_CreateBase):
    kind: Literal["full_reduction"]
    rules: FullReductionRules


class FullGiftCreate(_CreateBase):
    kind: Literal["full_gift"]
    rules: FullGiftRules


class DiscountCreate(_CreateBase):
    kind: Literal["discount"]
    rules: DiscountRules


class FlashSaleCreate(_CreateBase):
    kind: Literal["flash_sale"]
    rules: FlashSaleRules
    stock: int = Field(ge=1, le=MAX_BOTTLES, description="bottles offered")
    per_store_limit: int = Field(ge=1, le=MAX_BOTTLES, description="bottles one store may buy")


class GroupBuyCreate(_CreateBase):
    kind: Literal["group_buy"]
    rules: GroupBuyRules


class AuctionCreate(_CreateBase):
    kind: Literal["auction"]
    rules: AuctionRules
    stock: int = Field(ge=1, le=MAX_BOTTLES, description="bottles in the lot")
    per_store_limit: int | None = Field(default=None, ge=1, le=MAX_BOTTLES)


PromotionCreate = Annotated[
    FullReductionCreate | FullGiftCreate | DiscountCreate | FlashSaleCreate | GroupBuyCreate | AuctionCreate,
    Field(discriminator="kind"),
]


class ScopeOut(Out):
    skus: list[str]
    categories: list[str]


class AudienceOut(Out):
    region_ids: list[int]
    tiers: list[str]


class GroupState(Out):
    participants: int
    bottles: int
    current_price_fen: int | None = Field(description="tier price reached so far; null below the first tier")
    next_tier: GroupTier | None
    outcome: Literal["open", "succeeded", "failed"]


class AuctionState(Out):
    current_price_fen: int
    next_drop_at: datetime | None = Field(description="null once the floor is reached")


class Promotion(Out):
    id: int
    kind: PromotionKind
    name: str
    description: str
    status: Literal["scheduled", "active", "paused", "ended"]
    starts_at: datetime
    ends_at: datetime
    scope: ScopeOut
    audience: AudienceOut
    stackable: bool
    rules: dict = Field(description="the rules object of this kind, as created")
    stock_total: int | None
    stock_remaining: int | None
    per_store_limit: int | None
    group: GroupState | None
    auction: AuctionState | None


class PromotionPage(Out):
    items: list[Promotion]
    next_cursor: str | None


class PromotionQuery(Cursor):
    kind: PromotionKind | None = None
    status: Literal["scheduled", "active", "paused", "ended"] | None = None
    sku: Sku | None = Field(default=None, description="promotions that can apply to this product")
    store_id: Id | None = Field(
        default=None, description="promotions open to this store: its region and tier are in the audience"
    )


class PromotionPath(Model):
    promotion_id: Id = Field(examples=[1])


class JoinGroup(Model):
    store_id: Id
    bottles: int = Field(ge=1, le=MAX_BOTTLES)


class GroupParticipation(Out):
    promotion_id: int
    store_id: int
    bottles: int
    status: Literal["joined", "ordered", "failed"]
    order_id: int | None
    note: str
    group: GroupState
