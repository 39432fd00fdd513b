"""Quotes and orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

OrderStatus = Literal["created", "allocated", "shipped", "in_transit", "delivered", "cancelled"]


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
    overdue_fen: int = 0


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
