"""系统 > 系统设置: the tenant's loyalty settings (read by settings readers, saved by managers)."""

from __future__ import annotations

import structlog
from aiohttp import web

from bot.console import form_tokens, settings_admin
from bot.console.context import PageContext
from bot.console.policy import ROOT, Resource, can
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.db import session_scope

log = structlog.get_logger(__name__)


async def _page(
    request: web.Request,
    ctx: PageContext,
    *,
    status: int = 200,
    form_error: tuple[str, str] | None = None,
    form_values: dict[str, object] | None = None,
    version: str | None = None,
) -> web.StreamResponse:
    async with session_scope(ctx.db) as session:
        state = await settings_admin.load(session, ctx.actor.tenant_id)
    return ctx.render(
        request,
        "settings.html",
        status=status,
        title="系统设置",
        values={**state.values, **(form_values or {})},
        version=state.version if version is None else version,
        ints=settings_admin.INTS,
        bools=settings_admin.BOOLS,
        may_edit=can(ctx.actor, "manage", Resource("settings", ctx.actor.tenant_id, ROOT)),
        token=form_tokens.new(),
        done=request.query.get("done", ""),
        form_error=form_error,
    )


async def settings_page(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    if not can(ctx.actor, "read", Resource("settings", ctx.actor.tenant_id, ROOT)):
        return ctx.render(request, "error.html", status=403, title="无权访问", error="forbidden")
    return await _page(request, ctx)


async def save(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    if not can(ctx.actor, "manage", Resource("settings", ctx.actor.tenant_id, ROOT)):
        return ctx.render(request, "error.html", status=403, title="无权操作", error="forbidden")
    data = await request.post()
    raw = {k: str(v)[:80] for k, v in data.items() if isinstance(v, str)}
    checked = {name for name in settings_admin.BOOLS if data.get(name) == "1"}
    shown: dict[str, object] = {**raw, **{name: name in checked for name in settings_admin.BOOLS}}
    try:
        changes = settings_admin.parse(raw, checked)
        async with session_scope(ctx.db) as session:
            saved = await settings_admin.save(
                session,
                ctx.who,
                changes,
                version=raw.get("version", ""),
                form_token=raw.get("token", ""),
                origin=ctx.origin,
                now=ctx.runtime.clock(),
            )
    except settings_admin.SettingsRefused as exc:
        log.info("console_settings_refused", field=exc.field, code=exc.code)
        return await _page(
            request,
            ctx,
            status=409 if exc.code == "stale" else 400,
            form_error=(exc.field, exc.code),
            form_values=shown,
            version=raw.get("version", ""),
        )
    log.info("console_settings_saved", saved=saved, operator=ctx.operator.id)
    url = request.app.router["settings"].url_for()
    raise web.HTTPSeeOther(f"{url}?done={'settings_saved' if saved else 'already_saved'}")


def register_pages(registry: ConsoleRegistry) -> None:
    registry.add(
        ConsolePage(
            "系统设置", "/settings", "system", ("read", "settings"), settings_page, order=40, name="settings"
        )
    )
    registry.add(
        ConsolePage("保存设置", "/settings", "system", ("manage", "settings"), save, method="POST", nav=False)
    )
