"""数据 > 私域周报: the archived weekly reports (bot/analytics) an operator may read, newest week
first, each viewable in the console (H5 and PDF). HQ sees every scope; a region's operators see
their region's report and those of the distributors under it; a distributor sees its own. A
report outside the operator's scope is a 404, like every scoped console page.

The archived page is self-contained (one inline ``<style>``, SVG charts without inline styles);
the console's CSP allows no inline style, so its view links the same rules as a stylesheet."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import Select, or_, select

from bot.analytics.models import WeeklyReport
from bot.console.context import PageContext
from bot.console.org_models import OrgNode
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope

LIMIT = 200
STYLE = re.compile(r"<style>(.*?)</style>", re.S)


async def _visible(session: Any, ctx: PageContext) -> Select[Any]:
    actor = ctx.actor
    r = WeeklyReport
    query = select(r).where(r.tenant_id == actor.tenant_id)
    if actor.is_hq:
        return query
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
    return query.where(
        or_(
            (r.scope == "region") & r.scope_code.in_(regions),
            (r.scope == "distributor") & r.scope_code.in_(distributors),
        )
    )


async def reports(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    async with session_scope(ctx.db) as session:
        query = await _visible(session, ctx)
        rows = (
            await session.scalars(
                query.order_by(WeeklyReport.week.desc(), WeeklyReport.scope, WeeklyReport.scope_code).limit(
                    LIMIT
                )
            )
        ).all()
    return ctx.render(request, "reports.html", title="私域周报", rows=rows)


async def _one(request: web.Request, ctx: PageContext) -> WeeklyReport:
    report_id = int(request.match_info["report_id"])
    async with session_scope(ctx.db) as session:
        query = await _visible(session, ctx)
        row = (await session.scalars(query.where(WeeklyReport.id == report_id))).one_or_none()
    if row is None:
        raise web.HTTPNotFound()
    return row


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8") if path else None
    except FileNotFoundError:
        return None


async def _html(request: web.Request, ctx: PageContext) -> str:
    row = await _one(request, ctx)
    text = await asyncio.to_thread(_read, row.html_path)
    if text is None:
        raise web.HTTPNotFound()
    return text


async def view(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    text = await _html(request, ctx)
    css = f'<link rel="stylesheet" href="/console/reports/{request.match_info["report_id"]}.css">'
    return web.Response(text=STYLE.sub(lambda _: css, text, count=1), content_type="text/html")


async def style(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    found = STYLE.search(await _html(request, ctx))
    return web.Response(text=found.group(1) if found else "", content_type="text/css")


async def pdf(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    row = await _one(request, ctx)
    if not row.pdf_path or not await asyncio.to_thread(Path(row.pdf_path).is_file):
        raise web.HTTPNotFound()
    return web.FileResponse(row.pdf_path, headers={"Content-Type": "application/pdf"})


def register_pages(registry: ConsoleRegistry) -> None:
    read = ("read", "reports")
    registry.add(ConsolePage("私域周报", "/reports", "data", read, reports, order=10, name="reports"))
    one = r"/reports/{report_id:\d{1,18}}"
    registry.add(ConsolePage("私域周报", one, "data", read, view, nav=False, name="report"))
    registry.add(ConsolePage("私域周报", one + ".css", "data", read, style, nav=False, name="report-css"))
    registry.add(ConsolePage("私域周报", one + ".pdf", "data", read, pdf, nav=False, name="report-pdf"))
