"""Membership endpoints of the mini-program API: scan a bottle code, points, member settings and
the referral link (documented in ``openapi.yaml``).

* ``POST /mp/api/scan`` ``{"q": <URL-encoded printed URL>, "scancode_time"?, "latitude"?,
  "longitude"?}`` - the page opened by "扫普通链接二维码打开小程序" passes its query.
* ``GET /mp/api/points`` - balances, tier and the latest ledger lines.
* ``POST /mp/api/member/age`` ``{"confirm": true}``; ``POST /mp/api/member/push`` ``{"opt_out": bool}``.
* ``GET /mp/api/referral`` - the member's share token and link.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.clientip import client_ip
from bot.db import session_scope
from bot.membership import actions as members
from bot.membership import points, referral
from bot.membership.errors import UnknownMember
from bot.membership.interface import INVALID, REJECTED, ScanRequest, ScanResult
from bot.membership.runtime import MembershipRuntime
from bot.miniapp.api import api, require_member
from bot.miniapp.coupons import coupon_json
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.schemas import AgeBody, PushBody, ScanBody
from bot.miniapp.session import MpSession
from bot.services import Services
from bot.web.member_pages import when

routes = web.RouteTableDef()


def membership_of(services: Services) -> MembershipRuntime:
    runtime = services.membership
    if runtime is None:  # these routes are added only with the membership feature
        raise MpError(ErrorCode.NOT_CONFIGURED, "membership is not configured")
    return runtime


def scan_json(services: Services, result: ScanResult) -> dict[str, Any]:
    product = result.product
    return {
        "outcome": result.outcome,
        "reason": result.reason,
        "genuine": result.genuine,
        "message": services.text(
            "scan_result",
            r=result,
            when=when(result.first_scanned_at),
            reason_text=services.text("scan_reason", reason=result.reason or ""),
        ),
        "product": {"brand": product.brand, "name": product.name, "sku": product.sku} if product else None,
        "points": result.points,
        "balance": result.balance,
        "tier": result.tier,
        "tier_name": result.tier_name,
        "tier_upgraded": result.tier_upgraded,
        "first_scanned_at": result.first_scanned_at.isoformat() if result.first_scanned_at else None,
        "first_place": result.first_place,
        "repeat_count": result.repeat_count,
        "campaign": result.campaign,
    }


@routes.post("/mp/api/scan")
@api(body=ScanBody)  # not member=True: the scan checks the member itself, see below
async def scan(
    request: web.Request, services: Services, *, session: MpSession, body: ScanBody
) -> dict[str, Any]:
    """The member of the session is checked where it costs nothing more: a scan that reaches
    the database locks his row in its tenant (no such member: ``UnknownMember``), and a scan
    refused before it (a bad code, a lockout, a velocity window) checks him then, so a gone
    member is a 401 either way and a credited scan saves the separate read (issue 17)."""
    runtime = membership_of(services)
    try:
        result = await runtime.scanner.scan(
            ScanRequest(
                tenant_id=session.tenant_id,
                member_id=session.member_id,
                text=body.q,
                channel="mp",
                ip=client_ip(request),
                device=request.headers.get("X-Device-Id"),
                latitude=body.latitude,
                longitude=body.longitude,
            )
        )
    except UnknownMember:
        raise MpError(ErrorCode.SESSION_INVALID, "member not found") from None
    if result.outcome in (INVALID, REJECTED):  # possibly refused before the database
        await require_member(services, session)
    answer = scan_json(services, result)
    coupon = await runtime.after_scan(session.tenant_id, session.member_id, result)
    answer["coupon"] = coupon_json(coupon) if coupon else None
    return answer


@routes.get("/mp/api/points")
@api(member=True)
async def my_points(request: web.Request, services: Services, *, session: MpSession) -> dict[str, Any]:
    current = session
    config = await membership_of(services).configs.get(current.tenant_id)
    async with session_scope(services.sessions) as db:
        summary = await points.summary(db, current.member_id)
        lines = await points.consumption_history(db, summary.member_id)
    return {
        "consumption": summary.consumption,
        "ordering": summary.ordering,
        "tier": summary.tier,
        "tier_name": config.tier_name(summary.tier),
        "history": [
            {"delta": x.delta, "kind": x.source_kind, "note": x.note, "at": x.created_at.isoformat()}
            for x in lines
        ],
    }


@routes.post("/mp/api/member/age")
@api(member=True, body=AgeBody)
async def age(
    request: web.Request, services: Services, *, session: MpSession, body: AgeBody
) -> dict[str, Any]:
    async with session_scope(services.sessions) as db:
        await members.confirm_age(db, session.member_id)
    return {"age_confirmed": True}


@routes.post("/mp/api/member/push")
@api(member=True, body=PushBody)
async def push(
    request: web.Request, services: Services, *, session: MpSession, body: PushBody
) -> dict[str, Any]:
    async with session_scope(services.sessions) as db:
        await members.set_push_opt_out(db, session.member_id, body.opt_out)
    return {"push_opt_out": body.opt_out}


@routes.get("/mp/api/referral")
@api(member=True)
async def my_referral(request: web.Request, services: Services, *, session: MpSession) -> dict[str, Any]:
    runtime = membership_of(services)
    async with session_scope(services.sessions) as db:
        member_id = await members.live_member_id(db, session.member_id)
    token = referral.share_token(runtime.referral_secret, session.tenant_id, member_id)
    return {"token": token, "link": f"{runtime.base_url}/r/{token}", "scene": f"ref:{token}"}
