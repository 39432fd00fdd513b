"""Reward endpoints of the mini-program API: the gift (or marketing) catalog with the member's
redemption orders, and redeeming points (a ``request_id`` makes a retry the same order).

* ``GET /mp/api/rewards?catalog=gift|marketing``;
  ``POST /mp/api/rewards/redeem`` ``{"item_id", "quantity"?, "request_id"}``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.db import session_scope
from bot.membership import actions as members
from bot.membership import redemption
from bot.membership.errors import ErrorCode as MembershipCode
from bot.membership.errors import MembershipError
from bot.miniapp.api import api
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.schemas import RedeemBody, RewardsQuery
from bot.miniapp.session import MpSession
from bot.services import Services

routes = web.RouteTableDef()

# what a refused redemption answers; any other membership refusal is "not_allowed"
REFUSALS: dict[MembershipCode, ErrorCode] = {
    MembershipCode.INSUFFICIENT_POINTS: ErrorCode.INSUFFICIENT_POINTS,
    MembershipCode.OUT_OF_STOCK: ErrorCode.OUT_OF_STOCK,
    MembershipCode.LIMIT_REACHED: ErrorCode.LIMIT_REACHED,
    MembershipCode.ITEM_UNAVAILABLE: ErrorCode.ITEM_UNAVAILABLE,
}


@routes.get("/mp/api/rewards")
@api(member=True, query=RewardsQuery)
async def rewards(
    request: web.Request, services: Services, *, session: MpSession, query: RewardsQuery
) -> dict[str, Any]:
    async with session_scope(services.sessions) as db:
        items = await redemption.catalog(db, session.tenant_id, query.catalog)
        orders = await redemption.orders_of(db, await members.live_member_id(db, session.member_id))
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
@api(member=True, body=RedeemBody)
async def redeem(
    request: web.Request, services: Services, *, session: MpSession, body: RedeemBody
) -> dict[str, Any]:
    try:
        async with session_scope(services.sessions) as db:
            order = await redemption.redeem(
                db,
                session.tenant_id,
                session.member_id,
                body.item_id,
                quantity=body.quantity,
                request_key=body.request_id,
            )
    except MembershipError as exc:
        raise MpError(REFUSALS.get(exc.code, ErrorCode.NOT_ALLOWED), str(exc)) from None
    return {
        "order": {"id": order.id, "item": order.item_name, "points": order.points, "status": order.status}
    }
