"""Ordering endpoints of the mini-program API: the store binding and the catalog; the cart and
the orders are in ``cart.py`` and ``orders.py``. They use the same services as the chat flows --
binding, the member's Redis cart, the parser, quotes, the order placer with the same
Idempotency-Key derivation (cart id + version), tracking.

Every endpoint needs the session token from ``POST /mp/api/login``; apart from the binding
itself they also need a member bound to a store (``POST /mp/api/store/bind`` with WeChat's
verified phone number), else 403 ``not_bound``.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from bot.db import session_scope
from bot.miniapp.api import api
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.schemas import BindBody, CatalogQuery
from bot.miniapp.session import MpSession
from bot.ordering import binding
from bot.ordering.binding import CoreStore
from bot.ordering.runtime import OrderingRuntime
from bot.ordering.views import Binding, StoreRef
from bot.services import Services

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


def ordering_of(services: Services) -> OrderingRuntime:
    runtime = services.ordering
    if runtime is None:
        raise MpError(ErrorCode.NOT_CONFIGURED, "the core is not configured")
    return runtime


async def binding_of(runtime: OrderingRuntime, session: MpSession) -> Binding:
    found = await runtime.bindings.get(session.member_id)
    return found or Binding(session.member_id, session.tenant_id, "consumer")


async def bound_store(runtime: OrderingRuntime, session: MpSession) -> StoreRef:
    found = await binding_of(runtime, session)
    if not found.bound or found.store is None:
        raise MpError(ErrorCode.NOT_BOUND)
    return found.store


@routes.get("/mp/api/store")
@api()
async def store_info(request: web.Request, services: Services, *, session: MpSession) -> Any:
    found = await binding_of(ordering_of(services), session)
    return {"bound": found.bound, "role": found.role, "store": found.store}


@routes.post("/mp/api/store/bind")
@api(body=BindBody)
async def store_bind(request: web.Request, services: Services, *, session: MpSession, body: BindBody) -> Any:
    """Bind with WeChat's verified phone number (getPhoneNumber code): the store whose owner phone
    the core holds is bound; a phone owning several stores must name one (``store_id``)."""
    runtime = ordering_of(services)
    client = services.wechat
    if client is None:
        raise MpError(ErrorCode.NOT_CONFIGURED, "the WeChat client is not configured")
    try:
        info = await client.wxa.phone_number(session.appid, body.code, openid=session.openid)
    except Exception as exc:  # any WeChat refusal of the code
        log.info("mp_bind_phone_refused", error=type(exc).__name__)
        raise MpError(ErrorCode.PHONE_CODE_INVALID) from None
    phone = info.pure_phone_number or info.phone_number
    stores = await (await runtime.core(session.tenant_id)).org.find_stores_by_phone(phone)
    if not stores:
        raise MpError(ErrorCode.PHONE_MISMATCH)
    wanted = body.store_id
    if len(stores) > 1 and wanted is None:
        choices = [{"store_id": s.id, "code": s.code, "name": s.name} for s in stores]
        raise MpError(ErrorCode.PHONE_MISMATCH, choices=choices)
    store = next((s for s in stores if wanted in (None, s.id)), None)
    if store is None:
        raise MpError(ErrorCode.PHONE_MISMATCH)
    async with session_scope(services.sessions) as db:
        bound = await binding.bind_owner(
            db, session.tenant_id, session.member_id, CoreStore(store.id, store.code, store.name, phone)
        )
    await runtime.bindings.forget(session.member_id, bound.previous_owner)
    return {"bound": True, "role": "store_owner", "store": bound.store}


@routes.get("/mp/api/catalog")
@api(query=CatalogQuery)
async def catalog(
    request: web.Request, services: Services, *, session: MpSession, query: CatalogQuery
) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    catalog = (await runtime.core(session.tenant_id)).catalog
    page = await catalog.search(query.q or None, cursor=query.cursor or None, limit=query.limit)
    prices = (
        {p.sku: p for p in await catalog.prices(store.core_store_id, [p.sku for p in page.items])}
        if page.items
        else {}
    )
    items = [
        {
            "sku": p.sku,
            "name": p.name,
            "brand": p.brand,
            "category": p.category,
            "bottles_per_case": p.bottles_per_case,
            "image_url": p.image_url,
            "bottle_price_fen": prices[p.sku].bottle_price_fen if p.sku in prices else None,
            "case_price_fen": prices[p.sku].case_price_fen if p.sku in prices else None,
            "min_order_bottles": prices[p.sku].min_order_bottles if p.sku in prices else None,
        }
        for p in page.items
    ]
    return {"items": items, "next_cursor": page.next_cursor}
