"""The mini-program's membership API (session from ``bot.miniapp``'s ``require_session``).

* ``POST /mp/api/scan`` ``{"q": <URL-encoded printed URL>, "scancode_time": <unix s>,
  "latitude"?, "longitude"?}`` - the page opened by "扫普通链接二维码打开小程序" passes its query.
* ``GET /mp/api/points`` - balances, tier and the latest ledger lines.
* ``POST /mp/api/member/age`` ``{"confirm": true}``; ``POST /mp/api/member/push`` ``{"opt_out": bool}``.
* ``GET /mp/api/coupons``, ``POST /mp/api/coupons/claim`` ``{"campaign": ...}``.
* ``GET /mp/api/rewards``, ``POST /mp/api/rewards/redeem`` ``{"item_id", "quantity"?, "request_id"}``.
* ``GET /mp/api/referral`` - the member's share token and link.
Answers carry a stable ``outcome``/``error`` code and a Chinese ``message`` from templates.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from bot.db import session_scope
from bot.membership import actions as members
from bot.membership import coupons, points, redemption, referral
from bot.membership.errors import CouponFailed, MembershipError
from bot.membership.interface import ScanRequest, ScanResult
from bot.membership.reward_models import GIFT, MARKETING
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.routes import api, require_session
from bot.web.h5auth import client_ip, runtime_of, services_of
from bot.web.member_pages import when

routes = web.RouteTableDef()


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read() or b"{}")
    except orjson.JSONDecodeError:
        raise MpError(ErrorCode.BAD_REQUEST, "body is not JSON") from None
    if not isinstance(body, dict):
        raise MpError(ErrorCode.BAD_REQUEST, "body is not an object")
    return body


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def scan_json(request: web.Request, result: ScanResult) -> dict[str, Any]:
    services = services_of(request)
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
@api
async def scan(request: web.Request) -> dict[str, Any]:
    session = require_session(request)
    body = await _body(request)
    q = body.get("q")
    if not isinstance(q, str) or not q or len(q) > 2048:
        raise MpError(ErrorCode.BAD_REQUEST, "q is required")
    result = await runtime_of(request).scanner.scan(
        ScanRequest(
            tenant_id=session.tenant_id,
            member_id=session.member_id,
            text=q,
            channel="mp",
            ip=client_ip(request),
            device=request.headers.get("X-Device-Id"),
            latitude=_number(body.get("latitude")),
            longitude=_number(body.get("longitude")),
        )
    )
    answer = scan_json(request, result)
    coupon = await runtime_of(request).after_scan(session.tenant_id, session.member_id, result)
    answer["coupon"] = _coupon(coupon) if coupon else None
    return answer


@routes.get("/mp/api/points")
@api
async def my_points(request: web.Request) -> dict[str, Any]:
    current = require_session(request)
    services, runtime = services_of(request), runtime_of(request)
    config = await runtime.configs.get(current.tenant_id)
    async with session_scope(services.sessions) as session:
        summary = await points.summary(session, current.member_id)
        lines = await points.consumption_history(session, summary.member_id)
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
@api
async def age(request: web.Request) -> dict[str, Any]:
    current = require_session(request)
    if (await _body(request)).get("confirm") is not True:
        raise MpError(ErrorCode.BAD_REQUEST, "confirm must be true")
    async with session_scope(services_of(request).sessions) as session:
        await members.confirm_age(session, current.member_id)
    return {"age_confirmed": True}


@routes.post("/mp/api/member/push")
@api
async def push(request: web.Request) -> dict[str, Any]:
    current = require_session(request)
    opt_out = (await _body(request)).get("opt_out")
    if not isinstance(opt_out, bool):
        raise MpError(ErrorCode.BAD_REQUEST, "opt_out must be true or false")
    async with session_scope(services_of(request).sessions) as session:
        await members.set_push_opt_out(session, current.member_id, opt_out)
    return {"push_opt_out": opt_out}


def _coupon(c: coupons.Coupon) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "amount_off_fen": c.amount_off_fen,
        "threshold_fen": c.threshold_fen,
        "expires_at": c.expires_at.isoformat() if c.expires_at else None,
    }


@routes.get("/mp/api/coupons")
@api
async def my_coupons(request: web.Request) -> dict[str, Any]:
    current = require_session(request)
    gateway = runtime_of(request).coupons
    if gateway is None:
        raise MpError(ErrorCode.NOT_CONFIGURED, "the core system is not configured")
    async with session_scope(services_of(request).sessions) as session:
        member_id = await members.live_member_id(session, current.member_id)
    return {"coupons": [_coupon(c) for c in await gateway.coupons_of(member_id)]}


@routes.post("/mp/api/coupons/claim")
@api
async def claim_coupon(request: web.Request) -> web.Response | dict[str, Any]:
    current = require_session(request)
    runtime = runtime_of(request)
    campaign = (await _body(request)).get("campaign")
    if not isinstance(campaign, str | int) or not str(campaign):
        raise MpError(ErrorCode.BAD_REQUEST, "campaign is required")
    if runtime.coupons is None:
        raise MpError(ErrorCode.NOT_CONFIGURED, "the core system is not configured")
    try:
        coupon = await coupons.claim(
            services_of(request).sessions,
            runtime.coupons,
            current.tenant_id,
            current.member_id,
            str(campaign),
            source="mp",
        )
    except CouponFailed as exc:
        text = services_of(request).text("coupon_claimed", ok=False, reason=exc.reason)
        return web.json_response(
            {"error": "coupon_failed", "reason": exc.reason, "message": text}, status=409
        )
    return {"coupon": _coupon(coupon)}


@routes.get("/mp/api/rewards")
@api
async def rewards(request: web.Request) -> dict[str, Any]:
    current = require_session(request)
    catalog = request.query.get("catalog", GIFT)
    if catalog not in (GIFT, MARKETING):
        raise MpError(ErrorCode.BAD_REQUEST, "catalog is gift or marketing")
    async with session_scope(services_of(request).sessions) as session:
        items = await redemption.catalog(session, current.tenant_id, catalog)
        orders = await redemption.orders_of(session, await members.live_member_id(session, current.member_id))
    return {
        "items": [
            {
                "id": i.id,
                "name": i.name,
                "description": i.description,
                "points": i.points_cost,
                "in_stock": i.stock > 0,
                "limit": i.per_member_limit,
            }
            for i in items
        ],
        "orders": [
            {"id": o.id, "item": o.item_name, "quantity": o.quantity, "points": o.points, "status": o.status}
            for o in orders
        ],
    }


@routes.post("/mp/api/rewards/redeem")
@api
async def redeem(request: web.Request) -> web.Response | dict[str, Any]:
    current = require_session(request)
    body = await _body(request)
    item_id, quantity, request_id = body.get("item_id"), body.get("quantity", 1), body.get("request_id")
    if not isinstance(item_id, int) or not isinstance(quantity, int) or not 1 <= quantity <= 10:
        raise MpError(ErrorCode.BAD_REQUEST, "item_id and quantity (1-10) are required")
    if not isinstance(request_id, str) or not 8 <= len(request_id) <= 64:
        raise MpError(ErrorCode.BAD_REQUEST, "request_id (8-64 characters) makes a retry safe")
    try:
        async with session_scope(services_of(request).sessions) as session:
            order = await redemption.redeem(
                session,
                current.tenant_id,
                current.member_id,
                item_id,
                quantity=quantity,
                request_key=request_id,
            )
    except MembershipError as exc:
        return web.json_response({"error": exc.code.value}, status=409)
    return {
        "order": {"id": order.id, "item": order.item_name, "points": order.points, "status": order.status}
    }


@routes.get("/mp/api/referral")
@api
async def my_referral(request: web.Request) -> dict[str, Any]:
    current = require_session(request)
    runtime = runtime_of(request)
    async with session_scope(services_of(request).sessions) as session:
        member_id = await members.live_member_id(session, current.member_id)
    token = referral.share_token(runtime.referral_secret, current.tenant_id, member_id)
    return {"token": token, "link": f"{runtime.base_url}/r/{token}", "scene": f"ref:{token}"}
