"""Quotes and orders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from reference_core.schemas.common import Cursor, Fen, Id, Model, Out, Sku, text

OrderStatus = Literal["created", "allocated", "shipped", "in_transit", "delivered", "cancelled"]


class LineIn(Model):
    # "cases or bottles" stated in the contract too, so generated clients and fuzzers know it
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["cases"], "properties": {"cases": {"minimum": 1}}},
                {"required": ["bottles"], "properties": {"bottles": {"minimum": 1}}},
            ]
        }
    )

    sku: Sku = Field(examples=["MT-FT-53-500"])
    cases: int = Field(default=0, ge=0, le=10_000, examples=[1])
    bottles: int = Field(default=0, ge=0, le=100_000, examples=[2])
    promotion_id: Id | None = Field(
        default=None, description="buy through a flash sale or an auction (its price and its stock)"
    )

    @model_validator(mode="after")
    def _some(self) -> LineIn:
        if self.cases == 0 and self.bottles == 0:
            raise ValueError("a line needs cases or bottles")
        return self


class QuoteRequest(Model):
    store_id: Id = Field(examples=[1])
    lines: list[LineIn] = Field(min_length=1, max_length=50)
    coupon_claim_id: Id | None = None


class OrderCreate(QuoteRequest):
    note: Annotated[str, text(500)] = ""
    expected_total_fen: Fen | None = Field(
        default=None, description="refuse with price_changed if the total is not this (what the buyer saw)"
    )


class Sourcing(Out):
    warehouse_id: int
    warehouse_code: str
    warehouse_name: str
    city: str
    distance_km: float
    quantity: int


class Availability(Out):
    requested: int
    available: int = Field(description="bottles available across all warehouses")
    fulfillable: bool
    shortfall: int
    sourcing: list[Sourcing] = Field(description="the proposed warehouses (nearest first)")
    promotion_remaining: int | None = Field(
        default=None, description="stock left in the flash sale or auction this line buys through"
    )


class QuoteLine(Out):
    line_no: int
    sku: str
    name: str
    cases: int
    bottles: int
    quantity: int = Field(description="total bottles")
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


class Gift(Out):
    sku: str
    quantity: int


class PromotionResult(Out):
    promotion_id: int
    name: str
    kind: str
    applied: bool
    discount_fen: int
    gift: Gift | None
    reason: str | None = Field(description="why it did not apply (stable code); null when applied")
    message: str


class CouponResult(Out):
    claim_id: int
    campaign_id: int
    name: str
    applied: bool
    discount_fen: int
    reason: str | None
    message: str


class CreditCheck(Out):
    limit_fen: int
    used_fen: int
    available_fen: int
    required_fen: int
    overdue_fen: int = Field(description="owed past its terms; with the tenant's rule on, > 0 refuses")
    ok: bool


class Issue(Out):
    code: str
    message: str
    line_no: int | None = None
    sku: str | None = None


class Quote(Out):
    store_id: int
    lines: list[QuoteLine] = Field(description="the cart's lines, then gift lines (is_gift)")
    promotions: list[PromotionResult]
    coupon: CouponResult | None
    available_coupons: list[CouponResult] = Field(
        description="the store's coupons and whether each would fit"
    )
    subtotal_fen: int
    promotion_discount_fen: int
    coupon_discount_fen: int
    total_fen: int
    credit: CreditCheck
    orderable: bool
    issues: list[Issue]
    priced_at: datetime


class OrderLine(Out):
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


class AppliedPromotion(Out):
    promotion_id: int
    name: str
    kind: str
    discount_fen: int
    gift: Gift | None


class AppliedCoupon(Out):
    claim_id: int
    campaign_id: int
    name: str
    discount_fen: int


class Allocation(Out):
    line_no: int
    sku: str
    warehouse_id: int
    warehouse_name: str
    city: str
    quantity: int
    distance_km: float


class Shipment(Out):
    warehouse_id: int
    warehouse_name: str
    carrier: str
    waybill: str
    shipped_at: datetime | None
    delivered_at: datetime | None


class TimelineEvent(Out):
    status: OrderStatus
    at: datetime
    location: str
    carrier: str
    waybill: str
    note: str


class Order(Out):
    id: int
    number: str
    store_id: int
    status: OrderStatus
    source: Literal["api", "group_buy", "seed"]
    lines: list[OrderLine]
    promotions: list[AppliedPromotion]
    coupon: AppliedCoupon | None
    subtotal_fen: int
    promotion_discount_fen: int
    coupon_discount_fen: int
    total_fen: int
    note: str
    sourcing: list[Allocation] = Field(description="which warehouse ships what")
    shipments: list[Shipment]
    timeline: list[TimelineEvent] = Field(description="oldest first; in-transit nodes carry a location")
    eta: datetime | None = Field(description="expected delivery; null once cancelled")
    created_at: datetime
    updated_at: datetime


class OrderPage(Out):
    items: list[Order] = Field(description="newest first")
    next_cursor: str | None


class OrderPath(Model):
    order_id: Id = Field(examples=[1])


class OrderListQuery(Cursor):
    limit: int = Field(default=20, ge=1, le=50)
    status: OrderStatus | None = None


class CancelRequest(Model):
    reason: Annotated[str, text(200)] = ""


class AdvanceRequest(Model):
    to: OrderStatus | None = Field(
        default=None, description="keep advancing until this status (default: one step)"
    )
