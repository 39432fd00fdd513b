"""门店与组织 > a store: owner and staff, live binding codes, an owner binding QR, revoking codes."""

from __future__ import annotations

import base64
import io

import segno
import structlog
from aiohttp import web

from bot.console import form_tokens, repository, stores_admin
from bot.console.context import PageContext
from bot.console.policy import Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.console.repository import StoreView
from bot.console.twofactor import oa_appid, wechat_client
from bot.db import session_scope
from bot.ordering import binding

log = structlog.get_logger(__name__)


def _core_id(request: web.Request) -> int:
    text = request.match_info["store_id"]
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise web.HTTPNotFound()
    return int(text)


async def _store(ctx: PageContext, core_id: int) -> StoreView | None:
    async with session_scope(ctx.db) as session:
        return await repository.get_store(session, ctx.actor, core_id)


def _qr_data_uri(content: str) -> str:
    qr = segno.make(content, error="m")
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=5, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


async def _page(
    request: web.Request,
    ctx: PageContext,
    core_id: int,
    *,
    status: int = 200,
    form_error: tuple[str, str] | None = None,
    qr: dict[str, str] | None = None,
) -> web.StreamResponse:
    now = ctx.runtime.clock()
    async with session_scope(ctx.db) as session:
        store = await repository.get_store(session, ctx.actor, core_id)
        if store is None:
            return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
        people = await stores_admin.members(session, ctx.actor, store)
        tokens = await stores_admin.live_tokens(session, ctx.actor.tenant_id, store, now)
    return ctx.render(
        request,
        "store.html",
        status=status,
        title=store.name,
        crumbs=(
            ("门店与组织", ""),
            ("门店列表", f"{request.app.router['stores'].url_for()}"),
            (store.name, ""),
        ),
        store=store,
        people=people,
        tokens=tokens,
        may_write=can(ctx.actor, "write", Resource("stores", ctx.actor.tenant_id, store.path)),
        qr_token=form_tokens.new(),
        revoke_token=form_tokens.new(),
        done=request.query.get("done", ""),
        form_error=form_error,
        qr=qr,
        max_days=stores_admin.MAX_DAYS,
    )


async def store_page(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _page(request, ctx, _core_id(request))


async def _writable(request: web.Request, ctx: PageContext) -> StoreView | web.StreamResponse:
    store = await _store(ctx, _core_id(request))
    if store is None:
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    if not can(ctx.actor, "write", Resource("stores", ctx.actor.tenant_id, store.path)):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    return store


async def issue_qr(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    data = await request.post()
    found = await _writable(request, ctx)
    if not isinstance(found, StoreView):
        return found
    store = found
    client, appid = wechat_client(ctx.services), oa_appid(ctx.services, ctx.actor.tenant_id)
    if client is None or appid is None:
        return await _page(request, ctx, store.core_id, status=503, form_error=("days", "wechat_unavailable"))
    try:
        days = stores_admin.parse_days(str(data.get("days", ""))[:8])
        async with session_scope(ctx.db) as session:
            token = await stores_admin.issue_owner_token(
                session,
                ctx.who,
                store,
                days=days,
                form_token=str(data.get("token", ""))[:80],
                origin=ctx.origin,
                now=ctx.runtime.clock(),
            )
    except stores_admin.StoreRefused as exc:
        log.info("console_store_qr_refused", store=store.code, field=exc.field, code=exc.code)
        return await _page(request, ctx, store.core_id, status=400, form_error=(exc.field, exc.code))
    url = request.app.router["store"].url_for(store_id=str(store.core_id))
    if token is None:
        raise web.HTTPSeeOther(f"{url}?done=already_issued")
    try:
        scene, code = await binding.binding_qr(client.qrcode, appid, token, days)
    except Exception:  # the token stays (revocable); the operator retries with a new form
        log.exception("console_store_qr_wechat_failed", store=store.code)
        return await _page(request, ctx, store.core_id, status=502, form_error=("days", "wechat_unavailable"))
    log.info("console_store_qr_issued", store=store.code, days=days, operator=ctx.operator.id)
    qr = {"scene": scene, "image": _qr_data_uri(code.url or code.image_url), "days": str(days)}
    return await _page(request, ctx, store.core_id, qr=qr)


async def revoke(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    data = await request.post()
    found = await _writable(request, ctx)
    if not isinstance(found, StoreView):
        return found
    store = found
    try:
        async with session_scope(ctx.db) as session:
            count = await stores_admin.revoke(
                session,
                ctx.who,
                store,
                form_token=str(data.get("token", ""))[:80],
                origin=ctx.origin,
                now=ctx.runtime.clock(),
            )
    except stores_admin.StoreRefused as exc:
        return await _page(request, ctx, store.core_id, status=400, form_error=(exc.field, exc.code))
    log.info("console_store_tokens_revoked", store=store.code, count=count, operator=ctx.operator.id)
    url = request.app.router["store"].url_for(store_id=str(store.core_id))
    raise web.HTTPSeeOther(f"{url}?done={'revoked' if count is not None else 'already_revoked'}")


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage(
            "门店详情",
            "/stores/{store_id}",
            "stores",
            ("read", "stores"),
            store_page,
            nav=False,
            name="store",
        )
    )
    registry.add(
        ConsolePage(
            "绑定二维码",
            "/stores/{store_id}/qr",
            "stores",
            ("write", "stores"),
            issue_qr,
            method="POST",
            nav=False,
        )
    )
    registry.add(
        ConsolePage(
            "撤销绑定码",
            "/stores/{store_id}/revoke",
            "stores",
            ("write", "stores"),
            revoke,
            method="POST",
            nav=False,
        )
    )
