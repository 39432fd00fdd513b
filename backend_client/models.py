"""What the core returns, as frozen dataclasses (money in integer fen, quantities in bottles)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

OrderStatus = Literal["created", "allocated", "shipped", "in_transit", "delivered", "cancelled"]


# organisation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Region:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class Distributor:
    id: int
    code: str
    name: str
    region_id: int
    city: str
    contact_phone: str


@dataclass(frozen=True)
class Store:
    id: int
    code: str
    name: str
    kind: str
    region_id: int
    distributor_id: int
    owner_name: str
    owner_phone: str
    city: str
    address: str
    lat: float
    lng: float
    tier: str
    credit_limit_fen: int
    credit_used_fen: int
    credit_available_fen: int
    status: str


@dataclass(frozen=True)
class StorePage:
    items: tuple[Store, ...]
    next_cursor: str | None


# catalog, prices, stock ---------------------------------------------------------------------
@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    brand: str
    series: str
    category: str
    aroma: str | None
    abv: float
    ml: int
    bottles_per_case: int
    aliases: tuple[str, ...]
    image_url: str
    status: str
    base_price_fen: int


@dataclass(frozen=True)
class ProductPage:
    items: tuple[Product, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class Price:
    sku: str
    bottle_price_fen: int
    case_price_fen: int
    bottles_per_case: int
    min_order_bottles: int
    price_list: str


@dataclass(frozen=True)
class Warehouse:
    id: int
    code: str
    name: str
    city: str
    lat: float
    lng: float


@dataclass(frozen=True)
class StockLevel:
    sku: str
    warehouse_id: int
    on_hand: int
    reserved: int
    available: int


# quotes and orders --------------------------------------------------------------------------
@dataclass(frozen=True)
class LineRequest:
    """A cart line: ``cases`` and/or ``bottles``; ``promotion_id`` buys through a flash sale or auction."""

    sku: str
    cases: int = 0
    bottles: int = 0
    promotion_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sku": self.sku, "cases": self.cases, "bottles": self.bottles}
        if self.promotion_id is not None:
            out["promotion_id"] = self.promotion_id
        return out


@dataclass(frozen=True)
class Sourcing:
    warehouse_id: int
    warehouse_code: str
    warehouse_name: str
    city: str
    distance_km: float
    quantity: int


@dataclass(frozen=True)
class Availability:
    requested: int
    available: int
    fulfillable: bool
    shortfall: int
    sourcing: tuple[Sourcing, ...]
    promotion_remaining: int | None = None


@dataclass(frozen=True)
class QuoteLine:
    line_no: int
    sku: str
    name: str
    cases: int
    bottles: int
    quantity: int
    bottles_per_case: int
    bottle_price_fen: int
    case_price_fen: int
    min_order_bottles: int
    list_amount_fen: int
    discount_fen: int
    amount_fen: int
    promotion_id: int | None
    is_gift: bool
    availability: Availability


@dataclass(frozen=True)
class Gift:
    sku: str
    quantity: int


@dataclass(frozen=True)
class PromotionResult:
    promotion_id: int
    name: str
    kind: str
    applied: bool
    discount_fen: int
    gift: Gift | None
    reason: str | None
    message: str


@dataclass(frozen=True)
class CouponResult:
    claim_id: int
    campaign_id: int
    name: str
    applied: bool
    discount_fen: int
    reason: str | None
    message: str


@dataclass(frozen=True)
class CreditCheck:
    limit_fen: int
    used_fen: int
    available_fen: int
    required_fen: int
    ok: bool


@dataclass(frozen=True)
class Issue:
    code: str
    message: str
    line_no: int | None = None
    sku: str | None = None


@dataclass(frozen=True)
class Quote:
    store_id: int
    lines: tuple[QuoteLine, ...]
    promotions: tuple[PromotionResult, ...]
    coupon: CouponResult | None
    available_coupons: tuple[CouponResult, ...]
    subtotal_fen: int
    promotion_discount_fen: int
    coupon_discount_fen: int
    total_fen: int
    credit: CreditCheck
    orderable: bool
    issues: tuple[Issue, ...]
    priced_at: datetime


@dataclass(frozen=True)
class OrderLine:
    line_no: int
    sku: str
    name: str
    cases: int
    bottles: int
    quantity: int
    bottle_price_fen: int
    case_price_fen: int
    list_amount_fen: int
    discount_fen: int
    amount_fen: int
    promotion_id: int | None
    is_gift: bool


@dataclass(frozen=True)
class AppliedPromotion:
    promotion_id: int
    name: str
    kind: str
    discount_fen: int
    gift: Gift | None


@dataclass(frozen=True)
class AppliedCoupon:
    claim_id: int
    campaign_id: int
    name: str
    discount_fen: int


@dataclass(frozen=True)
class Allocation:
    line_no: int
    sku: str
    warehouse_id: int
    warehouse_name: str
    city: str
    quantity: int
    distance_km: float


@dataclass(frozen=True)
class Shipment:
    warehouse_id: int
    warehouse_name: str
    carrier: str
    waybill: str
    shipped_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class TimelineEvent:
    status: OrderStatus
    at: datetime
    location: str
    carrier: str
    waybill: str
    note: str


@dataclass(frozen=True)
class Order:
    id: int
    number: str
    store_id: int
    status: OrderStatus
    source: str
    lines: tuple[OrderLine, ...]
    promotions: tuple[AppliedPromotion, ...]
    coupon: AppliedCoupon | None
    subtotal_fen: int
    promotion_discount_fen: int
    coupon_discount_fen: int
    total_fen: int
    note: str
    sourcing: tuple[Allocation, ...]
    shipments: tuple[Shipment, ...]
    timeline: tuple[TimelineEvent, ...]
    eta: datetime | None
    created_at: datetime
    updated_at: datetime

    def reorder_lines(self) -> tuple[LineRequest, ...]:
        """The lines to order again ("再来一单"): bought lines at regular price, gifts left out."""
        return tuple(
            LineRequest(sku=line.sku, cases=line.cases, bottles=line.bottles)
            for line in self.lines
            if not line.is_gift
        )


@dataclass(frozen=True)
class OrderPage:
    items: tuple[Order, ...]
    next_cursor: str | None


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


# webhooks -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookDelivery:
    event_id: str
    type: str
    created_at: datetime
    attempts: int
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str


@dataclass(frozen=True)
class WebhookDeliveryPage:
    items: tuple[WebhookDelivery, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class OrderStatusChanged:
    order_id: int
    number: str
    store_id: int
    status: OrderStatus
    previous_status: OrderStatus | None
    at: datetime
    location: str
    carrier: str
    waybill: str
    eta: datetime | None


@dataclass(frozen=True)
class CouponRedeemed:
    claim_id: int
    campaign_id: int
    code: str
    holder_type: str
    holder_id: str
    order_id: int | None
    store_id: int | None
    discount_fen: int | None
    at: datetime


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook. ``data`` is OrderStatusChanged, CouponRedeemed, or the raw mapping for
    event types this client does not know yet."""

    id: str
    type: str
    created_at: datetime
    data: OrderStatusChanged | CouponRedeemed | Mapping[str, Any] = field(default_factory=dict)


# list envelopes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegionList:
    items: tuple[Region, ...]


@dataclass(frozen=True)
class DistributorList:
    items: tuple[Distributor, ...]


@dataclass(frozen=True)
class PriceList:
    store_id: int
    items: tuple[Price, ...]


@dataclass(frozen=True)
class WarehouseList:
    items: tuple[Warehouse, ...]


@dataclass(frozen=True)
class StockList:
    items: tuple[StockLevel, ...]
