"""数据 > 私域周报: the archived weekly reports (bot/analytics) an operator may read, newest week
first, with the H5 link and the PDF. HQ sees every scope; a region's operators see their region's
report and those of the distributors under it; a distributor sees its own."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import or_, select

from bot.analytics.models import WeeklyReport
from bot.console.context import PageContext
from bot.console.org_models import OrgNode
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope

LIMIT = 200


async def reports(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    actor = ctx.actor
    r = WeeklyReport
    query = select(r).where(r.tenant_id == actor.tenant_id)
    async with session_scope(ctx.db) as session:
        if not actor.is_hq:
            nodes = (
                await session.execute(
                    select(OrgNode.kind, OrgNode.code).where(
                        OrgNode.tenant_id == actor.tenant_id,
                        OrgNode.kind.in_(("region", "distributor")),
                        OrgNode.path.startswith(actor.scope.path),
                    )
                )
            ).all()
            regions = [code for kind, code in nodes if kind == "region"]
            distributors = [code for kind, code in nodes if kind == "distributor"]
            query = query.where(
                or_(
                    (r.scope == "region") & r.scope_code.in_(regions),
                    (r.scope == "distributor") & r.scope_code.in_(distributors),
                )
            )
        rows = (
            await session.scalars(query.order_by(r.week.desc(), r.scope, r.scope_code).limit(LIMIT))
        ).all()
    return ctx.render(request, "reports.html", title="私域周报", rows=rows)


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage("私域周报", "/reports", "data", ("read", "reports"), reports, order=10, name="reports")
    )
