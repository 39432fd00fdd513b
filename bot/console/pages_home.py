"""概览: the dashboard."""

from __future__ import annotations

from aiohttp import web

from bot.console import dashboard
from bot.console.context import PageContext
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope


async def home(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    async with session_scope(ctx.db) as session:
        board = await dashboard.load(session, ctx.actor, ctx.runtime.clock())
    return ctx.render(request, "dashboard.html", title="工作台", crumbs=(("工作台", ""),), board=board)


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(ConsolePage("工作台", "/", "home", ("read", "reports"), home, order=10, name="home"))
