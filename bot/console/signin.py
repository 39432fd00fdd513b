"""Signing in and out: the password form (throttled, locked out), the optional WeChat scan, the
session rotated at sign-in, the audit entries."""

from __future__ import annotations

import structlog
from aiohttp import web

from bot.console import accounts, auth, twofactor
from bot.console.audit import Who, record
from bot.console.http import bare, csrf_ok, origin_of, safe_next, set_cookie
from bot.console.runtime import CONSOLE, PREFIX, ConsoleRuntime
from bot.console.sessions import COOKIE, ConsoleSession
from bot.db import session_scope
from bot.tenancy import repository as tenancy_repo

log = structlog.get_logger(__name__)


async def login_page(request: web.Request) -> web.StreamResponse:
    rt = request.config_dict[CONSOLE]
    session = await rt.sessions.load(request.cookies.get(COOKIE))
    if session is not None and session.signed_in:
        raise web.HTTPSeeOther(PREFIX + "/")
    if session is None:
        session = await rt.sessions.create()
    response = bare(
        request,
        "login.html",
        200,
        csrf=session.csrf,
        next=safe_next(request.query.get("next")),
        username="",
        error=request.query.get("why", "") if request.query.get("why") in ("expired", "signed_out") else "",
        tenant=rt.services.settings.tenant_slug,
    )
    set_cookie(request, response, session)
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
    next_path = safe_next(str(form.get("next", "")))
    if session is None or not await csrf_ok(request, session):
        fresh = await rt.sessions.create()
        log.info("console_csrf_refused", path=request.path, stage="login")
        response = bare(
            request,
            "login.html",
            403,
            csrf=fresh.csrf,
            next=next_path,
            username=username,
            error="csrf",
            tenant=str(form.get("tenant", "")) or rt.services.settings.tenant_slug,
        )
        set_cookie(request, response, fresh)
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
        return bare(
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
    set_cookie(request, redirect, signed)
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
        return bare(
            request,
            "login.html",
            503,
            csrf=session.csrf,
            next=next_path,
            username=operator.username,
            error="twofactor_unavailable",
            tenant=rt.services.settings.tenant_slug,
        )
    return bare(request, "login_wechat.html", 200, csrf=session.csrf, next=next_path, nonce=nonce, qr=qr)


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
    next_path = safe_next(str(form.get("next", "")))
    if session is None or not await csrf_ok(request, session):
        return bare(request, "error.html", 403, error="csrf")
    taken = await twofactor.take(rt.services.redis, rt.services.keys, str(form.get("nonce", "")), session.sid)
    operator = None
    if taken is not None and taken.purpose == twofactor.LOGIN:
        async with session_scope(rt.services.sessions) as db:
            operator = await accounts.get(db, taken.tenant_id, taken.operator_id)
            bound = await accounts.bound_openid(db, taken.tenant_id, taken.operator_id)
        if operator is None or operator.disabled or bound != taken.openid:
            operator = None
    if operator is None:
        return bare(
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
    if session is not None and not await csrf_ok(request, session):
        return bare(request, "error.html", 403, error="csrf")
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
