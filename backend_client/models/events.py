"""Webhook events and the delivery log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend_client.models.orders import OrderStatus


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
