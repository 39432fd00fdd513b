"""``GET /r/<token>``: a member's share link. The visitor logs in silently (snsapi_base), is
bound to the inviter if he is new, and sees a welcome page; rewards come with his first scan."""

from __future__ import annotations

from aiohttp import web

from bot.db import session_scope
from bot.membership import referral
from bot.membership.errors import ReferralRefused
from bot.web.h5auth import current_member, in_wechat, login_redirect, runtime_of, services_of
from bot.web.member_pages import render

routes = web.RouteTableDef()


@routes.get("/r/{token}")
async def referral_landing(request: web.Request) -> web.StreamResponse:
    services, runtime = services_of(request), runtime_of(request)
    token = request.match_info["token"][:64]
    found = referral.read_token(runtime.referral_secret, token)
    brand = services.settings.tenant_name
    if found is None:
        return render(
            "member_message", status=404, heading="链接无效", text="这个邀请链接无效或已过期。", brand=brand
        )
    if not in_wechat(request):
        return render("scan_open_in_wechat", brand=brand)
    tenant_id, inviter = found
    member = current_member(request)
    if member is None or member.tenant_id != tenant_id:
        raise await login_redirect(request, f"/r/{token}", tenant_id)
    reason = ""
    try:
        async with session_scope(services.sessions) as session:
            await referral.bind(session, tenant_id, inviter, member.member_id)
    except ReferralRefused as exc:
        reason = exc.reason
    text = services.text("referral_bound", ok=not reason, reason=reason)
    return render("member_message", heading="欢迎加入会员", text=text, brand=brand)
