"""营销 > 兑换发货: redemption orders of members in scope; ship (carrier + tracking) or cancel."""

from __future__ import annotations

import structlog
from aiohttp import web

from bot.console import reward_push, rewards
from bot.console.context import PageContext
from bot.console.policy import Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.console.repository_paging import BadQuery
from bot.db import session_scope

log = structlog.get_logger(__name__)


async def orders(
    request: web.Request, ctx: PageContext, *, status: int = 200, row_error: tuple[int, str] | None = None
) -> web.StreamResponse:
    state = request.query.get("status", "pending")[:16]
    cursor = request.query.get("cursor") or None
    values: dict = {"state": state, "rows": (), "next_cursor": None, "error": None}
    try:
        async with session_scope(ctx.db) as session:
            page = await rewards.list_orders(session, ctx.actor, status=state, cursor=cursor)
        values.update(rows=page.items, next_cursor=page.next_cursor)
    except BadQuery as exc:
        log.info("console_bad_query", page="rewards", field=exc.field, reason=exc.reason)
        values["error"] = f"{exc.field}.{exc.reason}"
        status = 400
    return ctx.render(
        request,
        "rewards.html",
        status=status,
        title="兑换发货",
        may_write=can(ctx.actor, "write", Resource("rewards", ctx.actor.tenant_id, ctx.actor.scope.path)),
        first_page=cursor is None,
        done=request.query.get("done", ""),
        row_error=row_error,
        **values,
    )


async def act(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    text, action = request.match_info["order_id"], request.match_info["action"]
    if action not in ("fulfil", "cancel") or not (text.isascii() and text.isdigit() and len(text) < 19):
        raise web.HTTPNotFound()
    form = await request.post()
    async with session_scope(ctx.db) as session:
        order = await rewards.get_order(session, ctx.actor, int(text))
    if order is None:
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    if not can(ctx.actor, "write", Resource("rewards", ctx.actor.tenant_id, ctx.actor.scope.path)):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    now = ctx.runtime.clock()
    carrier = tracking = ""
    try:
        async with session_scope(ctx.db) as session:
            if action == "fulfil":
                carrier, tracking = rewards.shipment(
                    str(form.get("carrier", ""))[:64], str(form.get("tracking", ""))[:64]
                )
                await rewards.fulfil(session, ctx.who, order, carrier, tracking, origin=ctx.origin, now=now)
            else:
                await rewards.cancel(session, ctx.who, order, origin=ctx.origin, now=now)
    except rewards.RewardRefused as exc:
        log.info("console_reward_refused", order=order.id, action=action, code=exc.code)
        return await orders(
            request, ctx, status=409 if exc.field == "row" else 400, row_error=(order.id, exc.code)
        )
    status = "fulfilled" if action == "fulfil" else "cancelled"
    await reward_push.push_status(ctx.services, order, status, carrier=carrier, tracking=tracking)
    done = "shipped" if action == "fulfil" else "order_cancelled"
    raise web.HTTPSeeOther(f"{request.app.router['rewards'].url_for()}?done={done}")


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage(
            "兑换发货", "/rewards/orders", "marketing", ("read", "rewards"), orders, order=20, name="rewards"
        )
    )
    registry.add(
        ConsolePage(
            "处理兑换",
            "/rewards/orders/{order_id}/{action}",
            "marketing",
            ("write", "rewards"),
            act,
            method="POST",
            nav=False,
        )
    )
