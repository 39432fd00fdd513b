"""What every store-ordering handler needs, injected in one place.

``store_member`` is an inner middleware (aiogram style) for the routers of store-only handlers:
once a handler's filters passed it looks up the member's binding and either answers for the
handler (ordering not configured: "系统繁忙"; not a bound store member: how to bind, and any
ordering flow is left) or calls it with these named values:

  ordering  the OrderingRuntime          binding  the member's Binding (bound to a store)
  kit       what flows need (Kit)        turn     this message as the flows read it (Turn)

So a store handler is its happy path only: ``async def on_reorder(kit, turn): ...``.
"""

from __future__ import annotations

from typing import Any

from bot.db import session_scope
from bot.dispatch import EventContext
from bot.dispatch.router import CallNext
from bot.flows.kit import Kit, Turn
from bot.messages import Reply, TextReply
from bot.ordering import repository as repo
from bot.ordering.views import Binding
from bot.services import Services

FLOWS = ("Bind", "Order", "Checkout", "Reorder", "Track")  # the ordering flows' names


def make_kit(services: Services) -> Kit:
    runtime = services.ordering
    assert runtime is not None
    client = services.wechat

    async def make_qr(appid: str, scene: str, seconds: int) -> str:
        assert client is not None
        qr = await client.qrcode.create(appid, scene, expire_seconds=seconds)
        return qr.image_url

    return Kit(
        flows=services.flows,
        runtime=runtime,
        render=services.text,
        sessions=services.sessions,
        make_qr=make_qr if client is not None else None,
    )


async def binding_of(ctx: EventContext) -> Binding:
    """The member's binding (a consumer's when none), read once per message."""
    cached = ctx.data.get("ordering.binding")
    if cached is None:
        runtime = ctx.services.ordering
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
        binding=await binding_of(ctx),
        menu_id=str(menu_id) if menu_id not in (None, "") else None,
    )


async def in_ordering_flow(ctx: EventContext) -> bool:
    state = await ctx.flow_state()
    return state is not None and state.split(":", 1)[0] in FLOWS


async def ordering_member(call: CallNext, ctx: EventContext, data: dict[str, Any]) -> Reply | None:
    """Inner middleware: ``ordering``, ``binding``, ``kit`` and ``turn`` for any member (the
    binding flow, which makes store members)."""
    services = ctx.services
    if services.ordering is None:
        return TextReply(services.text("order_busy", stage="setup"))
    turn = await make_turn(ctx)
    kit = make_kit(services)
    return await call(
        data | {"ordering": services.ordering, "binding": turn.binding, "kit": kit, "turn": turn}
    )


async def store_member(call: CallNext, ctx: EventContext, data: dict[str, Any]) -> Reply | None:
    """Inner middleware: the same values for a bound store member; anyone else is told how to
    bind (and leaves any ordering flow) and the handler is not called."""

    async def bound_only(values: dict[str, Any]) -> Reply | None:
        turn: Turn = values["turn"]
        if not turn.binding.bound:
            if await in_ordering_flow(ctx):
                await values["kit"].leave(turn)
                ctx.forget_flow()
            return TextReply(ctx.services.text("order_not_bound"))
        return await call(values)

    return await ordering_member(bound_only, ctx, data)
