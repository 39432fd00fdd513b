"""The weekly report's H5 page ``GET /r/report/{token}?g=<grant>`` (the link pushed to one
region manager or distributor) and its PDF at ``/r/report/{token}.pdf?g=<grant>``.

The link is not a bearer token: the grant is signed for the report's tenant, scope and its one
recipient and expires (bot/analytics/links.py); the person opening it signs in with WeChat's
silent snsapi_base OAuth (bot/web/h5auth.py: no password, inside WeChat) and must be that
recipient, still a recipient of the scope, with the delivery not revoked. A forwarded link
shows nothing to whoever receives it. Every refusal is a 4xx page with a Chinese sentence and a
log line with the reason. Operators read every report their role allows in the console.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import structlog
from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.analytics import archive, links, render
from bot.analytics.models import WeeklyReport
from bot.db import session_scope
from bot.web.h5auth import current_member, in_wechat, login_redirect
from bot.web.member_pages import render as render_page

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
REPORT_PATH = r"{token:[A-Za-z0-9_-]{16,48}}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _refuse(status: int, reason: str) -> web.HTTPException:
    texts = render.labels()["refused"]
    page = render_page(
        "member_message",
        status=status,
        heading=texts["heading"],
        text=texts[reason].format(days=links.LINK_DAYS),
    )
    kinds: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
        410: web.HTTPGone,
    }
    headers = {k: v for k, v in page.headers.items() if k.lower() != "content-type"}
    return kinds[status](text=page.text, content_type="text/html", headers=headers)


async def _authorised(request: web.Request) -> WeeklyReport:
    """The report, once the grant and the person opening it are checked; raises a refusal."""
    services = request.app[keys.SERVICES]
    token = request.match_info["token"]
    async with session_scope(services.sessions) as session:
        row = (
            await session.execute(select(WeeklyReport).where(WeeklyReport.token == token[:48]))
        ).scalar_one_or_none()
    if row is None:
        log.info("report_link_refused", reason="not_found")
        raise _refuse(404, "not_found")
    analytics = services.analytics
    if analytics is None:
        raise web.HTTPServiceUnavailable(text="analytics is not configured")
    grant = links.check(
        analytics.link_secret,
        request.query.get("g", "")[:80],
        report_id=row.id,
        tenant_id=row.tenant_id,
        scope=row.scope,
        code=row.scope_code,
        now=time.time(),
    )
    if isinstance(grant, links.Refused):
        log.info("report_link_refused", reason=grant.reason, report_id=row.id)
        raise _refuse(410 if grant.reason == "expired" else 403, grant.reason)
    viewer = current_member(request)
    if viewer is None or viewer.tenant_id != row.tenant_id:
        if not in_wechat(request):
            log.info("report_link_refused", reason="not_in_wechat", report_id=row.id)
            raise _refuse(403, "open_in_wechat")
        raise await login_redirect(request, request.path_qs, row.tenant_id)
    if viewer.member_id != grant.member_id:
        log.info("report_link_refused", reason="forwarded", report_id=row.id, viewer=viewer.member_id)
        raise _refuse(403, "forwarded")
    async with session_scope(services.sessions) as session:
        why = await archive.may_open(session, row, grant.member_id)
    if why is not None:
        log.info("report_link_refused", reason=why, report_id=row.id, member_id=grant.member_id)
        raise _refuse(410 if why == "revoked" else 403, why)
    return row


PRIVATE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


@routes.get(rf"/r/report/{REPORT_PATH}")
async def page(request: web.Request) -> web.StreamResponse:
    row = await _authorised(request)
    text = await asyncio.to_thread(_read, Path(row.html_path))
    if text is None:
        raise _refuse(410, "gone")
    return web.Response(text=text, content_type="text/html", headers=PRIVATE)


@routes.get(rf"/r/report/{REPORT_PATH}.pdf")
async def pdf(request: web.Request) -> web.StreamResponse:
    row = await _authorised(request)
    path = Path(row.pdf_path) if row.pdf_path else None
    if path is None or not await asyncio.to_thread(path.is_file):
        raise _refuse(404, "no_pdf")
    return web.FileResponse(path, headers={"Content-Type": "application/pdf", **PRIVATE})


def add_routes(app: web.Application) -> None:
    app.router.add_routes(routes)
