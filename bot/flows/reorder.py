"""Reorder flow: "再来一单" / "老样子" / "照上次" -> the last order's lines with today's prices
and stock -> confirm, change or cancel.

States (diagram: reorder.mmd):
  Reorder:confirm  the last order, re-quoted; "确认" places it, "修改"/edits change it (then it is
                   an ordinary checkout), "取消" leaves with the cart kept
"""

from __future__ import annotations

from typing import Any

from backend_client import BackendUnavailable
from bot.flows import checkout
from bot.flows.kit import Kit, Turn
from bot.messages import Reply
from bot.ordering.views import CartLine, china

CONFIRM = "Reorder:confirm"


async def start(kit: Kit, turn: Turn) -> Reply:
    store = turn.binding.store
    assert store is not None
    try:
        last = await kit.runtime.core.orders.last_for_store(store.core_store_id)
    except BackendUnavailable:
        return kit.say("order_busy", stage="reorder")
    if last is None:
        return kit.say("order_reorder_none")
    parser = await kit.runtime.parser()
    per_case: dict[str, int] = {}
    for line in last.lines:
        if line.cases:
            per_case[line.sku] = max((line.quantity - line.bottles) // line.cases, 1)
    names = {line.sku: line.name for line in last.lines}
    lines = []
    for req in last.reorder_lines():
        try:
            entry = parser.entry(req.sku)
            name, bpc = entry.name, entry.bottles_per_case
        except KeyError:
            name, bpc = names.get(req.sku, req.sku), per_case.get(req.sku, 1)
        lines.append(CartLine(req.sku, name, req.cases, req.bottles, bpc))
    await kit.runtime.carts.replace(turn.tenant_id, turn.member_id, store.core_store_id, lines)
    header = kit.render("order_reorder_header", number=last.number, created=china(last.created_at))
    return await checkout.present(kit, turn, header=header, state=CONFIRM)


async def on_text(kit: Kit, turn: Turn, record: Any) -> Reply:
    return await checkout.on_text(kit, turn, record)
