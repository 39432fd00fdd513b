"""The weekly report's H5 page: ``GET /r/report/{token}`` (the link pushed to managers) and its
PDF at ``/r/report/{token}.pdf``. The token is the unguessable part of the link; an unknown one
is a 404 with a plain Chinese page."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.analytics.models import WeeklyReport
from bot.db import session_scope

routes = web.RouteTableDef()


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


async def _report(request: web.Request) -> WeeklyReport:
    token = request.match_info["token"]
    services = request.app[keys.SERVICES]
    async with session_scope(services.sessions) as session:
        row = (
            await session.execute(select(WeeklyReport).where(WeeklyReport.token == token[:48]))
        ).scalar_one_or_none()
    if row is None:
        raise web.HTTPNotFound(text="报告不存在或链接已失效。", content_type="text/plain")
    return row


@routes.get(r"/r/report/{token:[A-Za-z0-9_-]{16,48}}")
async def page(request: web.Request) -> web.StreamResponse:
    row = await _report(request)
    text = await asyncio.to_thread(_read, Path(row.html_path))
    if text is None:
        raise web.HTTPGone(text="报告文件已归档清理。", content_type="text/plain")
    return web.Response(
        text=text,
        content_type="text/html",
        headers={"Cache-Control": "private, max-age=300"},
    )


@routes.get(r"/r/report/{token:[A-Za-z0-9_-]{16,48}}.pdf")
async def pdf(request: web.Request) -> web.StreamResponse:
    row = await _report(request)
    path = Path(row.pdf_path) if row.pdf_path else None
    if path is None or not await asyncio.to_thread(path.is_file):
        raise web.HTTPNotFound(text="该报告没有PDF版本。", content_type="text/plain")
    return web.FileResponse(path, headers={"Content-Type": "application/pdf"})


def add_routes(app: web.Application) -> None:
    app.router.add_routes(routes)
