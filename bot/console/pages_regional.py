"""营销 > 区域活动 and 内容 > 首页装修 (issue 16): a regional marketing centre's campaigns (秒杀,
拼单, 拍卖 in the core) and its mini-program home, under the console's one policy.

A campaign hangs in the org tree where its audience is: one region -> ``/r<core id>/``, none or
several -> ``/`` (HQ's). A storefront hangs at its region (``*``, the default, at ``/``). Reading
follows the ``campaigns`` / ``content`` rows of the matrix (a region reads HQ's and its own,
never another region's: 404); creating a campaign is ``manage``, stopping one ``write``;
publishing a home is ``content`` ``write``. Every change is audited. The domain work is in
``bot.campaigns.regional`` and ``bot.campaigns.storefront``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import structlog
from aiohttp import web

from backend_client import BackendUnavailable
from bot.campaigns import regional, storefront
from bot.campaigns.regional import RegionalCampaign, RegionalRefused
from bot.console import audit
from bot.console.context import PageContext
from bot.console.policy import Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope

log = structlog.get_logger(__name__)
TZ = ZoneInfo("Asia/Shanghai")


async def _regions(ctx: PageContext) -> dict[int, tuple[str, str]]:
    """core region id -> (code, name)."""
    core = await ctx.core()
    if core is None:  # no core configured: no regions, no campaigns (the page says so)
        return {}
    return {r.id: (r.code, r.name) for r in await core.org.regions()}


def _path(codes: tuple[str, ...], by_code: dict[str, int]) -> str:
    return f"/r{by_code[codes[0]]}/" if len(codes) == 1 and codes[0] in by_code else "/"


def _resource(ctx: PageContext, kind: str, path: str) -> Resource:
    return Resource(kind, ctx.actor.tenant_id, path)


def _own_regions(
    ctx: PageContext, regions: dict[int, tuple[str, str]], kind: str, action: str
) -> list[tuple[str, str]]:
    """(code, name) of the regions where the actor may ``action`` ``kind``."""
    return [
        (c, n)
        for rid, (c, n) in sorted(regions.items())
        if can(ctx.actor, action, _resource(ctx, kind, f"/r{rid}/"))
    ]


# campaigns -------------------------------------------------------------------------------------------
async def campaigns(
    request: web.Request, ctx: PageContext, *, status: int = 200, error: str = "", form: Any = None
) -> web.StreamResponse:
    core = await ctx.core()
    regions = await _regions(ctx)
    by_code = {code: rid for rid, (code, _n) in regions.items()}
    now = datetime.now(UTC)
    try:
        found = await regional.all_campaigns(core, now) if core is not None else []
    except BackendUnavailable:
        return ctx.render(request, "error.html", status=503, title="订货系统繁忙", error="core_unavailable")
    rows = []
    for c in found:
        path = _path(c.region_codes, by_code)
        if can(ctx.actor, "read", _resource(ctx, "campaigns", path)):
            rows.append(
                {
                    "c": c.campaign,
                    "regions": c.region_codes,
                    "may_stop": can(ctx.actor, "write", _resource(ctx, "campaigns", path))
                    and c.campaign.status != "ended",
                }
            )
    creatable = _own_regions(ctx, regions, "campaigns", "manage")
    nationwide = can(ctx.actor, "manage", _resource(ctx, "campaigns", "/"))
    return ctx.render(
        request,
        "regional_campaigns.html",
        status=status,
        title="区域活动",
        rows=rows,
        creatable=creatable if core is not None else [],
        nationwide=nationwide and core is not None,
        core_missing=core is None,
        error=error,
        form=form or {},
        request_key=secrets.token_urlsafe(12),
        done=request.query.get("done", ""),
        tz=TZ,
    )


def _fen(value: str, name: str) -> int:
    try:
        yuan = float(value)
    except ValueError:
        raise RegionalRefused("invalid", f"{name}: 请填写金额") from None
    if not 0 < yuan < 10**8:
        raise RegionalRefused("invalid", f"{name}: 金额超出范围")
    return round(yuan * 100)


def _int(value: str, name: str, low: int = 1, high: int = 10**6) -> int:
    if not value.strip().isdigit() or not low <= int(value) <= high:
        raise RegionalRefused("invalid", f"{name}: 请填写 {low}-{high} 的整数")
    return int(value)


def _when(value: str, name: str) -> str:
    try:
        at = datetime.fromisoformat(value).replace(tzinfo=TZ)
    except ValueError:
        raise RegionalRefused("invalid", f"{name}: 时间格式不对") from None
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def definition_of(form: Any) -> dict[str, Any]:
    """The core's promotion definition from the create form; RegionalRefused("invalid", 中文)."""
    kind = str(form.get("kind", ""))
    name = str(form.get("name", "")).strip()[:200]
    sku = str(form.get("sku", "")).strip()[:64]
    if kind not in ("flash_sale", "group_buy", "auction") or not name or not sku:
        raise RegionalRefused("invalid", "请选择活动类型并填写名称和商品编码")
    body: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "starts_at": _when(str(form.get("starts_at", "")), "开始时间"),
        "ends_at": _when(str(form.get("ends_at", "")), "结束时间"),
    }
    if kind == "flash_sale":
        body["rules"] = {"sku": sku, "price_fen": _fen(str(form.get("price", "")), "秒杀价")}
        body["stock"] = _int(str(form.get("stock", "")), "库存")
        body["per_store_limit"] = _int(str(form.get("per_store_limit", "") or "1"), "每店限购")
    elif kind == "group_buy":
        tiers = []
        for part in str(form.get("tiers", "")).replace("，", ",").split(","):
            if part.strip():
                stores, _, price = part.partition(":")
                tiers.append(
                    {
                        "min_stores": _int(stores, "档位门店数", 1, 10_000),
                        "price_fen": _fen(price, "档位价格"),
                    }
                )
        if not tiers:
            raise RegionalRefused("invalid", "档位: 例如 2:100, 3:90, 5:80")
        body["rules"] = {
            "sku": sku,
            "min_group_size": _int(str(form.get("min_group_size", "")), "成团门店数", 2, 10_000),
            "tiers": tiers,
        }
    else:
        body["rules"] = {
            "sku": sku,
            "warehouse_id": _int(str(form.get("warehouse_id", "")), "仓库编号"),
            "start_price_fen": _fen(str(form.get("price", "")), "起拍价"),
            "floor_price_fen": _fen(str(form.get("floor_price", "")), "最低价"),
            "step_fen": _fen(str(form.get("step", "")), "每次降价"),
            "step_seconds": 60 * _int(str(form.get("step_minutes", "")), "降价间隔分钟", 1, 43_200),
        }
        body["stock"] = _int(str(form.get("stock", "")), "批次数量")
    return body


def _no_core(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return ctx.render(request, "error.html", status=503, title="未配置订货系统", error="core_unavailable")


async def create(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    core = await ctx.core()
    if core is None:
        return _no_core(request, ctx)
    form = await request.post()
    regions = await _regions(ctx)
    by_code = {code: rid for rid, (code, _n) in regions.items()}
    region = str(form.get("region", "")) or None
    path = f"/r{by_code[region]}/" if region in by_code else "/"
    if region is not None and region not in by_code:
        return await campaigns(request, ctx, status=400, error="区域不存在", form=form)
    if not can(ctx.actor, "manage", _resource(ctx, "campaigns", path)):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    key = str(form.get("request_key", ""))[:40]
    if len(key) < 8:
        return await campaigns(request, ctx, status=400, error="请刷新页面后重新提交", form=form)
    try:
        created = await regional.create_in_region(
            core, definition_of(form), region, key=f"jb:console:{ctx.operator.id}:{key}"
        )
    except RegionalRefused as exc:
        log.info("console_campaign_refused", reason=exc.reason, detail=exc.detail[:200])
        return await campaigns(request, ctx, status=400, error=exc.detail or exc.reason, form=form)
    async with session_scope(ctx.db) as session:
        await audit.record(
            session,
            ctx.who,
            "campaign.create",
            target_kind="campaign",
            target_id=created.campaign.id,
            after={
                "name": created.campaign.name,
                "kind": created.campaign.kind,
                "regions": created.region_codes,
            },
            origin=ctx.origin,
        )
    raise web.HTTPSeeOther(f"{request.app.router['regional-campaigns'].url_for()}?done=campaign_created")


async def _change(request: web.Request, ctx: PageContext, verb: str) -> web.StreamResponse:
    """Stop, pause or resume a campaign: ``write`` on its region (HQ: every region); another
    region's is a 404 as if it did not exist."""
    text = request.match_info["campaign_id"]
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise web.HTTPNotFound()
    core = await ctx.core()
    if core is None:
        return _no_core(request, ctx)
    regions = await _regions(ctx)
    by_code = {code: rid for rid, (code, _n) in regions.items()}
    now = datetime.now(UTC)
    try:
        found = await regional.campaign(core, int(text), now)
    except RegionalRefused:
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    resource = _resource(ctx, "campaigns", _path(found.region_codes, by_code))
    if not can(ctx.actor, "read", resource):  # another region's: as if it did not exist
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    if not can(ctx.actor, "write", resource):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    try:
        if verb == "stop":
            changed: RegionalCampaign = await regional.stop(core, found, now)
        else:
            changed = await regional.set_paused(core, found, verb == "pause", now)
    except RegionalRefused:
        return ctx.render(request, "error.html", status=409, title="活动已结束", error="conflict")
    async with session_scope(ctx.db) as session:
        await audit.record(
            session,
            ctx.who,
            f"campaign.{verb}",
            target_kind="campaign",
            target_id=changed.campaign.id,
            before={"status": found.campaign.status},
            after={"status": changed.campaign.status},
            origin=ctx.origin,
        )
    done = {"stop": "campaign_stopped", "pause": "campaign_paused", "resume": "campaign_resumed"}[verb]
    raise web.HTTPSeeOther(f"{request.app.router['regional-campaigns'].url_for()}?done={done}")


async def stop(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _change(request, ctx, "stop")


async def pause(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _change(request, ctx, "pause")


async def resume(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _change(request, ctx, "resume")


# storefronts ------------------------------------------------------------------------------------------
def _front_path(region: str, by_code: dict[str, int]) -> str | None:
    if region == storefront.DEFAULT:
        return "/"
    return f"/r{by_code[region]}/" if region in by_code else None


async def storefronts(
    request: web.Request, ctx: PageContext, *, status: int = 200, error: str = "", draft: str = ""
) -> web.StreamResponse:
    regions = await _regions(ctx)
    by_code = {code: rid for rid, (code, _n) in regions.items()}
    readable = (
        [(storefront.DEFAULT, "默认（全部区域）")]
        if can(ctx.actor, "read", _resource(ctx, "content", "/"))
        else []
    )
    readable += _own_regions(ctx, regions, "content", "read")
    region = (
        request.match_info.get("region")
        or request.query.get("region")
        or (readable[0][0] if readable else "")
    )
    path = _front_path(region, by_code)
    if path is None or not can(ctx.actor, "read", _resource(ctx, "content", path)):
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    async with session_scope(ctx.db) as session:
        history = await storefront.versions(session, ctx.actor.tenant_id, region)
    live = history[0] if history else None
    editable = live.layout if live else storefront.EMPTY
    return ctx.render(
        request,
        "storefronts.html",
        status=status,
        title="首页装修",
        regions=readable,
        region=region,
        live=live,
        history=history,
        may_write=can(ctx.actor, "write", _resource(ctx, "content", path)),
        draft=draft or orjson.dumps(editable, option=orjson.OPT_INDENT_2).decode(),
        error=error,
        done=request.query.get("done", ""),
    )


async def publish(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    region = request.match_info["region"][:64]
    regions = await _regions(ctx)
    by_code = {code: rid for rid, (code, _n) in regions.items()}
    path = _front_path(region, by_code)
    if path is None or not can(ctx.actor, "read", _resource(ctx, "content", path)):
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    if not can(ctx.actor, "write", _resource(ctx, "content", path)):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    form = await request.post()
    draft = str(form.get("layout", ""))[:20_000]
    try:
        layout = orjson.loads(draft)
        async with session_scope(ctx.db) as session:
            published = await storefront.publish_version(
                session, ctx.actor.tenant_id, region, layout, by=None, now=ctx.runtime.clock()
            )
            await audit.record(
                session,
                ctx.who,
                "storefront.publish",
                target_kind="storefront",
                target_id=f"{region}:{published.version}",
                after=published.layout,
                origin=ctx.origin,
            )
    except orjson.JSONDecodeError:
        return await storefronts(request, ctx, status=400, error="布局不是有效的 JSON", draft=draft)
    except RegionalRefused as exc:
        return await storefronts(request, ctx, status=400, error=exc.detail or exc.reason, draft=draft)
    raise web.HTTPSeeOther(
        f"{request.app.router['regional-storefronts'].url_for()}?region={region}&done=storefront_published"
    )


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage(
            "区域活动",
            "/campaigns",
            "marketing",
            ("read", "campaigns"),
            campaigns,
            order=30,
            name="regional-campaigns",
        )
    )
    registry.add(
        ConsolePage(
            "创建活动",
            "/campaigns",
            "marketing",
            ("manage", "campaigns"),
            create,
            method="POST",
            nav=False,
            name="regional-campaign-create",
        )
    )
    registry.add(
        ConsolePage(
            "停止活动",
            "/campaigns/{campaign_id}/stop",
            "marketing",
            ("write", "campaigns"),
            stop,
            method="POST",
            nav=False,
        )
    )
    for title, verb, handler in (("暂停活动", "pause", pause), ("恢复活动", "resume", resume)):
        registry.add(
            ConsolePage(
                title,
                f"/campaigns/{{campaign_id}}/{verb}",
                "marketing",
                ("write", "campaigns"),
                handler,
                method="POST",
                nav=False,
            )
        )
    registry.add(
        ConsolePage(
            "首页装修",
            "/storefronts",
            "content",
            ("read", "content"),
            storefronts,
            order=20,
            name="regional-storefronts",
        )
    )
    registry.add(
        ConsolePage(
            "发布首页",
            "/storefronts/{region}",
            "content",
            ("write", "content"),
            publish,
            method="POST",
            nav=False,
        )
    )
