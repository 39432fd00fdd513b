"""H5 pages of bottle codes: ``GET /c/<code>`` (the URL printed under every cap), the age gate,
and the OAuth callback.

Outside WeChat the page only says to scan with WeChat. Inside WeChat an invalid code is refused
at once (no OAuth round trip, no SQL); a genuine one needs the member, so a person without our
cookie goes through silent snsapi_base OAuth first and comes back here. Scanning is idempotent,
so the same person reloading the page sees his own earlier result.
"""

from __future__ import annotations

from aiohttp import web

from bot.clientip import client_ip
from bot.db import session_scope
from bot.membership import actions as members
from bot.membership.codes import InvalidCode, extract, parse
from bot.membership.interface import ScanRequest, ScanResult
from bot.web.h5auth import (
    brand_of,
    current_member,
    form_token,
    in_wechat,
    login_redirect,
    oauth_callback,
    official_account,
    runtime_of,
    services_of,
)
from bot.web.member_pages import render

routes = web.RouteTableDef()


async def _page(
    request: web.Request, result: ScanResult, code: str, *, tenant_id: int | None = None, status: int = 200
) -> web.Response:
    services = services_of(request)
    brand = await brand_of(request, tenant_id)
    reason_text = services.text("scan_reason", reason=result.reason or "")
    member = current_member(request)
    token = form_token(services, member, "age") if member else ""
    return render(
        "scan_result",
        status=status,
        r=result,
        reason_text=reason_text,
        age_action=f"/c/{code}/age",
        age_token=token,
        brand=brand,
    )


@routes.get("/c/{code}")
@routes.get("/C/{code}")
async def scan_page(request: web.Request) -> web.StreamResponse:
    services, runtime = services_of(request), runtime_of(request)
    code = request.match_info["code"][:64]
    if not in_wechat(request):
        return render("scan_open_in_wechat", brand=services.settings.tenant_name, what="code")
    member = current_member(request)
    try:
        ref = parse(runtime.keys, extract(code))
    except InvalidCode:
        fallback = official_account(services)
        tenant_id = member.tenant_id if member else (fallback.tenant_id if fallback else 0)
        request_ = ScanRequest(
            tenant_id, member.member_id if member else None, code, "h5", ip=client_ip(request)
        )
        refused = await runtime.scanner.scan(request_)
        return await _page(request, refused, code, status=429 if refused.reason == "locked" else 404)
    if member is None or member.tenant_id != ref.tenant_id:
        raise await login_redirect(request, f"/c/{ref.text}", ref.tenant_id)
    result = await runtime.scanner.scan(
        ScanRequest(ref.tenant_id, member.member_id, ref.text, "h5", ip=client_ip(request))
    )
    await runtime.after_scan(ref.tenant_id, member.member_id, result)
    return await _page(request, result, ref.text, tenant_id=ref.tenant_id)


@routes.post("/c/{code}/age")
async def confirm_age(request: web.Request) -> web.StreamResponse:
    services = services_of(request)
    member = current_member(request)
    code = request.match_info["code"][:64]
    if member is None:
        raise await login_redirect(request, f"/c/{code}")
    form = await request.post()
    if form.get("token") != form_token(services, member, "age"):
        raise web.HTTPForbidden(text="bad form token")
    async with session_scope(services.sessions) as session:
        await members.confirm_age(session, member.member_id)
    raise web.HTTPSeeOther(f"/c/{code}")


@routes.get("/h5/oauth")
async def oauth(request: web.Request) -> web.StreamResponse:
    return await oauth_callback(request)
