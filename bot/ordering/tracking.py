"""Orders as a store owner reads them: recent orders, one order's status timeline, carrier,
waybill and ETA. Only the member's own store's orders are ever shown."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from backend_client import NotFound
from bot.ordering.views import OrderLineView, OrderView, TimelineStep, china, yuan

_NUMBER = re.compile(r"^(?:JB)?(\d{8})?(\d{1,8})$", re.IGNORECASE)


def order_view(order: Any, *, link: str = "") -> OrderView:
    lines = tuple(
        OrderLineView(li.name, li.cases, li.bottles, _per_case(li), li.is_gift) for li in order.lines
    )
    shipment = next((s for s in reversed(order.shipments) if s.waybill), None)
    timeline = tuple(TimelineStep(e.status, china(e.at), e.location, e.note) for e in order.timeline)
    return OrderView(
        id=order.id,
        number=order.number,
        status=order.status,
        created=china(order.created_at),
        total=yuan(order.total_fen),
        lines=lines,
        timeline=timeline,
        carrier=shipment.carrier if shipment else "",
        waybill=shipment.waybill if shipment else "",
        eta=china(order.eta) if order.status not in ("delivered", "cancelled") else None,
        link=link,
    )


def _per_case(line: Any) -> int:
    if line.cases:
        return max((line.quantity - line.bottles) // line.cases, 1)
    return 1


def order_id_from(text: str) -> int | None:
    """ "123", "JB2026112200000123" or the number's last digits -> the core's order id."""
    match = _NUMBER.match(text.strip().replace(" ", ""))
    if not match:
        return None
    value = int(match.group(2))
    return value or None


LOOK_BACK = 20  # orders read to find the newest ones (a core may number old imports after new ones)


def newest_first(orders: Iterable[Any]) -> list[Any]:
    """Orders by when they were placed, newest first (ties: the higher id first)."""
    return sorted(orders, key=lambda o: (o.created_at, o.id), reverse=True)


async def recent(orders_api: Any, core_store_id: int, limit: int = 5) -> list[Any]:
    """The store's ``limit`` newest orders, newest first, by when they were placed."""
    page = await orders_api.list_for_store(core_store_id, limit=max(limit, LOOK_BACK))
    return newest_first(page.items)[:limit]


async def one(orders_api: Any, core_store_id: int, order_id: int) -> Any | None:
    """The order if it exists and belongs to this store (another store's order is "not found")."""
    try:
        order = await orders_api.get(order_id)
    except NotFound:
        return None
    return order if order.store_id == core_store_id else None
