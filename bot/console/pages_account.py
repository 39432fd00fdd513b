"""系统 > 账号安全: the operator's own WeChat binding for the optional second factor."""

from __future__ import annotations

import structlog
from aiohttp import web

from bot.console import accounts, audit, twofactor
from bot.console.context import PageContext
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope

log = structlog.get_logger(__name__)
EVERYONE = ("read", "reports")  # every role reads reports: the page is about oneself


def _page(
    request: web.Request,
    ctx: PageContext,
    *,
    status: int = 200,
    error: str = "",
    qr: str | None = None,
    nonce: str = "",
) -> web.StreamResponse:
    return ctx.render(
        request,
        "account.html",
        status=status,
        title="账号安全",
        done="" if qr else request.query.get("done", ""),
        qr=qr,
        nonce=nonce,
        error=error,
    )


async def account(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return _page(request, ctx)


async def bind_start(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    appid = twofactor.oa_appid(ctx.services, ctx.actor.tenant_id)
    qr = None
    nonce = ""
    if appid is not None:
        nonce = await twofactor.start(
            ctx.services.redis,
            ctx.services.keys,
            purpose=twofactor.BIND,
            operator_id=ctx.operator.id,
            tenant_id=ctx.actor.tenant_id,
            appid=appid,
            session_sid=ctx.session.sid,
        )
        try:
            qr = await twofactor.make_qr(ctx.services, appid, nonce)
        except Exception as exc:  # WeChat unreachable
            log.warning("console_2fa_qr_failed", error=type(exc).__name__)
    if qr is None:
        return _page(request, ctx, error="twofactor_unavailable", status=503)
    return _page(request, ctx, qr=qr, nonce=nonce)


async def bind_status(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    found = await twofactor.load(ctx.services.redis, ctx.services.keys, request.query.get("n", ""))
    if found is None or found.session != twofactor.sid_hash(ctx.session.sid):
        return web.json_response({"state": "expired"})
    return web.json_response({"state": "scanned" if found.openid else "pending"})


async def bind_finish(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    form = await request.post()
    taken = await twofactor.take(
        ctx.services.redis, ctx.services.keys, str(form.get("nonce", "")), ctx.session.sid
    )
    if taken is None or taken.purpose != twofactor.BIND or taken.operator_id != ctx.operator.id:
        return _page(request, ctx, error="twofactor_failed", status=400)
    try:
        async with session_scope(ctx.db) as session:
            await accounts.change(
                session,
                ctx.actor.tenant_id,
                ctx.operator.id,
                ctx.operator.version,
                wechat_openid=taken.openid,
            )
            await audit.record(
                session,
                ctx.who,
                "operator.bind_wechat",
                target_kind="operator",
                target_id=ctx.operator.id,
                before={"bound": ctx.operator.wechat_bound},
                after={"bound": True},
                origin=ctx.origin,
                now=ctx.runtime.clock(),
            )
    except accounts.AccountError as exc:
        return _page(request, ctx, error=exc.code, status=409)
    raise web.HTTPSeeOther(f"{request.app.router['account'].url_for()}?done=wechat_bound")


async def unbind(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    try:
        async with session_scope(ctx.db) as session:
            await accounts.change(
                session, ctx.actor.tenant_id, ctx.operator.id, ctx.operator.version, wechat_openid=None
            )
            await audit.record(
                session,
                ctx.who,
                "operator.unbind_wechat",
                target_kind="operator",
                target_id=ctx.operator.id,
                before={"bound": ctx.operator.wechat_bound},
                after={"bound": False},
                origin=ctx.origin,
                now=ctx.runtime.clock(),
            )
    except accounts.AccountError as exc:
        return _page(request, ctx, error=exc.code, status=409)
    raise web.HTTPSeeOther(f"{request.app.router['account'].url_for()}?done=wechat_unbound")


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(ConsolePage("账号安全", "/account", "system", EVERYONE, account, order=90, name="account"))
    registry.add(
        ConsolePage("绑定微信", "/account/wechat", "system", EVERYONE, bind_start, method="POST", nav=False)
    )
    registry.add(
        ConsolePage("绑定状态", "/account/wechat/status", "system", EVERYONE, bind_status, nav=False)
    )
    registry.add(
        ConsolePage(
            "完成绑定", "/account/wechat/confirm", "system", EVERYONE, bind_finish, method="POST", nav=False
        )
    )
    registry.add(
        ConsolePage(
            "解除绑定", "/account/wechat/unbind", "system", EVERYONE, unbind, method="POST", nav=False
        )
    )
