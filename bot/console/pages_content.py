"""营销 > 内容与直播: the content library with its figures and the review queue (approve / reject,
audited), the forwarders' leaderboard (tenant or one region) and the livestreams with their
figures. Items are scoped by their owning region (``repository_content``): a region's operators
see their region's items and HQ's, review their region's only; another region's item is a 404.
Authoring and the per-item leaderboard: ``pages_content_items``."""

from __future__ import annotations

import structlog
from aiohttp import web
from sqlalchemy import select

from bot.console import audit
from bot.console import repository_content as items_repo
from bot.console.context import PageContext
from bot.console.policy import Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.content import library, live, stats
from bot.content.errors import ContentError
from bot.content.models import Livestream
from bot.db import session_scope

log = structlog.get_logger(__name__)
STATES = {
    "draft": "草稿",
    "review": "待审核",
    "published": "已发布",
    "rejected": "已驳回",
    "archived": "已下架",
}
KINDS = {"article": "图文", "video": "短视频", "poster": "海报", "product": "商品卡", "live": "直播"}


async def overview(
    request: web.Request, ctx: PageContext, *, status: int = 200, error: str = ""
) -> web.StreamResponse:
    tenant = ctx.actor.tenant_id
    region = request.query.get("region", "")[:64] or None
    async with session_scope(ctx.db) as session:
        items = await items_repo.listing(session, ctx.actor)
        paths = await items_repo.region_paths(session, tenant)
        writable = {i.id for i in items if items_repo.allowed(ctx.actor, "write", i, paths)}
        figures = {row["item_id"]: row for row in await stats.per_item(session, tenant)}
        board = await stats.leaderboard(session, tenant, region=region, top=20)
        shows = [
            live.to_live(r)
            for r in (
                await session.execute(
                    select(Livestream)
                    .where(Livestream.tenant_id == tenant)
                    .order_by(Livestream.starts_at.desc())
                    .limit(20)
                )
            ).scalars()
        ]
        live_figures = {s.id: await live.figures(session, s) for s in shows}
    return ctx.render(
        request,
        "content.html",
        status=status,
        title="内容与直播",
        items=items,
        figures=figures,
        board=board,
        region=region or "",
        shows=shows,
        live_figures=live_figures,
        states=STATES,
        kinds=KINDS,
        may_review=can(ctx.actor, "write", Resource("content", tenant, ctx.actor.scope.path)),
        writable=writable,
        done=request.query.get("done", ""),
        error=error,
    )


async def review(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    text, action = request.match_info["item_id"], request.match_info["action"]
    if action not in ("approve", "reject") or not (text.isascii() and text.isdigit() and len(text) < 19):
        raise web.HTTPNotFound()
    tenant = ctx.actor.tenant_id
    if not can(ctx.actor, "write", Resource("content", tenant, ctx.actor.scope.path)):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    async with session_scope(ctx.db) as session:
        if await items_repo.get(session, ctx.actor, int(text), "write") is None:
            log.info("console_content_refused", item=text, action=action, reason="out_of_scope")
            return ctx.render(request, "error.html", status=404, title="内容不存在", error="not_found")
    try:
        async with session_scope(ctx.db) as session:
            step = library.approve if action == "approve" else library.reject
            item = await step(session, tenant, int(text), by=ctx.operator.username)
            await audit.record(
                session, ctx.who, f"content.{action}", target_kind="content_item", target_id=item.id,
                after={"state": item.state}, origin=ctx.origin,
            )  # fmt: skip
    except ContentError as exc:
        log.info("console_content_refused", item=text, action=action, reason=exc.reason)
        return await overview(request, ctx, status=404 if exc.reason == "no_item" else 409, error=exc.reason)
    raise web.HTTPSeeOther(f"{request.app.router['content'].url_for()}?done={action}")


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage(
            "内容与直播", "/content", "marketing", ("read", "content"), overview, order=30, name="content"
        )
    )
    registry.add(
        ConsolePage(
            "审核内容",
            "/content/{item_id:\\d+}/{action:approve|reject}",
            "marketing",
            ("write", "content"),
            review,
            method="POST",
            nav=False,
        )
    )
