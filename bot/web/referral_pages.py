"""Member landing pages: ``GET /r/<token>``, a member's share link (the visitor logs in silently
with snsapi_base, is bound to the inviter if he is new; rewards come with his first scan), and
``GET /k/...``, a store's scan-to-claim coupon QR."""

from __future__ import annotations

from aiohttp import web

from bot.db import session_scope
from bot.membership import referral
from bot.membership.errors import ReferralRefused
from bot.web.h5auth import brand_of, current_member, in_wechat, login_redirect, runtime_of, services_of
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
        return render("scan_open_in_wechat", brand=brand, what="referral")
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
    return render(
        "member_message", heading="欢迎加入会员", text=text, brand=await brand_of(request, tenant_id)
    )


@routes.get("/k/{tenant}/{campaign}/{store}/{sig}")
async def store_coupon(request: web.Request) -> web.StreamResponse:
    """A store's scan-to-claim QR (店内扫码领券): walk-in customers become members and get the
    coupon; the claim records the store."""
    import hmac

    from bot.membership import coupons
    from bot.membership.errors import CouponFailed

    services, runtime = services_of(request), runtime_of(request)
    info = request.match_info
    brand = services.settings.tenant_name
    if not info["tenant"].isdigit():
        raise web.HTTPNotFound()
    tenant_id, campaign, store = int(info["tenant"]), info["campaign"][:64], info["store"][:64]
    expected = coupons.store_claim_signature(runtime.referral_secret, tenant_id, campaign, store)
    if not hmac.compare_digest(expected, info["sig"]):
        return render(
            "member_message", status=404, heading="二维码无效", text="这个领券二维码无效。", brand=brand
        )
    if not in_wechat(request):
        return render("scan_open_in_wechat", brand=brand, what="store_coupon")
    member = current_member(request)
    if member is None or member.tenant_id != tenant_id:
        raise await login_redirect(request, request.path, tenant_id)
    brand = await brand_of(request, tenant_id)
    if runtime.coupons is None:
        text = services.text("coupon_claimed", ok=False, reason="busy")
        return render("member_message", heading="领取优惠券", text=text, brand=brand)
    try:
        coupon = await coupons.claim(
            services.sessions,
            runtime.coupons,
            tenant_id,
            member.member_id,
            campaign,
            source="store_qr",
            store_code=store,
            hooks=services.hooks,
        )
        text = services.text("coupon_claimed", ok=True, coupon_name=coupon.name)
    except CouponFailed as exc:
        text = services.text("coupon_claimed", ok=False, reason=exc.reason)
    return render("member_message", heading="领取优惠券", text=text, brand=brand)
