"""概览: the dashboard."""

from __future__ import annotations

from aiohttp import web

from bot.console import dashboard
from bot.console.context import PageContext
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope

CACHE_SECONDS = 60  # the numbers of one scope are computed at most once a minute


async def home(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    key = ctx.services.keys("console", "dashboard", ctx.actor.tenant_id, ctx.actor.scope.path)
    raw = await ctx.services.redis.get(key)
    if raw is not None:
        board = dashboard.from_json(raw)
    else:
        async with session_scope(ctx.db) as session:
            board = await dashboard.load(session, ctx.actor, ctx.runtime.clock())
        await ctx.services.redis.set(key, dashboard.to_json(board), ex=CACHE_SECONDS)
    return ctx.render(request, "dashboard.html", title="工作台", crumbs=(("工作台", ""),), board=board)


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(ConsolePage("工作台", "/", "home", ("read", "reports"), home, order=10, name="home"))
