"""Coupon endpoints of the mini-program API: the member's coupons from the core, and claiming a
campaign's coupon (once per member and campaign; ``bot.membership.coupons`` keeps the key).

* ``GET /mp/api/coupons``; ``POST /mp/api/coupons/claim`` ``{"campaign": <id>}``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.db import session_scope
from bot.membership import actions as members
from bot.membership import coupons
from bot.membership.coupons import Coupon, CouponGateway
from bot.membership.errors import CouponFailed
from bot.miniapp.api import api
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.schemas import ClaimBody
from bot.miniapp.session import MpSession
from bot.services import Services

routes = web.RouteTableDef()


def coupon_json(c: Coupon) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "amount_off_fen": c.amount_off_fen,
        "threshold_fen": c.threshold_fen,
        "expires_at": c.expires_at.isoformat() if c.expires_at else None,
    }


def _gateway(services: Services) -> CouponGateway:
    runtime = services.membership
    if runtime is None or runtime.coupons is None:
        raise MpError(ErrorCode.NOT_CONFIGURED, "the core system is not configured")
    return runtime.coupons


@routes.get("/mp/api/coupons")
@api(member=True)
async def my_coupons(request: web.Request, services: Services, *, session: MpSession) -> dict[str, Any]:
    gateway = _gateway(services)
    async with session_scope(services.sessions) as db:
        member_id = await members.live_member_id(db, session.member_id)
    return {"coupons": [coupon_json(c) for c in await gateway.coupons_of(session.tenant_id, member_id)]}


@routes.post("/mp/api/coupons/claim")
@api(member=True, body=ClaimBody)
async def claim_coupon(
    request: web.Request, services: Services, *, session: MpSession, body: ClaimBody
) -> dict[str, Any]:
    gateway = _gateway(services)
    campaign = str(body.campaign)  # canonical decimal (schemas.ClaimBody)
    try:
        coupon = await coupons.claim(
            services.sessions,
            gateway,
            session.tenant_id,
            session.member_id,
            campaign,
            source="mp",
            hooks=services.hooks,
        )
    except CouponFailed as exc:
        if exc.reason == "bad_campaign":  # not a campaign id (ClaimBody lets none through)
            raise MpError(ErrorCode.BAD_REQUEST, exc.reason, field="campaign") from None
        text = services.text("coupon_claimed", ok=False, reason=exc.reason)
        raise MpError(ErrorCode.COUPON_FAILED, exc.reason, message=text, reason=exc.reason) from None
    return {"coupon": coupon_json(coupon)}
