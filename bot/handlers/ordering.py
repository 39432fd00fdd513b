"""Chat ordering for store owners: menu keys ORDER / MY_ORDERS / MEMBER_CENTER, "再来一单",
"我的订单", "物流", "订单 123", "取消"/"退出", "帮助" inside a flow, the ``bind:`` QR scene, staff
commands, and free text read as an order for bound store members. Thin: every rule is in
``bot.flows`` and ``bot.ordering``.

Compose after the membership router and before ``basic`` (which answers "帮助" and the fallback):
``[notifications.router, membership.router, ordering.router, basic.router]``.
"""

from __future__ import annotations

from typing import Any

from backend_client import BackendUnavailable, CoreError, OrderNotCancellable
from bot.db import session_scope
from bot.dispatch import EventContext, Router, in_flow
from bot.dispatch.router import is_text
from bot.flows import bind, checkout, edits, order, reorder, track
from bot.flows.kit import Kit, Turn
from bot.handlers.scenes import scenes
from bot.messages import NoReply, Reply, TextReply
from bot.ordering import repository as repo
from bot.ordering import tracking
from bot.ordering.binding import SCENE_PREFIX
from bot.ordering.runtime import OrderingRuntime
from bot.ordering.views import Binding
from bot.services import Services

router = Router("ordering")

FLOWS = ("Bind", "Order", "Checkout", "Reorder", "Track")
LEAVE = ("取消", "退出", "不买了", "算了吧", "返回")
HELP = ("帮助", "help", "?", "？", "怎么用")
REORDER = ("再来一单", "老样子", "照上次", "和上次一样", "跟上次一样", "按上次", "还是老样子")
MY_ORDERS = ("我的订单", "订单", "查订单", "订单查询", "最近订单")
LOGISTICS = ("物流", "查物流", "到哪了", "发货了吗", "物流信息")
CART = ("购物车", "查看购物车", "看看购物车", "下单", "结算", "去结算")
CONFIRM_WORDS = ("确认", "确定", "确认下单")
BUSY = object()  # the free-text filter's answer when the catalog cannot be loaded


def runtime_of(services: Services) -> OrderingRuntime | None:
    return services.ordering


async def make_kit(services: Services) -> Kit:
    runtime = runtime_of(services)
    assert runtime is not None
    client = services.wechat

    async def make_qr(appid: str, scene: str, seconds: int) -> str:
        qr = await client.qrcode.create(appid, scene, expire_seconds=seconds)
        return qr.image_url

    return Kit(
        flows=services.flows,
        runtime=runtime,
        render=services.text,
        sessions=services.sessions,
        redis=services.redis,
        keys=services.keys,
        make_qr=make_qr if client is not None else None,
    )


async def _binding(ctx: EventContext) -> Binding:
    cached = ctx.data.get("ordering.binding")
    if cached is None:
        runtime = runtime_of(ctx.services)
        if runtime is not None:
            cached = await runtime.bindings.get(ctx.member_id or 0)
        else:
            async with session_scope(ctx.services.sessions) as session:
                cached = await repo.binding_of(session, ctx.member_id or 0)
        cached = cached or Binding(ctx.member_id or 0, ctx.app.tenant_id, "consumer")
        ctx.data["ordering.binding"] = cached
    return cached


async def _rich(ctx: EventContext) -> bool:
    """May the answer be a msgmenu? Only through the customer-service channel, which this very
    interaction opens, unless the member refuses messages or this is not an Official Account."""
    reach = ctx.services.reach
    if reach is None or ctx.app.kind != "oa" or ctx.message.trigger is None:
        return False
    state = await reach.state(ctx.message.appid, ctx.message.openid)
    return not state.refuses


async def make_turn(ctx: EventContext) -> Turn:
    message = ctx.message
    menu_id = message.fields.get("bizmsgmenuid")
    return Turn(
        key=ctx.flow_key,
        tenant_id=ctx.app.tenant_id,
        member_id=ctx.member_id or 0,
        text=(message.content or "").strip(),
        source=f"{message.appid}:{message.dedupe_key}",
        rich=await _rich(ctx),
        binding=await _binding(ctx),
        menu_id=str(menu_id) if menu_id not in (None, "") else None,
    )


async def _store_turn(ctx: EventContext) -> tuple[Kit, Turn] | Reply:
    """Kit and turn for a bound store member, or the reply telling how to bind."""
    if runtime_of(ctx.services) is None:
        return TextReply(ctx.services.text("order_busy", stage="setup"))
    turn = await make_turn(ctx)
    kit = await make_kit(ctx.services)
    if not turn.binding.bound:
        if await _in_my_flow(ctx):
            await kit.leave(turn)
        return kit.say("order_not_bound")
    return kit, turn


async def _in_my_flow(ctx: EventContext) -> bool:
    state = await ctx.flow_state()
    return state is not None and state.split(":", 1)[0] in FLOWS


def _my_flow(name: str):
    check = in_flow(name)

    async def flt(ctx: EventContext) -> bool:
        return is_text(ctx) and await check(ctx)

    return flt


# leaving and help ---------------------------------------------------------------------------------
@router.text(equals=LEAVE)
async def on_leave(ctx: EventContext, services: Services) -> Reply:
    state = await ctx.flow_state()
    if state is None:
        return TextReply(services.text("order_left", state=None, cart=False))
    await services.flows.clear(ctx.flow_key)
    runtime = runtime_of(services)
    cart = None
    if runtime is not None and ctx.member_id is not None:
        cart = await runtime.carts.get(ctx.app.tenant_id, ctx.member_id)
    return TextReply(services.text("order_left", state=state, cart=bool(cart and not cart.empty)))


async def _in_any_my_flow(ctx: EventContext) -> bool:
    return is_text(ctx) and await _in_my_flow(ctx)


@router.text(_in_any_my_flow, equals=HELP)
async def on_flow_help(ctx: EventContext, services: Services) -> Reply:
    return TextReply(services.text("order_help", state=await ctx.flow_state()))


# menu ---------------------------------------------------------------------------------------------
@router.click("ORDER")
async def on_order_menu(ctx: EventContext) -> Reply:
    got = await _store_turn(ctx)
    if not isinstance(got, tuple):
        return got
    kit, turn = got
    cart = await kit.runtime.carts.get(turn.tenant_id, turn.member_id)
    if cart is not None and not cart.empty:
        return await checkout.present(kit, turn, header=kit.render("cart_resume"))
    return kit.say("order_start", store=turn.binding.store)


@router.click("MY_ORDERS")
async def on_orders_menu(ctx: EventContext) -> Reply:
    got = await _store_turn(ctx)
    return await track.my_orders(*got) if isinstance(got, tuple) else got


@router.click("MEMBER_CENTER")
async def on_member_center(ctx: EventContext, services: Services) -> Reply:
    binding = await _binding(ctx)
    return TextReply(services.text("menu_member_center", b=binding))


# navigation (works inside flows too) ---------------------------------------------------------------
@router.text(equals=REORDER)
async def on_reorder(ctx: EventContext) -> Reply:
    got = await _store_turn(ctx)
    return await reorder.start(*got) if isinstance(got, tuple) else got


@router.text(equals=MY_ORDERS)
async def on_my_orders(ctx: EventContext) -> Reply:
    got = await _store_turn(ctx)
    return await track.my_orders(*got) if isinstance(got, tuple) else got


@router.text(equals=LOGISTICS)
async def on_logistics(ctx: EventContext) -> Reply:
    got = await _store_turn(ctx)
    return await track.latest(*got) if isinstance(got, tuple) else got


@router.text(regex=r"^(?:订单|查订单|查询订单|订单号|物流)\s*[:：#]?\s*((?:JB|jb)?\d{1,16})$")
async def on_order_number(ctx: EventContext, match: Any) -> Reply:
    got = await _store_turn(ctx)
    if not isinstance(got, tuple):
        return got
    order_id = tracking.order_id_from(match.group(1))
    if order_id is None:
        return got[0].say("track_not_found", ref=match.group(1))
    return await track.show(*got, order_id)


@router.text(regex=r"^取消订单\s*[:：#]?\s*((?:JB|jb)?\d{1,16})$")
async def on_cancel_order(ctx: EventContext, match: Any) -> Reply:
    got = await _store_turn(ctx)
    if not isinstance(got, tuple):
        return got
    kit, turn = got
    assert turn.binding.store is not None
    order_id = tracking.order_id_from(match.group(1))
    orders = kit.runtime.core.orders
    try:
        found = await tracking.one(orders, turn.binding.store.core_store_id, order_id) if order_id else None
        if found is None:
            return kit.say("track_not_found", ref=match.group(1))
        cancelled = await orders.cancel(
            found.id, "cancelled by the store in chat", idempotency_key=f"cancel-{found.id}"
        )
    except OrderNotCancellable:
        return kit.say("order_cancel", ok=False, number=found.number)
    except BackendUnavailable:
        return kit.say("order_busy", stage="cancel")
    except CoreError:
        return kit.say("order_cancel", ok=False, number=match.group(1))
    return kit.say("order_cancel", ok=True, number=cancelled.number)


@router.text(equals=("邀请店员", "添加店员", "店员邀请"))
async def on_invite_staff(ctx: EventContext) -> Reply:
    got = await _store_turn(ctx)
    return await bind.invite_staff(*got) if isinstance(got, tuple) else got


@router.text(equals=("店员", "我的店员", "店员管理"))
async def on_list_staff(ctx: EventContext) -> Reply:
    got = await _store_turn(ctx)
    return await bind.list_staff(*got) if isinstance(got, tuple) else got


@router.text(regex=r"^(?:移除|删除)店员\s*(\d{1,2})$")
async def on_remove_staff(ctx: EventContext, match: Any) -> Reply:
    got = await _store_turn(ctx)
    return await bind.remove_staff(*got, int(match.group(1))) if isinstance(got, tuple) else got


# inside a flow --------------------------------------------------------------------------------------
@router.register(_my_flow("Bind"))
async def on_bind_text(ctx: EventContext) -> Reply:
    turn = await make_turn(ctx)
    kit = await make_kit(ctx.services)
    record = await ctx.flow()
    return await bind.on_text(kit, turn, record)


async def _flow_text(ctx: EventContext, handler: Any) -> Reply:
    got = await _store_turn(ctx)
    if not isinstance(got, tuple):
        return got
    kit, turn = got
    record = await ctx.flow()
    if record is None:  # expired between the filter and now
        return NoReply()
    return await handler(kit, turn, record)


@router.register(_my_flow("Order"))
async def on_order_text(ctx: EventContext) -> Reply:
    return await _flow_text(ctx, order.on_text)


@router.register(_my_flow("Checkout"))
async def on_checkout_text(ctx: EventContext) -> Reply:
    return await _flow_text(ctx, checkout.on_text)


@router.register(_my_flow("Reorder"))
async def on_reorder_text(ctx: EventContext) -> Reply:
    return await _flow_text(ctx, reorder.on_text)


@router.register(_my_flow("Track"))
async def on_track_text(ctx: EventContext) -> Reply:
    return await _flow_text(ctx, track.on_text)


# outside a flow -------------------------------------------------------------------------------------
@router.text(equals=CART)
async def on_cart(ctx: EventContext) -> Reply:
    got = await _store_turn(ctx)
    return await checkout.present(*got) if isinstance(got, tuple) else got


@router.text(equals=("清空购物车",))
async def on_clear_cart(ctx: EventContext) -> Reply:
    got = await _store_turn(ctx)
    if not isinstance(got, tuple):
        return got
    kit, turn = got
    await kit.runtime.carts.clear(turn.tenant_id, turn.member_id)
    return kit.say("cart_empty", notes=[{"kind": "cleared"}])


@router.text(equals=CONFIRM_WORDS)
async def on_confirm_outside(ctx: EventContext) -> Reply:
    """A "确认" after the checkout ended: a double tap, or the confirm of an order still pending."""
    got = await _store_turn(ctx)
    if not isinstance(got, tuple):
        return got
    kit, turn = got
    result = await checkout.recent(kit, turn)
    if result is None:
        return kit.say("order_nothing_to_confirm")
    return await checkout.settle_reply(kit, turn, result, None)


async def order_text(ctx: EventContext) -> dict[str, Any] | bool:
    """A text the parser reads as an order, a price question or an order topic."""
    text = ctx.message.content or ""
    runtime = runtime_of(ctx.services)
    if not is_text(ctx) or runtime is None or not text.strip():
        return False
    if edits.is_edit(text):
        return {"parsed": None}
    try:
        parser = await runtime.parser()
    except (BackendUnavailable, CoreError):
        # no catalog yet and the core is down: a store member still deserves an answer
        binding = await _binding(ctx)
        return {"parsed": BUSY} if binding.bound else False
    parsed = parser.parse(text)
    if parsed.is_order or parsed.topic or (parsed.question and parsed.asked):
        return {"parsed": parsed}
    return False


@router.register(order_text)
async def on_free_text(ctx: EventContext, parsed: Any) -> Reply:
    services = ctx.services
    if parsed is BUSY:
        return TextReply(services.text("order_busy", stage="quote"))
    if parsed is None:  # a cart edit outside the checkout ("删除 2" after "取消")
        got = await _store_turn(ctx)
        return (await checkout.edit_or_add(*got) or NoReply()) if isinstance(got, tuple) else got
    if parsed.topic == "after_sales":
        return TextReply(services.text("order_after_sales"))
    got = await _store_turn(ctx)
    if not isinstance(got, tuple):
        return got
    kit, turn = got
    if parsed.topic == "tracking":
        return await track.latest(kit, turn)
    if parsed.question and not parsed.is_order:
        return await checkout.price_answer(kit, turn, list(parsed.asked))
    return await checkout.edit_or_add(kit, turn) or await order.take(kit, turn, parsed)


# the binding QR scene -------------------------------------------------------------------------------
@scenes.handler(SCENE_PREFIX)
async def on_bind_scene(ctx: EventContext, token: str) -> Reply | None:
    services = ctx.services
    if runtime_of(services) is None or ctx.member_id is None:
        return None
    turn = await make_turn(ctx)
    return await bind.scanned(await make_kit(services), turn, token)
