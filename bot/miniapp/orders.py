"""Quote and order endpoints of the mini-program API: price the cart, place it (the same
Idempotency-Key derivation as the chat: cart id + version), follow an order intent, and the
store's orders with their tracking."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from aiohttp import web

from backend_client import CoreError
from bot.miniapp.api import api, json_response
from bot.miniapp.cart import cart_json
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.ordering import bound_store, ordering_of
from bot.miniapp.schemas import CursorQuery, PlaceBody, QuoteBody
from bot.miniapp.session import MpSession
from bot.ordering import checkout as co
from bot.ordering import tracking
from bot.ordering.errors import ChatOrderingError
from bot.ordering.placing import PENDING, PLACED, Submission
from bot.ordering.runtime import OrderingRuntime
from bot.ordering.views import StoreRef
from bot.services import Services

routes = web.RouteTableDef()


async def _current_cart(
    runtime: OrderingRuntime, session: MpSession, store: StoreRef, version: int | None
) -> Any:
    cart = await runtime.carts.get(session.tenant_id, session.member_id)
    if cart is None or cart.empty or cart.core_store_id != store.core_store_id:
        raise MpError(ErrorCode.CART_EMPTY)
    if version is not None and version != cart.version:
        raise MpError(ErrorCode.CART_CHANGED, version=cart.version)
    return cart


@routes.post("/mp/api/quote")
@api(body=QuoteBody)
async def quote(request: web.Request, services: Services, *, session: MpSession, body: QuoteBody) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    cart = await _current_cart(runtime, session, store, body.version)
    orders = (await runtime.core(session.tenant_id)).orders
    priced = await orders.quote(cart.core_store_id, co.line_requests(cart))
    coupon = co.best_coupon(priced)
    if coupon is not None:
        priced = await orders.quote(cart.core_store_id, co.line_requests(cart), coupon_claim_id=coupon)
    # the templates the page asks the user to subscribe to (wx.requestSubscribeMessage) when the
    # order button is tapped, so that a result that comes late can still reach them
    template = services.settings.order_mp_subscribe_template_id
    subscribe = {"order_result": template} if template else {}
    return {"cart": cart_json(cart), "quote": co.quote_view(priced, cart), "subscribe_templates": subscribe}


@routes.post("/mp/api/orders")
@api(body=PlaceBody)
async def place(request: web.Request, services: Services, *, session: MpSession, body: PlaceBody) -> Any:
    """Place the cart as quoted. ``version`` (the cart version the page showed) and
    ``expected_total_fen`` (the quote's total) are required: the Idempotency-Key is derived from
    the cart, so repeating this request never places a second order."""
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    cart = await _current_cart(runtime, session, store, body.version)
    order = co.order_body(cart, None, note=body.note)
    order["expected_total_fen"] = body.expected_total_fen
    if body.coupon_claim_id is not None:
        order["coupon_claim_id"] = body.coupon_claim_id
    order["_cart"] = cart.id
    key = co.idempotency_key(session.tenant_id, cart)
    sub = Submission(session.tenant_id, session.member_id, session.appid, session.openid, "mp", key, order)
    result = await runtime.placer.place(sub, budget=runtime.confirm_budget)
    if result.status == PLACED:
        await runtime.carts.clear_if(session.tenant_id, session.member_id, cart.id)
        return json_response({"result": result}, status=201)
    if result.status == PENDING:
        return json_response({"result": result}, status=202)
    await _bump(runtime, session, cart)
    raise MpError(ErrorCode.REFUSED, result.error_code or "", result=dataclasses.asdict(result))


async def _bump(runtime: OrderingRuntime, session: MpSession, cart: Any) -> None:
    with contextlib.suppress(ChatOrderingError, CoreError):
        await runtime.carts.bump_if(session.tenant_id, session.member_id, cart.id)


@routes.get("/mp/api/order-intents/{key}")
@api()
async def intent(request: web.Request, services: Services, *, session: MpSession) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    key = request.match_info["key"][:80]
    result = await runtime.placer.status(session.tenant_id, key, core_store_id=store.core_store_id)
    if result is None:
        raise MpError(ErrorCode.NOT_FOUND)
    return {"result": result}


@routes.get("/mp/api/orders")
@api(query=CursorQuery)
async def orders_list(
    request: web.Request, services: Services, *, session: MpSession, query: CursorQuery
) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    page = await (await runtime.core(session.tenant_id)).orders.list_for_store(
        store.core_store_id, cursor=query.cursor or None, limit=10
    )
    return {"items": [tracking.order_view(o) for o in page.items], "next_cursor": page.next_cursor}


@routes.get("/mp/api/orders/last")
@api()
async def orders_last(request: web.Request, services: Services, *, session: MpSession) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    last = await (await runtime.core(session.tenant_id)).orders.last_for_store(store.core_store_id)
    if last is None:
        raise MpError(ErrorCode.NOT_FOUND)
    return {"order": tracking.order_view(last)}


@routes.get("/mp/api/orders/{order_id}")  # after /orders/last: routes match in order
@api()
async def order_detail(request: web.Request, services: Services, *, session: MpSession) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    raw = request.match_info["order_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise MpError(ErrorCode.NOT_FOUND)
    order = await tracking.one((await runtime.core(session.tenant_id)).orders, store.core_store_id, int(raw))
    if order is None:
        raise MpError(ErrorCode.NOT_FOUND)
    return {"order": tracking.order_view(order)}
