"""The console sub-application mounted at /console: security headers, sign-in and sign-out
(``signin``), static files, and every registered page behind the session / operator / CSRF /
permission guard."""

from __future__ import annotations

from urllib.parse import quote

import structlog
from aiohttp import web

from bot.console import accounts, org, signin
from bot.console.context import PageContext
from bot.console.http import STATIC, TEMPLATES, UNSAFE, Handler, bare, csrf_ok, origin_of, security_headers
from bot.console.policy import Reach, reach
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.console.runtime import CONSOLE, PREFIX
from bot.console.sessions import COOKIE
from bot.db import session_scope
from bot.tenancy.models import Tenant

log = structlog.get_logger(__name__)


# the guard around every registered page ----------------------------------------------------------
def guard(page: ConsolePage) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        rt = request.config_dict[CONSOLE]
        session = await rt.sessions.load(request.cookies.get(COOKIE))
        if session is None or not session.signed_in:
            if request.method == "GET":
                raise web.HTTPSeeOther(f"{PREFIX}/login?next={quote(request.path_qs)}&why=expired")
            return bare(request, "error.html", 401, error="expired")
        async with session_scope(rt.services.sessions) as db:
            op = await accounts.get(db, session.tenant_id or 0, session.operator_id or 0)
            actor = None
            if op is not None and not op.disabled:
                actor = await org.actor_for(
                    db,
                    operator_id=op.id,
                    tenant_id=op.tenant_id,
                    role=op.role,
                    scope_kind=op.scope_kind,
                    scope_core_id=op.scope_core_id,
                )
            tenant = await db.get(Tenant, session.tenant_id) if actor is not None else None
        if op is None or actor is None or tenant is None:
            await rt.sessions.destroy(session.sid)
            raise web.HTTPSeeOther(f"{PREFIX}/login?why=expired")
        ctx = PageContext(actor, op, session, rt, origin_of(request), tenant.name)
        try:
            if request.method in UNSAFE and not await csrf_ok(request, session):
                log.info("console_csrf_refused", path=request.path, operator=op.id)
                return ctx.render(request, "error.html", status=403, title="操作失败", error="csrf")
            if reach(actor.role, *page.permission) is Reach.NONE:
                return ctx.render(request, "error.html", status=403, title="无权访问", error="forbidden")
            return await page.handler(request, ctx)
        except web.HTTPRequestEntityTooLarge as exc:  # a form (an upload) past the body limit
            log.info("console_body_too_large", path=request.path, operator=op.id, error=exc.text)
            return ctx.render(request, "error.html", status=413, title="操作失败", error="too_large")

    return handler


def build_console_app(registry: ConsoleRegistry) -> web.Application:
    from bot.console.templating import setup_templates

    app = web.Application(middlewares=[security_headers])
    setup_templates(app, TEMPLATES)
    app.router.add_get("/login", signin.login_page)
    app.router.add_post("/login", signin.login_submit)
    app.router.add_get("/login/wechat/status", signin.login_wechat_status)
    app.router.add_post("/login/wechat", signin.login_wechat_finish)
    app.router.add_post("/logout", signin.logout)
    app.router.add_static("/static/", STATIC, append_version=False)
    for page in registry.pages:
        app.router.add_route(page.method, page.path, guard(page), name=page.name or None)
    return app
