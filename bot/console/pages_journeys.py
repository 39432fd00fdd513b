"""营销 > 自动化旅程: each journey's enrolments by arm (treatment / control / global holdout), steps,
reached and unreachable by reason, conversion and the uplift with its 95% interval, coupon
cost and incremental revenue (``bot.automation.report``). Read-only; definitions are loaded as
YAML with ``jiubot journeys load``."""

from __future__ import annotations

from aiohttp import web

from bot.automation import repository as journeys_repo
from bot.automation.report import status
from bot.console.context import PageContext
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope


async def journeys(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    async with session_scope(ctx.db) as session:
        rows = await status(session, ctx.actor.tenant_id)
        defined = await journeys_repo.journeys(session, ctx.actor.tenant_id, active_only=False)
    versions = {j.name: j for j in defined}
    return ctx.render(
        request, "journeys.html", title="自动化旅程", crumbs=(("营销", ""), ("自动化旅程", "")),
        rows=rows, versions=versions,
    )  # fmt: skip


def register_pages(registry: ConsoleRegistry) -> None:
    page = ConsolePage(
        "自动化旅程", "/journeys", "marketing", ("read", "campaigns"), journeys, order=30, name="journeys"
    )
    registry.add(page)
