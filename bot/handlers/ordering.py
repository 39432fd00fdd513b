"""Chat ordering for store owners: menu keys ORDER / MY_ORDERS / MEMBER_CENTER, "再来一单",
"我的订单", "物流", "订单 123", "取消"/"退出", "帮助" inside a flow, the ``bind:`` QR scene, staff
commands, and free text read as an order for bound store members. Thin: every rule is in
``bot.flows`` and ``bot.ordering``.

Store-only handlers live on routers with the ``store_member`` inner middleware
(``bot/handlers/store_member.py``), which injects ``ordering``, ``binding``, ``kit`` and ``turn``
and answers for them when the member is not bound or ordering is not configured; flow states are
routed by ``state_is`` filters. Routers are walked in this order (the first match wins):

  router    leaving, help inside a flow, the member centre        (anyone)
  store     menu keys, navigation, order numbers, staff           (store members)
  bind      the binding flow's code                               (anyone in Bind:code)
  flows     Order:*, Checkout:*, Reorder:confirm, a Track:list pick (store members)
  lists     any other reply to a list leaves it and is routed on  (anyone)
  outside   cart, clear, a late "确认"; free text: edits, tracking, price questions, orders
  common    after-sales questions, "系统繁忙" when the catalog cannot be loaded

Compose after the membership router and before ``basic`` (which answers "帮助" and the fallback):
``[notifications.router, membership.router, ordering.router, basic.router]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend_client import BackendUnavailable, CoreError, OrderNotCancellable
from bot.dispatch import EventContext, Router, SkipHandler, state_is, text_word
from bot.dispatch.router import Filter, is_text
from bot.flows import bind, checkout, order, reorder, track
from bot.flows.kit import YES, Kit, Turn
from bot.handlers.scenes import scenes
from bot.handlers.store_member import (
    binding_of,
    in_ordering_flow,
    make_kit,
    make_turn,
    ordering_member,
    store_member,
)
from bot.messages import NoReply, Reply, TextReply
from bot.ordering import cart_edits, tracking
from bot.ordering.binding import SCENE_PREFIX
from bot.ordering.interface import ParseResult
from bot.ordering.runtime import OrderingRuntime
from bot.services import Services

router = Router("ordering")
store = router.include(Router("ordering.store"))
store.inner_middleware(store_member)
bind_flow = router.include(Router("ordering.bind"))
bind_flow.inner_middleware(ordering_member)
flows = router.include(Router("ordering.flows"))
flows.inner_middleware(store_member)
lists = router.include(Router("ordering.lists"))
outside = router.include(Router("ordering.outside"))
outside.inner_middleware(store_member)
common = router.include(Router("ordering.common"))

LEAVE = ("取消", "退出", "不买了", "算了吧", "返回")
HELP = ("帮助", "help", "?", "？", "怎么用")
REORDER = ("再来一单", "老样子", "照上次", "和上次一样", "跟上次一样", "按上次", "还是老样子")
MY_ORDERS = ("我的订单", "订单", "查订单", "订单查询", "最近订单")
LOGISTICS = ("物流", "查物流", "到哪了", "发货了吗", "物流信息")
CART = ("购物车", "查看购物车", "看看购物车", "下单", "结算", "去结算")
CONFIRM_WORDS = ("确认", "确定", "确认下单")
QUOTED = (checkout.CONFIRM, reorder.CONFIRM)  # a quote is on screen, waiting for "确认"
BUSY = object()  # the free-text reading when the catalog cannot be loaded


# leaving and help (anyone) ------------------------------------------------------------------------
@router.text(equals=LEAVE)
async def on_leave(ctx: EventContext, services: Services) -> Reply:
    state = await ctx.flow_state()
    if state is None:
        return TextReply(services.text("order_left", state=None, cart=False))
    await services.flows.clear(ctx.flow_key)
    runtime = services.ordering
    cart = None
    if runtime is not None and ctx.member_id is not None:
        cart = await runtime.carts.get(ctx.app.tenant_id, ctx.member_id)
    return TextReply(services.text("order_left", state=state, cart=bool(cart and not cart.empty)))


@router.text(in_ordering_flow, equals=HELP)
async def on_flow_help(ctx: EventContext, services: Services) -> Reply:
    return TextReply(services.text("order_help", state=await ctx.flow_state()))


@router.click("MEMBER_CENTER")
async def on_member_center(ctx: EventContext, services: Services) -> Reply:
    return TextReply(services.text("menu_member_center", b=await binding_of(ctx)))


# menu and navigation (work inside flows too) -------------------------------------------------------
@store.click("ORDER")
async def on_order_menu(kit: Kit, turn: Turn, ordering: OrderingRuntime) -> Reply:
    cart = await ordering.carts.get(turn.tenant_id, turn.member_id)
    if cart is not None and not cart.empty:
        return await checkout.present(kit, turn, header=kit.render("cart_resume"))
    return kit.say("order_start", store=turn.binding.store)


@store.click("MY_ORDERS")
@store.text(equals=MY_ORDERS)
async def on_my_orders(kit: Kit, turn: Turn) -> Reply:
    return await track.my_orders(kit, turn)


@store.text(equals=REORDER)
async def on_reorder(kit: Kit, turn: Turn) -> Reply:
    return await reorder.start(kit, turn)


@store.text(equals=LOGISTICS)
async def on_logistics(kit: Kit, turn: Turn) -> Reply:
    return await track.latest(kit, turn)


@store.text(regex=r"^(?:订单|查订单|查询订单|订单号|物流)\s*[:：#]?\s*((?:JB|jb)?\d{1,16})$")
async def on_order_number(kit: Kit, turn: Turn, match: Any) -> Reply:
    order_id = tracking.order_id_from(match.group(1))
    if order_id is None:
        return kit.say("track_not_found", ref=match.group(1))
    return await track.show(kit, turn, order_id)


@store.text(regex=r"^取消订单\s*[:：#]?\s*((?:JB|jb)?\d{1,16})$")
async def on_cancel_order(kit: Kit, turn: Turn, ordering: OrderingRuntime, match: Any) -> Reply:
    assert turn.binding.store is not None
    order_id = tracking.order_id_from(match.group(1))
    try:
        orders = (await ordering.core(turn.tenant_id)).orders
        found = await tracking.one(orders, turn.binding.store.core_store_id, order_id) if order_id else None
        if found is None:
            return kit.say("track_not_found", ref=match.group(1))
        cancelled = await orders.cancel(
            found.id, "cancelled by the store in chat", idempotency_key=f"cancel-{found.id}"
        )
    except OrderNotCancellable:
        assert found is not None  # only the cancel raises it
        return kit.say("order_cancel", ok=False, number=found.number)
    except BackendUnavailable:
        return kit.say("order_busy", stage="cancel")
    except CoreError:
        return kit.say("order_cancel", ok=False, number=match.group(1))
    return kit.say("order_cancel", ok=True, number=cancelled.number)


@store.text(equals=("邀请店员", "添加店员", "店员邀请"))
async def on_invite_staff(kit: Kit, turn: Turn) -> Reply:
    return await bind.invite_staff(kit, turn)


@store.text(equals=("店员", "我的店员", "店员管理"))
async def on_list_staff(kit: Kit, turn: Turn) -> Reply:
    return await bind.list_staff(kit, turn)


@store.text(regex=r"^(?:移除|删除)店员\s*(\d{1,2})$")
async def on_remove_staff(kit: Kit, turn: Turn, match: Any) -> Reply:
    return await bind.remove_staff(kit, turn, int(match.group(1)))


# flow states ----------------------------------------------------------------------------------------
@bind_flow.text(state_is(bind.CODE), text_word(bind.RESEND))
async def on_bind_resend(kit: Kit, turn: Turn) -> Reply:
    return await bind.resend(kit, turn)


@bind_flow.text(state_is(bind.CODE), lambda ctx: bind.is_code(ctx.message.content or ""))
async def on_bind_code(kit: Kit, turn: Turn) -> Reply:
    return await bind.verify(kit, turn)


@bind_flow.text(state_is(bind.CODE))
async def on_bind_other(kit: Kit, turn: Turn, record: Any) -> Reply:
    return await bind.hint(kit, turn, record)


@flows.text(state_is(order.CHOOSE, order.QUANTITY), text_word(order.SKIP))
async def on_skip_question(kit: Kit, turn: Turn, record: Any) -> Reply:
    return await order.skip(kit, turn, record)


@flows.text(state_is(order.CHOOSE))
async def on_choice(kit: Kit, turn: Turn, record: Any) -> Reply:
    return await order.answer_choice(kit, turn, record)


@flows.text(state_is(order.QUANTITY))
async def on_quantity(kit: Kit, turn: Turn, record: Any) -> Reply:
    return await order.answer_quantity(kit, turn, record)


@flows.text(state_is(*QUOTED), text_word(YES))
async def on_confirm(kit: Kit, turn: Turn, record: Any) -> Reply:
    return await checkout.confirm(kit, turn, record)


@flows.text(state_is(*QUOTED), text_word(checkout.EDIT))
async def on_edit_help(kit: Kit, turn: Turn) -> Reply:
    return await checkout.edit_help(kit, turn)


@flows.text(state_is(checkout.STOCK), text_word(checkout.CUT_TO_STOCK))
async def on_cut_to_stock(kit: Kit, turn: Turn, record: Any) -> Reply:
    return await checkout.cut_to_stock(kit, turn, record)


@flows.text(state_is(checkout.STOCK), text_word(checkout.WAIT))
async def on_wait_for_stock(kit: Kit, turn: Turn) -> Reply:
    return await checkout.wait(kit, turn)


@flows.text(state_is(*QUOTED, checkout.STOCK))
async def on_quoted_text(kit: Kit, turn: Turn, record: Any) -> Reply:
    """An edit or more products change the quoted cart; anything else gets a hint."""
    return await order.edit_or_add(kit, turn) or kit.say("order_hint", state=record.state)


async def list_pick(ctx: EventContext) -> dict[str, Any] | bool:
    """In Track:list, a reply that picks an order ("2", "第2单", an order number)."""
    record = await ctx.flow()
    if record is None or record.state != track.LIST:
        return False
    order_id = track.list_choice(record, ctx.message.content or "")
    return {"order_id": order_id} if order_id is not None else False


@flows.text(list_pick)
async def on_list_pick(kit: Kit, turn: Turn, order_id: int) -> Reply:
    return await track.show(kit, turn, order_id)


@lists.text(state_is(track.LIST))
async def on_leave_list(ctx: EventContext, services: Services) -> Reply:
    """Not an answer to the list: leave it, and let the handlers after this one answer."""
    await services.flows.clear(ctx.flow_key)
    ctx.forget_flow()
    raise SkipHandler


# outside a flow (and free text) --------------------------------------------------------------------
@outside.text(equals=CART)
async def on_cart(kit: Kit, turn: Turn) -> Reply:
    return await checkout.present(kit, turn)


@outside.text(equals=("清空购物车",))
async def on_clear_cart(kit: Kit, turn: Turn, ordering: OrderingRuntime) -> Reply:
    await ordering.carts.clear(turn.tenant_id, turn.member_id)
    return kit.say("cart_empty", notes=[{"kind": "cleared"}])


@outside.text(equals=CONFIRM_WORDS)
async def on_confirm_outside(kit: Kit, turn: Turn) -> Reply:
    """A "确认" after the checkout ended: a double tap, or the confirm of an order still pending."""
    result = await checkout.recent(kit, turn)
    if result is None:
        return kit.say("order_nothing_to_confirm")
    return await checkout.settle_reply(kit, turn, result, None)


async def _reading(ctx: EventContext) -> Any:
    """The free text as the parser reads it (``BUSY`` without a catalog, None when not text),
    once per message."""
    if "ordering.parsed" not in ctx.data:
        ctx.data["ordering.parsed"] = await _read(ctx)
    return ctx.data["ordering.parsed"]


async def _read(ctx: EventContext) -> Any:
    runtime = ctx.services.ordering
    if not is_text(ctx) or runtime is None or not (ctx.message.content or "").strip():
        return None
    try:
        return (await runtime.parser(ctx.app.tenant_id)).parse(ctx.message.content or "")
    except (BackendUnavailable, CoreError):
        return BUSY


async def cart_edit(ctx: EventContext) -> bool:
    """ "删除 2", "飞天改成3箱", "清空" outside the checkout (after "取消")."""
    text = ctx.message.content or ""
    return is_text(ctx) and ctx.services.ordering is not None and cart_edits.is_edit(text)


def reading(which: Callable[[ParseResult], bool]) -> Filter:
    """A text the parser reads as ``which`` says; the reading is injected as ``parsed``."""

    async def check(ctx: EventContext) -> dict[str, Any] | bool:
        parsed = await _reading(ctx)
        return {"parsed": parsed} if isinstance(parsed, ParseResult) and which(parsed) else False

    return check


def _for_the_store(parsed: ParseResult) -> bool:
    """An order, a price question or an order topic a store member asks (after-sales questions
    are answered for anyone)."""
    if parsed.topic == "after_sales":
        return False
    return parsed.is_order or bool(parsed.topic) or bool(parsed.question and parsed.asked)


@outside.register(cart_edit)
async def on_cart_edit(kit: Kit, turn: Turn) -> Reply:
    return await order.edit_or_add(kit, turn) or NoReply()


@outside.register(reading(lambda p: _for_the_store(p) and p.topic == "tracking"))
async def on_tracking_question(kit: Kit, turn: Turn) -> Reply:
    return await track.latest(kit, turn)


@outside.register(reading(lambda p: _for_the_store(p) and p.question and not p.is_order))
async def on_price_question(kit: Kit, turn: Turn, parsed: ParseResult) -> Reply:
    return await checkout.price_answer(kit, turn, list(parsed.asked))


@outside.register(reading(_for_the_store))
async def on_order_text(kit: Kit, turn: Turn, parsed: ParseResult) -> Reply:
    return await order.edit_or_add(kit, turn) or await order.take(kit, turn, parsed)


async def _busy(ctx: EventContext) -> bool:
    return await _reading(ctx) is BUSY and (await binding_of(ctx)).bound


@common.register(_busy)
async def on_catalog_busy(services: Services) -> Reply:
    return TextReply(services.text("order_busy", stage="quote"))


@common.register(reading(lambda p: p.topic == "after_sales"))
async def on_after_sales(services: Services) -> Reply:
    return TextReply(services.text("order_after_sales"))


# the binding QR scene -------------------------------------------------------------------------------
@scenes.handler(SCENE_PREFIX)
async def on_bind_scene(ctx: EventContext, token: str) -> Reply | None:
    services = ctx.services
    if services.ordering is None or ctx.member_id is None:
        return None
    return await bind.scanned(make_kit(services), await make_turn(ctx), token)
