"""Webhook payloads (documented under ``webhooks`` in the OpenAPI document) and the outbox listing."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from reference_core.schemas.common import Cursor, Out
from reference_core.schemas.orders import OrderStatus


class OrderStatusChanged(Out):
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


class CouponRedeemed(Out):
    claim_id: int
    campaign_id: int
    code: str
    holder_type: Literal["store", "consumer"]
    holder_id: str
    order_id: int | None
    store_id: int | None
    discount_fen: int | None
    at: datetime


class OrderStatusChangedEvent(Out):
    id: str = Field(description="event id; the same event may arrive more than once: dedupe on it")
    type: Literal["order.status_changed"]
    created_at: datetime
    data: OrderStatusChanged


class CouponRedeemedEvent(Out):
    id: str
    type: Literal["coupon.redeemed"]
    created_at: datetime
    data: CouponRedeemed


class WebhookDelivery(Out):
    event_id: str
    type: str
    created_at: datetime
    attempts: int
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str


class WebhookDeliveryPage(Out):
    items: list[WebhookDelivery]
    next_cursor: str | None


class WebhookQuery(Cursor):
    status: Literal["pending", "delivered", "all"] = "all"
