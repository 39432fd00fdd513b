"""营销 > 优惠券活动: the core's coupon campaigns a reader may see, one campaign, and creating one."""

from __future__ import annotations

import re
from typing import Any

import structlog
from aiohttp import web

from backend_client import BackendUnavailable, CoreClient, CoreError, NotFound, ValidationFailed
from bot.console import campaigns, form_tokens, repository
from bot.console.campaigns import SHANGHAI, CampaignRefused
from bot.console.context import PageContext
from bot.console.policy import ROOT, Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope

log = structlog.get_logger(__name__)
_CURSOR = re.compile(r"^[A-Za-z0-9_=-]{1,200}$")
STATUSES = ("scheduled", "active", "ended")
FIELDS = (
    "name", "kind", "amount", "percent", "max_discount", "threshold", "audience", "region", "starts", "ends",
    "valid_days", "valid_until", "stock", "per_holder", "token",
)  # fmt: skip


async def core_client(ctx: PageContext) -> CoreClient | None:
    return await ctx.core()


async def _list(
    request: web.Request,
    ctx: PageContext,
    *,
    status: int = 200,
    form_error: tuple[str, str] | None = None,
    form_values: dict[str, str] | None = None,
) -> web.StreamResponse:
    state = request.query.get("status", "")
    state = state if state in STATUSES else ""
    cursor = request.query.get("cursor") or None
    if cursor is not None and not _CURSOR.match(cursor):
        cursor, status, form_error = None, 400, ("cursor", "cursor.malformed")
    rows: list[Any] = []
    next_cursor = None
    core = await core_client(ctx)
    unavailable = core is None  # not configured: the page says so (200)
    failed = False  # configured but not answering: 503
    if core is not None:
        try:
            page = await core.coupons.campaigns(status=state or None, cursor=cursor, limit=20)
            rows = [c for c in page.items if campaigns.visible(ctx.actor, c)]
            next_cursor = page.next_cursor
        except CoreError as exc:
            log.warning("console_core_unavailable", page="campaigns", error=exc.code)
            unavailable = failed = True
    may_create = can(ctx.actor, "manage", Resource("coupons", ctx.actor.tenant_id, ROOT))
    regions = []
    if may_create:
        async with session_scope(ctx.db) as session:
            regions = await repository.children(session, ctx.actor)
    return ctx.render(
        request,
        "campaigns.html",
        status=503 if failed and status == 200 else status,
        title="优惠券活动",
        rows=rows,
        state=state,
        next_cursor=next_cursor,
        first_page=cursor is None,
        unavailable=unavailable,
        may_create=may_create and core is not None,
        regions=regions,
        token=form_tokens.new(),
        today=ctx.runtime.clock().astimezone(SHANGHAI).date().isoformat(),
        done=request.query.get("done", ""),
        form_error=form_error,
        form_values=form_values or {},
    )


async def campaign_list(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _list(request, ctx)


async def campaign_detail(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    text = request.match_info["campaign_id"]
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise web.HTTPNotFound()
    core = await core_client(ctx)
    if core is None:
        return ctx.render(request, "error.html", status=503, title="暂不可用", error="core_unavailable")
    try:
        found = await core.coupons.campaign(int(text))
    except NotFound:
        found = None
    except CoreError as exc:
        log.warning("console_core_unavailable", page="campaign", error=exc.code)
        return ctx.render(request, "error.html", status=503, title="暂不可用", error="core_unavailable")
    if found is None or not campaigns.visible(ctx.actor, found):
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    return ctx.render(
        request,
        "campaign.html",
        title=found.name,
        crumbs=(
            ("营销", ""),
            ("优惠券活动", f"{request.app.router['campaigns'].url_for()}"),
            (found.name, ""),
        ),
        c=found,
        done=request.query.get("done", ""),
    )


async def create(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    data = await request.post()
    raw = {k: str(data.get(k, ""))[:80] for k in FIELDS}
    core = await core_client(ctx)
    if core is None:
        return await _list(request, ctx, status=503, form_error=("form", "core_unavailable"), form_values=raw)
    now = ctx.runtime.clock()
    try:
        form = campaigns.CampaignForm.parse(raw, today=now.astimezone(SHANGHAI).date())
        async with session_scope(ctx.db) as session:
            await campaigns.check_scope(session, ctx.actor, form)
    except CampaignRefused as exc:
        log.info("console_campaign_refused", field=exc.field, code=exc.code)
        return await _list(request, ctx, status=400, form_error=(exc.field, exc.code), form_values=raw)
    try:
        made = await core.coupons.create_campaign(
            form.definition(), idempotency_key=campaigns.idempotency_key(form)
        )
    except ValidationFailed as exc:
        log.info("console_campaign_core_refused", error=str(exc))
        return await _list(request, ctx, status=400, form_error=("form", "core_refused"), form_values=raw)
    except (BackendUnavailable, CoreError) as exc:
        log.warning("console_core_unavailable", page="campaign_create", error=exc.code)
        return await _list(request, ctx, status=503, form_error=("form", "core_unavailable"), form_values=raw)
    async with session_scope(ctx.db) as session:
        first = await campaigns.record_created(session, ctx.who, form, made, origin=ctx.origin, now=now)
    log.info("console_campaign_created", campaign=made.id, first=first, operator=ctx.operator.id)
    url = request.app.router["campaign"].url_for(campaign_id=str(made.id))
    raise web.HTTPSeeOther(f"{url}?done={'campaign_created' if first else 'already_created'}")


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage("优惠券活动", "/coupons", "marketing", ("read", "coupons"), campaign_list, order=30,
                    name="campaigns")
    )  # fmt: skip
    registry.add(
        ConsolePage("新建优惠券活动", "/coupons", "marketing", ("manage", "coupons"), create, method="POST",
                    nav=False)
    )  # fmt: skip
    registry.add(
        ConsolePage("活动详情", "/coupons/{campaign_id}", "marketing", ("read", "coupons"), campaign_detail,
                    nav=False, name="campaign")
    )  # fmt: skip
