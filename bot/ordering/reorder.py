"""What "再来一单" reorders: the store's most recent order that was placed or delivered (never a
cancelled one), newest by when it was placed, not by the core's id order, and its bought lines as
cart lines at today's catalog."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.ordering.parser import OrderParser
from bot.ordering.tracking import LOOK_BACK, newest_first
from bot.ordering.views import CartLine

REORDERABLE = frozenset({"created", "allocated", "shipped", "in_transit", "delivered"})
__all__ = ["LOOK_BACK", "REORDERABLE", "cart_lines", "latest"]


def latest(orders: Iterable[Any]) -> Any | None:
    """The order "再来一单" repeats: the newest one placed or delivered."""
    return next((o for o in newest_first(orders) if o.status in REORDERABLE), None)


def cart_lines(order: Any, parser: OrderParser) -> list[CartLine]:
    """The order's bought lines (gifts left out) as cart lines. A product no longer in the
    catalog keeps the order's name and pack size; the quote then says it cannot be ordered."""
    per_case: dict[str, int] = {}
    for line in order.lines:
        if line.cases:
            per_case[line.sku] = max((line.quantity - line.bottles) // line.cases, 1)
    names = {line.sku: line.name for line in order.lines}
    lines = []
    for req in order.reorder_lines():
        try:
            entry = parser.entry(req.sku)
            name, bpc = entry.name, entry.bottles_per_case
        except KeyError:
            name, bpc = names.get(req.sku, req.sku), per_case.get(req.sku, 1)
        lines.append(CartLine(req.sku, name, req.cases, req.bottles, bpc))
    return lines
