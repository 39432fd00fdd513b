"""系统 > 公众号与小程序: the tenant's WeChat apps (HQ's), and the Official Account's menu editor with
a preview (nothing written) and a push (saved with a version check, then sent to WeChat)."""

from __future__ import annotations

import structlog
from aiohttp import web

from bot.console import form_tokens, menus
from bot.console.context import PageContext
from bot.console.menus import MenuRefused
from bot.console.policy import ROOT, Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope
from bot.ordering.menu import settings_values
from bot.tenancy.registry import AppConfig

log = structlog.get_logger(__name__)
MODES = {"plain": "明文", "compat": "兼容", "safe": "安全"}


def _apps(ctx: PageContext) -> list[AppConfig]:
    """The tenant's apps, for readers of HQ's configuration (others: none)."""
    if not can(ctx.actor, "read", Resource("apps", ctx.actor.tenant_id, ROOT)):
        return []
    return sorted(
        (a for a in ctx.services.registry.all() if a.tenant_id == ctx.actor.tenant_id), key=lambda a: a.appid
    )


def _oa(request: web.Request, ctx: PageContext) -> AppConfig | None:
    appid = request.match_info["appid"]
    return next((a for a in _apps(ctx) if a.appid == appid and a.kind == "oa"), None)


async def apps(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    hq = can(ctx.actor, "read", Resource("apps", ctx.actor.tenant_id, ROOT))
    return ctx.render(
        request, "apps.html", title="公众号与小程序", rows=_apps(ctx), modes=MODES, scoped_out=not hq
    )


async def _editor(
    request: web.Request,
    ctx: PageContext,
    app: AppConfig,
    *,
    status: int = 200,
    layout: str | None = None,
    version: int | None = None,
    preview: list[dict[str, object]] | None = None,
    error: MenuRefused | None = None,
) -> web.StreamResponse:
    async with session_scope(ctx.db) as session:
        state = await menus.load(session, ctx.actor.tenant_id, app.appid)
    if preview is None and error is None:
        try:
            preview = menus.check(
                state.layout if layout is None else layout, settings_values(ctx.services.settings)
            )
        except MenuRefused as exc:
            error = exc
    return ctx.render(
        request,
        "menu.html",
        status=status,
        title="自定义菜单",
        crumbs=(
            ("系统", ""),
            ("公众号与小程序", f"{request.app.router['apps'].url_for()}"),
            ("自定义菜单", ""),
        ),
        app=app,
        state=state,
        layout=state.layout if layout is None else layout,
        version=state.version if version is None else version,
        preview=preview or [],
        error=error,
        may_push=can(ctx.actor, "manage", Resource("apps", ctx.actor.tenant_id, ROOT)),
        token=form_tokens.new(),
        done=request.query.get("done", ""),
    )


async def menu_page(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    app = _oa(request, ctx)
    if app is None:
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    return await _editor(request, ctx, app)


async def menu_preview(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    app = _oa(request, ctx)
    if app is None:
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    data = await request.post()
    layout = str(data.get("layout", ""))[: menus.MAX_LAYOUT + 1]
    version = str(data.get("version", ""))
    try:
        buttons = menus.check(layout, settings_values(ctx.services.settings))
    except MenuRefused as exc:
        return await _editor(request, ctx, app, status=400, layout=layout, version=_int(version), error=exc)
    return await _editor(request, ctx, app, layout=layout, version=_int(version), preview=buttons)


def _int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


async def menu_push(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    app = _oa(request, ctx)
    if app is None:
        return ctx.render(request, "error.html", status=404, title="未找到", error="not_found")
    if not can(ctx.actor, "manage", Resource("apps", ctx.actor.tenant_id, ROOT)):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    data = await request.post()
    layout = str(data.get("layout", ""))[: menus.MAX_LAYOUT + 1]
    version_text = str(data.get("version", ""))
    now = ctx.runtime.clock()
    try:
        buttons = menus.check(layout, settings_values(ctx.services.settings))
        async with session_scope(ctx.db) as session:
            saved = await menus.save(
                session,
                ctx.who,
                app.appid,
                layout,
                version=menus.parse_version(version_text),
                form_token=str(data.get("token", ""))[:80],
                origin=ctx.origin,
                now=now,
            )
    except MenuRefused as exc:
        log.info("console_menu_refused", appid=app.appid, code=exc.code, problems=len(exc.problems))
        status = 409 if exc.code == "stale" else 400
        return await _editor(
            request, ctx, app, status=status, layout=layout, version=_int(version_text), error=exc
        )
    url = request.app.router["menu"].url_for(appid=app.appid)
    if saved is None:
        raise web.HTTPSeeOther(f"{url}?done=already_pushed")
    client = ctx.services.wechat
    if client is None:
        raise web.HTTPSeeOther(f"{url}?done=menu_saved_not_pushed")
    try:
        await client.menu.create(app.appid, buttons)
    except Exception:  # saved; WeChat did not take it: the page says "not published" until a push works
        log.exception("console_menu_push_failed", appid=app.appid, version=saved)
        raise web.HTTPSeeOther(f"{url}?done=menu_saved_not_pushed") from None
    async with session_scope(ctx.db) as session:
        await menus.mark_pushed(session, ctx.actor.tenant_id, app.appid, saved, ctx.runtime.clock())
    log.info("console_menu_pushed", appid=app.appid, version=saved, operator=ctx.operator.id)
    raise web.HTTPSeeOther(f"{url}?done=menu_pushed")


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage("公众号与小程序", "/apps", "system", ("read", "apps"), apps, order=30, name="apps")
    )
    registry.add(
        ConsolePage(
            "自定义菜单", "/apps/{appid}/menu", "system", ("read", "apps"), menu_page, nav=False, name="menu"
        )
    )
    registry.add(
        ConsolePage("预览菜单", "/apps/{appid}/menu/preview", "system", ("read", "apps"), menu_preview,
                    method="POST", nav=False)
    )  # fmt: skip
    registry.add(
        ConsolePage("发布菜单", "/apps/{appid}/menu", "system", ("manage", "apps"), menu_push, method="POST",
                    nav=False)
    )  # fmt: skip
