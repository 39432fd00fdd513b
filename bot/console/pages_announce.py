"""营销 > 区域活动 > 通知门店: announce a regional campaign to its target stores' owners and
staff as a one-off automation campaign send (bot/automation/campaigns.py), which workers send
through the customer-service window and the reach budget (never a template message; whoever
has no lawful channel is recorded ``unreachable`` with the reason).

Recipients: the members bound (owner, staff) to the stores the campaign targets (its regions
and tiers in the core), under automation's rules (opted out, holdout, frequency cap). Once per
campaign: the send is named after it (unique per tenant: of two concurrent clicks one creates
it, the other finds it), and a second click shows the existing send's progress.
Scoped like stopping (``write`` on the campaign's region; another region's: 404); audited."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

from backend_client import BackendUnavailable
from bot.automation import campaigns as sends
from bot.campaigns import regional
from bot.campaigns.regional import RegionalCampaign, RegionalRefused
from bot.campaigns.views import CampaignView
from bot.console import audit
from bot.console.context import PageContext
from bot.console.policy import Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.console.twofactor import oa_appid
from bot.db import session_scope
from bot.ordering import repository as ordering_repo

log = structlog.get_logger(__name__)
TZ = ZoneInfo("Asia/Shanghai")


def send_name(found: RegionalCampaign) -> str:
    """The automation campaign's name: one per regional campaign (its unique key)."""
    return f"区域活动#{found.campaign.id} {found.campaign.name}"[:64]


def _price_fen(c: CampaignView) -> int | None:
    if c.price_fen is not None:
        return c.price_fen
    if c.group is not None and c.group.tiers:
        return max(price for _stores, price in c.group.tiers)  # the price before any tier: the dearest
    return None


def message(ctx: PageContext, c: CampaignView) -> str:
    return (
        ctx.services.texts.get_template("pushes/regional_announce.j2")
        .render(
            label=c.label,
            name=c.name,
            price_fen=_price_fen(c),
            ends_at=c.ends_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
        )
        .strip()
    )


async def announce(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    text = request.match_info["campaign_id"]
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise web.HTTPNotFound()
    core = await ctx.core()
    if core is None:
        return ctx.render(request, "error.html", status=503, title="未配置订货系统", error="core_unavailable")
    tenant = ctx.actor.tenant_id
    try:
        by_code = {r.code: r.id for r in await core.org.regions()}
        found = await regional.campaign(core, int(text), datetime.now(UTC))
    except RegionalRefused:
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    except BackendUnavailable:
        return ctx.render(request, "error.html", status=503, title="订货系统繁忙", error="core_unavailable")
    codes = found.region_codes
    path = f"/r{by_code[codes[0]]}/" if len(codes) == 1 and codes[0] in by_code else "/"
    resource = Resource("campaigns", tenant, path)
    if not can(ctx.actor, "read", resource):  # another region's: as if it did not exist
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    if not can(ctx.actor, "write", resource):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    progress_url = request.app.router["campaign-sends"].url_for()
    name = send_name(found)
    async with session_scope(ctx.db) as session:
        existing = await sends.named(session, tenant, name)
    if existing is not None:  # announced before: show its progress, send nothing again
        raise web.HTTPSeeOther(f"{progress_url}?announced={existing}")
    appid = oa_appid(ctx.services, tenant)
    if appid is None:
        log.info("console_announce_no_oa", campaign=found.campaign.id)
        return ctx.render(request, "error.html", status=409, title="未配置公众号", error="conflict")
    try:
        stores = await regional.target_stores(core, found.campaign.id)
    except BackendUnavailable:
        return ctx.render(request, "error.html", status=503, title="订货系统繁忙", error="core_unavailable")
    async with session_scope(ctx.db) as session:
        members = await ordering_repo.people_of_core_stores(session, tenant, stores)
        cid = await sends.create_once(session, tenant, name, message(ctx, found.campaign))
        if cid is None:  # a concurrent click created it first
            existing = await sends.named(session, tenant, name)
            raise web.HTTPSeeOther(f"{progress_url}?announced={existing}")
        total = await sends.materialise_members(
            session, tenant, cid, appid, members, holdout_share=ctx.services.settings.automation_holdout
        )
        await audit.record(
            session,
            ctx.who,
            "campaign.announce",
            target_kind="campaign",
            target_id=found.campaign.id,
            after={"send": cid, "stores": len(stores), "people": len(members), "recipients": total},
            origin=ctx.origin,
        )
    log.info("console_campaign_announced", campaign=found.campaign.id, send=cid, recipients=total)
    raise web.HTTPSeeOther(f"{progress_url}?announced={cid}")


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage(
            "通知门店",
            "/campaigns/{campaign_id}/announce",
            "marketing",
            ("write", "campaigns"),
            announce,
            method="POST",
            nav=False,
        )
    )
