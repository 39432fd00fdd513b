"""Tracking flow: "我的订单" lists recent orders, "物流" shows the latest one under way,
"订单 123" one order: status timeline, carrier and waybill, ETA.

States (diagram: track.mmd):
  Track:list  recent orders numbered; "2" shows the second, an order text starts an order
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
        orders = await tracking.recent(kit.runtime.core.orders, store.core_store_id)
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
        orders = await tracking.recent(kit.runtime.core.orders, store.core_store_id)
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
        order = await tracking.one(kit.runtime.core.orders, store.core_store_id, order_id)
    except BackendUnavailable:
        return kit.say("order_busy", stage="track")
    if order is None:
        return kit.say("track_not_found", ref=turn.text.strip()[:40])
    return kit.say("track_detail", o=tracking.order_view(order, link=_link(kit, order)), more=False)


async def on_text(kit: Kit, turn: Turn, record: Any) -> Reply:
    ids = list(record.data.get("ids", []))
    word = turn.word.removeprefix("第").removesuffix("个").removesuffix("单")
    if word.isdigit() and 1 <= int(word) <= len(ids):
        return await show(kit, turn, ids[int(word) - 1])
    order_id = tracking.order_id_from(turn.text)
    if order_id is not None and len(turn.text.strip()) > 3:
        return await show(kit, turn, order_id)
    parser = await kit.runtime.parser()
    parsed = parser.parse(turn.text)
    if parsed.is_order:
        from bot.flows import order  # leaving the list for an order

        await kit.leave(turn)
        return await order.take(kit, turn, parsed)
    return kit.say("order_hint", state=LIST, count=len(ids))
