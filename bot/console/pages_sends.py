"""营销 > 群发进度: the automation campaigns (one-off marketing sends) with their progress while
workers send them (``jiubot campaigns send``, any number at once): recipients sent, unreachable
(no lawful channel, or past the month's 4 mass sends), suppressed (opted out, frequency cap),
unknown (in flight when a worker died: never sent twice) and still to send."""

from __future__ import annotations

from aiohttp import web

from bot.automation.campaigns import overview
from bot.console.context import PageContext
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope


async def sends(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    async with session_scope(ctx.db) as session:
        rows = await overview(session, ctx.actor.tenant_id)
    running = any(r.progress.pending or r.progress.claimed for r in rows)
    announced = request.query.get("announced", "")  # from 区域活动's 通知门店: its send's row
    return ctx.render(
        request, "campaign_sends.html", title="群发进度", crumbs=(("营销", ""), ("群发进度", "")),
        rows=rows, running=running, announced=int(announced) if announced.isdigit() else None,
    )  # fmt: skip


def register_pages(registry: ConsoleRegistry) -> None:
    page = ConsolePage(
        "群发进度",
        "/campaign-sends",
        "marketing",
        ("read", "campaigns"),
        sends,
        order=31,
        name="campaign-sends",
    )
    registry.add(page)
