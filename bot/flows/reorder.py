"""Reorder flow: "再来一单" / "老样子" / "照上次" -> the store's latest order (placed or
delivered) with today's prices and stock -> confirm, change or cancel.

States (diagram: reorder.mmd):
  Reorder:confirm  the latest order, re-quoted and named (date and number); the handlers route
                   it like Checkout:confirm: "确认" places it, "修改"/edits change it (then it
                   is an ordinary checkout), "取消" leaves with the cart kept

Which order and which lines are rules of ``bot.ordering.reorder``.
"""

from __future__ import annotations

from backend_client import BackendUnavailable
from bot.flows import checkout
from bot.flows.kit import Kit, Turn
from bot.messages import Reply
from bot.ordering import reorder
from bot.ordering.views import china

CONFIRM = "Reorder:confirm"


async def start(kit: Kit, turn: Turn) -> Reply:
    store = turn.binding.store
    assert store is not None
    try:
        page = await (await kit.runtime.core(turn.tenant_id)).orders.list_for_store(
            store.core_store_id, limit=reorder.LOOK_BACK
        )
    except BackendUnavailable:
        return kit.say("order_busy", stage="reorder")
    last = reorder.latest(page.items)
    if last is None:
        return kit.say("order_reorder_none")
    lines = reorder.cart_lines(last, await kit.runtime.parser(turn.tenant_id))
    await kit.runtime.carts.replace(turn.tenant_id, turn.member_id, store.core_store_id, lines)
    header = kit.render("order_reorder_header", number=last.number, created=china(last.created_at))
    return await checkout.present(kit, turn, header=header, state=CONFIRM)
