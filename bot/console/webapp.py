"""The console sub-application mounted at /console: security headers, sign-in and sign-out,
static files, and every registered page behind the session / operator / CSRF / permission guard."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import structlog
from aiohttp import web

from bot.console import accounts, auth, org, twofactor
from bot.console.audit import Origin, Who, record
from bot.console.context import PageContext
from bot.console.policy import Reach, reach
from bot.console.registry import ConsolePage, ConsoleRegistry
from bot.console.runtime import CONSOLE, PREFIX, ConsoleRuntime
from bot.console.sessions import COOKIE, ConsoleSession
from bot.db import session_scope
from bot.tenancy import repository as tenancy_repo
from bot.tenancy.models import Tenant

log = structlog.get_logger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _headers(response: web.StreamResponse, path: str) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if path.startswith(PREFIX + "/static/"):
        response.headers["Cache-Control"] = "public, max-age=3600"
    else:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        response = _bare(request, "error.html", 404, error="not_found")
    except web.HTTPException as exc:
        _headers(exc, request.path)
        raise
    _headers(response, request.path)
    return response


def origin_of(request: web.Request) -> Origin:
    return Origin(request.remote or "", request.headers.get("User-Agent", "")[:300])


def _set_cookie(request: web.Request, response: web.StreamResponse, session: ConsoleSession) -> None:
    response.set_cookie(
        COOKIE, session.sid, path=PREFIX, httponly=True, samesite="Lax", secure=request.secure
    )


def _safe_next(value: str | None) -> str:
    """Only a console path of this site (no scheme, no //host, no backslash tricks)."""
    if not value or not value.startswith(PREFIX + "/") or "//" in value or "\\" in value:
        return PREFIX + "/"
    return value


async def _csrf_ok(request: web.Request, session: ConsoleSession) -> bool:
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = str((await request.post()).get("_csrf", ""))
    return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf.encode())


def _bare(request: web.Request, template: str, status: int, **values: Any) -> web.Response:
    """A page outside the layout (sign-in, errors before sign-in)."""
    return aiohttp_jinja2.render_template(
        f"console/{template}", request, {"prefix": PREFIX, **values}, status=status
    )


# sign-in and sign-out ------------------------------------------------------------------------
async def login_page(request: web.Request) -> web.StreamResponse:
    rt = request.config_dict[CONSOLE]
    session = await rt.sessions.load(request.cookies.get(COOKIE))
    if session is not None and session.signed_in:
        raise web.HTTPSeeOther(PREFIX + "/")
    if session is None:
        session = await rt.sessions.create()
    response = _bare(
        request,
        "login.html",
        200,
        csrf=session.csrf,
        next=_safe_next(request.query.get("next")),
        username="",
        error=request.query.get("why", "") if request.query.get("why") in ("expired", "signed_out") else "",
        tenant=rt.services.settings.tenant_slug,
    )
    _set_cookie(request, response, session)
    return response


async def _tenant_id(rt: ConsoleRuntime, slug: str) -> int | None:
    async with session_scope(rt.services.sessions) as session:
        tenant = await tenancy_repo.tenant_by_slug(session, slug)
    return None if tenant is None else tenant.id


async def login_submit(request: web.Request) -> web.StreamResponse:
    rt = request.config_dict[CONSOLE]
    session = await rt.sessions.load(request.cookies.get(COOKIE))
    form = await request.post()
    username = str(form.get("username", ""))[:64]
    next_path = _safe_next(str(form.get("next", "")))
    if session is None or not await _csrf_ok(request, session):
        fresh = await rt.sessions.create()
        log.info("console_csrf_refused", path=request.path, stage="login")
        response = _bare(
            request,
            "login.html",
            403,
            csrf=fresh.csrf,
            next=next_path,
            username=username,
            error="csrf",
            tenant=str(form.get("tenant", "")) or rt.services.settings.tenant_slug,
        )
        _set_cookie(request, response, fresh)
        return response
    slug = str(form.get("tenant", "")).strip() or rt.services.settings.tenant_slug
    tenant_id = await _tenant_id(rt, slug[:64])
    origin = origin_of(request)
    if tenant_id is None:
        result = auth.SignInResult(None, "bad_credentials")
        await rt.throttle.failure(origin.ip or "unknown")
    else:
        result = await auth.sign_in(
            rt.services.sessions,
            rt.throttle,
            rt.clock,
            tenant_id=tenant_id,
            username=username,
            password=str(form.get("password", "")),
            origin=origin,
        )
    if result.operator is None:
        log.info("console_login_refused", reason=result.error, ip=origin.ip)
        status = 429 if result.error == "locked" else 401
        return _bare(
            request,
            "login.html",
            status,
            csrf=session.csrf,
            next=next_path,
            username=username,
            error=result.error,
            tenant=slug,
        )
    if result.wechat_openid:
        return await _second_factor(request, rt, session, result.operator, result.wechat_openid, next_path)
    return await _signed_in(request, rt, session, result.operator, next_path, second_factor=None)


async def _signed_in(
    request: web.Request,
    rt: ConsoleRuntime,
    session: ConsoleSession,
    operator: accounts.OperatorView,
    next_path: str,
    *,
    second_factor: str | None,
) -> web.StreamResponse:
    """Rotate to a signed-in session, record the sign-in, go to ``next_path``."""
    signed = await rt.sessions.rotate(session, operator_id=operator.id, tenant_id=operator.tenant_id)
    async with session_scope(rt.services.sessions) as db:
        await record(
            db,
            Who(
                operator.tenant_id,
                operator.id,
                operator.username,
                operator.scope_kind,
                operator.scope_core_id,
            ),
            "login",
            target_kind="operator",
            target_id=operator.id,
            after={"second_factor": second_factor} if second_factor else None,
            origin=origin_of(request),
            now=rt.clock(),
        )
    redirect = web.HTTPSeeOther(next_path)
    _set_cookie(request, redirect, signed)
    raise redirect


async def _second_factor(
    request: web.Request,
    rt: ConsoleRuntime,
    session: ConsoleSession,
    operator: accounts.OperatorView,
    openid: str,
    next_path: str,
) -> web.StreamResponse:
    """The password was right and a WeChat is bound: show the QR to scan with it."""
    appid = twofactor.oa_appid(rt.services, operator.tenant_id)
    qr = None
    nonce = ""
    if appid is not None:
        nonce = await twofactor.start(
            rt.services.redis,
            rt.services.keys,
            purpose=twofactor.LOGIN,
            operator_id=operator.id,
            tenant_id=operator.tenant_id,
            appid=appid,
            session_sid=session.sid,
            expected=openid,
        )
        try:
            qr = await twofactor.make_qr(rt.services, appid, nonce)
        except Exception as exc:  # WeChat unreachable: fail closed, and say so
            log.warning("console_2fa_qr_failed", error=type(exc).__name__)
    if qr is None:
        return _bare(
            request,
            "login.html",
            503,
            csrf=session.csrf,
            next=next_path,
            username=operator.username,
            error="twofactor_unavailable",
            tenant=rt.services.settings.tenant_slug,
        )
    return _bare(request, "login_wechat.html", 200, csrf=session.csrf, next=next_path, nonce=nonce, qr=qr)


async def login_wechat_status(request: web.Request) -> web.StreamResponse:
    rt = request.config_dict[CONSOLE]
    session = await rt.sessions.load(request.cookies.get(COOKIE))
    found = await twofactor.load(rt.services.redis, rt.services.keys, request.query.get("n", ""))
    if session is None or found is None or found.session != twofactor.sid_hash(session.sid):
        return web.json_response({"state": "expired"})
    return web.json_response({"state": "scanned" if found.openid else "pending"})


async def login_wechat_finish(request: web.Request) -> web.StreamResponse:
    rt = request.config_dict[CONSOLE]
    session = await rt.sessions.load(request.cookies.get(COOKIE))
    form = await request.post()
    next_path = _safe_next(str(form.get("next", "")))
    if session is None or not await _csrf_ok(request, session):
        return _bare(request, "error.html", 403, error="csrf")
    taken = await twofactor.take(rt.services.redis, rt.services.keys, str(form.get("nonce", "")), session.sid)
    operator = None
    if taken is not None and taken.purpose == twofactor.LOGIN:
        async with session_scope(rt.services.sessions) as db:
            operator = await accounts.get(db, taken.tenant_id, taken.operator_id)
            bound = await accounts.bound_openid(db, taken.tenant_id, taken.operator_id)
        if operator is None or operator.disabled or bound != taken.openid:
            operator = None
    if operator is None:
        return _bare(
            request,
            "login.html",
            401,
            csrf=session.csrf,
            next=next_path,
            username="",
            error="twofactor_failed",
            tenant=rt.services.settings.tenant_slug,
        )
    return await _signed_in(request, rt, session, operator, next_path, second_factor="wechat")


async def logout(request: web.Request) -> web.StreamResponse:
    rt = request.config_dict[CONSOLE]
    session = await rt.sessions.load(request.cookies.get(COOKIE))
    if session is not None and not await _csrf_ok(request, session):
        return _bare(request, "error.html", 403, error="csrf")
    if session is not None:
        await rt.sessions.destroy(session.sid)
        if session.operator_id is not None and session.tenant_id is not None:
            async with session_scope(rt.services.sessions) as db:
                op = await accounts.get(db, session.tenant_id, session.operator_id)
                if op is not None:
                    await record(
                        db,
                        Who(op.tenant_id, op.id, op.username, op.scope_kind, op.scope_core_id),
                        "logout",
                        target_kind="operator",
                        target_id=op.id,
                        origin=origin_of(request),
                    )
    redirect = web.HTTPSeeOther(PREFIX + "/login?why=signed_out")
    redirect.del_cookie(COOKIE, path=PREFIX)
    raise redirect


# the guard around every registered page ----------------------------------------------------------
def guard(page: ConsolePage) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        rt = request.config_dict[CONSOLE]
        session = await rt.sessions.load(request.cookies.get(COOKIE))
        if session is None or not session.signed_in:
            if request.method == "GET":
                raise web.HTTPSeeOther(f"{PREFIX}/login?next={quote(request.path_qs)}&why=expired")
            return _bare(request, "error.html", 401, error="expired")
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
        if request.method in UNSAFE and not await _csrf_ok(request, session):
            log.info("console_csrf_refused", path=request.path, operator=op.id)
            return ctx.render(request, "error.html", status=403, title="操作失败", error="csrf")
        if reach(actor.role, *page.permission) is Reach.NONE:
            return ctx.render(request, "error.html", status=403, title="无权访问", error="forbidden")
        return await page.handler(request, ctx)

    return handler


def build_console_app(registry: ConsoleRegistry) -> web.Application:
    from bot.console.templating import setup_templates

    app = web.Application(middlewares=[security_headers])
    setup_templates(app, TEMPLATES)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_get("/login/wechat/status", login_wechat_status)
    app.router.add_post("/login/wechat", login_wechat_finish)
    app.router.add_post("/logout", logout)
    app.router.add_static("/static/", STATIC, append_version=False)
    for page in registry.pages:
        app.router.add_route(page.method, page.path, guard(page), name=page.name or None)
    return app
