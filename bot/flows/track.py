"""Tracking flow: "我的订单" lists recent orders, "物流" shows the latest one under way,
"订单 123" one order: status timeline, carrier and waybill, ETA.

States (diagram: track.mmd):
  Track:list  recent orders numbered, newest first; "2" (or an order number) shows that order
              (``list_choice`` is the router's filter); any other text leaves the list and is
              handled as it would be outside it ("飞天多少钱", an order text ...)
"""

from __future__ import annotations

from typing import Any

from backend_client import BackendUnavailable
from bot.flows.kit import Kit, Turn
from bot.messages import Reply
from bot.ordering import tracking

LIST = "Track:list"
UNDER_WAY = ("created", "allocated", "shipped", "in_transit")


def _link(kit: Kit, order: Any) -> str:
    template = kit.runtime.order_link
    return template.format(order_id=order.id, number=order.number) if template else ""


async def my_orders(kit: Kit, turn: Turn) -> Reply:
    store = turn.binding.store
    assert store is not None
    try:
        orders = await tracking.recent((await kit.runtime.core(turn.tenant_id)).orders, store.core_store_id)
    except BackendUnavailable:
        return kit.say("order_busy", stage="track")
    if not orders:
        return kit.say("track_none")
    await kit.go(turn, LIST, {"ids": [o.id for o in orders]})
    views = [tracking.order_view(o, link=_link(kit, o)) for o in orders]
    return kit.say("track_list", orders=views)


async def latest(kit: Kit, turn: Turn) -> Reply:
    store = turn.binding.store
    assert store is not None
    try:
        orders = await tracking.recent((await kit.runtime.core(turn.tenant_id)).orders, store.core_store_id)
    except BackendUnavailable:
        return kit.say("order_busy", stage="track")
    if not orders:
        return kit.say("track_none")
    moving = [o for o in orders if o.status in UNDER_WAY]
    order = moving[0] if moving else orders[0]
    return kit.say("track_detail", o=tracking.order_view(order, link=_link(kit, order)), more=len(moving) > 1)


async def show(kit: Kit, turn: Turn, order_id: int) -> Reply:
    store = turn.binding.store
    assert store is not None
    try:
        order = await tracking.one(
            (await kit.runtime.core(turn.tenant_id)).orders, store.core_store_id, order_id
        )
    except BackendUnavailable:
        return kit.say("order_busy", stage="track")
    if order is None:
        return kit.say("track_not_found", ref=turn.text.strip()[:40])
    return kit.say("track_detail", o=tracking.order_view(order, link=_link(kit, order)), more=False)


def list_choice(record: Any, text: str) -> int | None:
    """The order id a reply in Track:list picks ("2", "第2单", an order number), or None when
    the reply is not an answer to the list."""
    ids = list(record.data.get("ids", []))
    word = text.strip().lower().rstrip("。.!！~").removeprefix("第").removesuffix("个").removesuffix("单")
    if word.isdigit() and 1 <= int(word) <= len(ids):
        return int(ids[int(word) - 1])
    order_id = tracking.order_id_from(text)
    if order_id is not None and len(text.strip()) > 3:
        return order_id
    return None
