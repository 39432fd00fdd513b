"""Checkout flow: quote the cart with this store's prices, then confirm, change or cancel.

States (diagram: checkout.mmd), routed by the handlers' ``state_is`` filters:
  Checkout:confirm  the quote is shown; "确认" -> ``confirm``, "修改" -> ``edit_help``; an order
                    text or an edit ("删除 2", "飞天改成3箱") changes the cart and quotes again
                    (``order.edit_or_add``, above this module)
  Checkout:stock    some lines are short; "1" -> ``cut_to_stock``, "2" -> ``wait``

The order goes through ``OrderPlacer`` with a key derived from the cart's id and version, so a
repeated "确认", WeChat's retries and timeouts all land on the same core order.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from backend_client import BackendUnavailable, CoreError
from bot.flows.kit import Kit, Turn
from bot.messages import Reply
from bot.ordering import checkout as co
from bot.ordering.cart_edits import Note
from bot.ordering.placing import PENDING, PLACED, Submission
from bot.ordering.views import Cart, CartLine, PlaceResult, QuoteView, yuan

log = structlog.get_logger(__name__)

CONFIRM = "Checkout:confirm"
STOCK = "Checkout:stock"
RECENT, RECENT_TTL = "ordering:recent", 24 * 3600  # the memo "确认" after an order still finds it by
CUT_TO_STOCK = ("1", "有货", "只订有货的", "先发有货的")
WAIT = ("2", "等", "等到货", "等货", "等一等")
EDIT = ("修改", "改", "改一下")
QUOTE_BUDGET = 3.5  # seconds a quote may take inside a chat turn (WeChat gives up after 5)


async def present(
    kit: Kit, turn: Turn, *, header: str = "", state: str = CONFIRM, notes: list[Note] | None = None
) -> Reply:
    """Quote the member's cart and ask for confirmation (or offer a way out of a shortage)."""
    store = turn.binding.store
    assert store is not None
    cart = await kit.runtime.carts.get(turn.tenant_id, turn.member_id)
    if cart is None or cart.empty or cart.core_store_id != store.core_store_id:
        await kit.leave(turn)
        return kit.say("cart_empty", notes=notes or [])
    try:
        async with asyncio.timeout(QUOTE_BUDGET):  # answer inside WeChat's window, busy or not
            view = await quote(kit, turn, cart)
    except (BackendUnavailable, TimeoutError):
        await kit.leave(turn)
        return kit.say("order_busy", stage="quote")
    except CoreError as exc:
        log.warning("quote_refused", code=exc.code, store=store.core_store_id)
        await kit.leave(turn)
        return kit.say("order_refused", code=exc.code, details=dict(exc.details), view=None)
    data = {
        "cart": cart.id,
        "version": cart.version,
        "total": view.total_fen,
        "coupon": view.coupon_claim_id,
        "orderable": view.orderable,
    }
    if view.shortages and view.credit_ok:
        await kit.go(turn, STOCK, data)
        return kit.say("order_quote", view=view, header=header, notes=notes or [], ask="stock")
    ask = "confirm" if view.orderable else ("credit" if not view.credit_ok else "fix")
    await kit.go(turn, state, data)
    return kit.say("order_quote", view=view, header=header, notes=notes or [], ask=ask)


async def quote(kit: Kit, turn: Turn, cart: Cart) -> QuoteView:
    orders = (await kit.runtime.core(turn.tenant_id)).orders
    lines = co.line_requests(cart)
    priced = await orders.quote(cart.core_store_id, lines)
    coupon = co.best_coupon(priced)
    if coupon is not None:
        priced = await orders.quote(cart.core_store_id, lines, coupon_claim_id=coupon)
    return co.quote_view(priced, cart)


async def edit_help(kit: Kit, turn: Turn) -> Reply:
    """ "修改" while a quote is shown: how to change the cart."""
    return kit.say("cart_edit_help", cart=await kit.runtime.carts.get(turn.tenant_id, turn.member_id))


async def cut_to_stock(kit: Kit, turn: Turn, record: Any) -> Reply:
    """ "1" in Checkout:stock: order what is available (the cart is cut to the stock)."""
    cart = await kit.runtime.carts.get(turn.tenant_id, turn.member_id)
    store = turn.binding.store
    assert store is not None
    if cart is None or cart.version != record.data.get("version"):
        return await present(kit, turn, notes=[{"kind": "cart_changed"}])
    view = await quote(kit, turn, cart)
    cut = dict(co.available_only(cart, view))
    lines = [
        CartLine(li.sku, li.name, 0, cut[li.sku], li.bottles_per_case) if li.sku in cut else li
        for li in cart.lines
    ]
    await kit.runtime.carts.replace(turn.tenant_id, turn.member_id, store.core_store_id, lines)
    return await present(kit, turn, notes=[{"kind": "cut_to_stock"}])


async def wait(kit: Kit, turn: Turn) -> Reply:
    """ "2" in Checkout:stock: wait for the stock; the cart is kept."""
    await kit.leave(turn)
    return kit.say("order_wait")


async def confirm(kit: Kit, turn: Turn, record: Any) -> Reply:
    store = turn.binding.store
    assert store is not None
    runtime = kit.runtime
    busy = await _pending_elsewhere(kit, turn)
    if busy is not None:
        return busy
    cart = await runtime.carts.get(turn.tenant_id, turn.member_id)
    if cart is None or cart.empty:
        await kit.leave(turn)
        return kit.say("cart_empty", notes=[])
    if cart.id != record.data.get("cart") or cart.version != record.data.get("version"):
        return await present(kit, turn, notes=[{"kind": "cart_changed"}])
    if not record.data.get("orderable", True):
        return kit.say("order_hint", state="Checkout:blocked")
    key = co.idempotency_key(turn.tenant_id, cart)
    body = co.order_body(cart, None)
    body["expected_total_fen"] = record.data.get("total")
    if record.data.get("coupon") is not None:
        body["coupon_claim_id"] = record.data["coupon"]
    body["_cart"] = cart.id  # kept with the intent (clears the cart when a late result arrives)
    await kit.remember(turn, RECENT, key, ttl=RECENT_TTL)
    sub = Submission(turn.tenant_id, turn.member_id, turn.appid, turn.openid, "chat", key, body)
    result = await runtime.placer.place(sub, budget=runtime.confirm_budget)
    return await settle_reply(kit, turn, result, cart)


async def settle_reply(kit: Kit, turn: Turn, result: PlaceResult, cart: Cart | None) -> Reply:
    """What the confirming member is told (and what happens to the cart and the flow)."""
    runtime = kit.runtime
    store = turn.binding.store
    assert store is not None
    if result.status == PLACED:
        await kit.leave(turn)
        if cart is not None:
            await runtime.carts.clear_if(turn.tenant_id, turn.member_id, cart.id)
        return kit.say("order_placed", result=result, total=yuan(result.total_fen), again=result.replayed)
    if result.status == PENDING:
        await kit.leave(turn)
        return kit.say("order_pending", again=result.replayed)
    # refused (or expired): the cart moves to a new version, so the next confirm is a new request
    if cart is not None:
        await runtime.carts.bump(turn.tenant_id, turn.member_id, store.core_store_id)
    if result.error_code in ("conflict", "coupon_unavailable", "promotion_unavailable", "out_of_stock"):
        # quote again, the reason above the new quote (cart_note.j2 renders a "refused" note)
        note = {"kind": "refused", "code": result.error_code, "details": result.details}
        return await present(kit, turn, notes=[note])
    await kit.leave(turn)
    return kit.say("order_refused", code=result.error_code, details=result.details, view=None)


async def _pending_elsewhere(kit: Kit, turn: Turn) -> Reply | None:
    """While the member's previous order is still being confirmed, do not start another one."""
    key = await kit.recall(turn, RECENT)
    if not key:
        return None
    result = await kit.runtime.placer.status(turn.tenant_id, key, core_store_id=None)
    if result is not None and result.status == PENDING:
        return kit.say("order_pending", again=True)
    return None


async def recent(kit: Kit, turn: Turn) -> PlaceResult | None:
    """The member's last confirmed order, for a "确认" that arrives after the flow ended."""
    key = await kit.recall(turn, RECENT)
    return await kit.runtime.placer.status(turn.tenant_id, key, core_store_id=None) if key else None


async def price_answer(kit: Kit, turn: Turn, skus: list[str]) -> Reply:
    """ "飞天什么价" / "普五有货吗": this store's price and the stock across warehouses."""
    store = turn.binding.store
    assert store is not None
    skus = skus[:5]
    parser = await kit.runtime.parser(turn.tenant_id)
    try:
        catalog = (await kit.runtime.core(turn.tenant_id)).catalog
        prices = {p.sku: p for p in await catalog.prices(store.core_store_id, skus)}
        stock: dict[str, int] = {}
        for level in await catalog.stock(skus):
            stock[level.sku] = stock.get(level.sku, 0) + level.available
    except BackendUnavailable:
        return kit.say("order_busy", stage="quote")
    items = [
        {
            "name": parser.entry(sku).name,
            "bottle": yuan(prices[sku].bottle_price_fen),
            "case": yuan(prices[sku].case_price_fen),
            "per_case": prices[sku].bottles_per_case,
            "available": stock.get(sku, 0),
        }
        for sku in skus
        if sku in prices
    ]
    return kit.say("order_price", items=items)
