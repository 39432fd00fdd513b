"""Quotes and orders."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import drop_ships, order_cancel, orders, org, quotes
from reference_core.api.registry import Call, Routes
from reference_core.api.support import read, write
from reference_core.errors import ErrorCode
from reference_core.idempotency import Outcome
from reference_core.order_view import get_order, list_orders
from reference_core.quote_view import quote_out
from reference_core.schemas import drop_ships as ds
from reference_core.schemas import orders as s
from reference_core.schemas.org import StorePath

routes = Routes("quotes & orders")
E = ErrorCode
ORDER_ERRORS = (
    E.NOT_FOUND,
    E.IDEMPOTENCY_KEY_REUSED,
    E.CONFLICT,
    E.OUT_OF_STOCK,
    E.CREDIT_LIMIT_EXCEEDED,
    E.COUPON_UNAVAILABLE,
    E.PROMOTION_UNAVAILABLE,
    E.BELOW_MINIMUM_ORDER,
    E.STORE_INACTIVE,
    E.PRODUCT_UNAVAILABLE,
)


@routes.op(
    "POST",
    "/v1/quotes",
    "createQuote",
    "Price a cart for a store",
    body=s.QuoteRequest,
    response=s.Quote,
    errors=(E.NOT_FOUND, E.PRODUCT_UNAVAILABLE),
)
async def create_quote(call: Call) -> s.Quote:
    """Nothing is reserved. The quote shows each line's price and discount, every promotion that
    touches the cart (applied, or why not), the store's coupons, availability with the proposed
    warehouses, the credit check, and ``issues`` that would refuse an order (``orderable``)."""

    async def work(session: AsyncSession) -> s.Quote:
        now = call.core.clock.now()
        cart = await quotes.price_cart(session, call.tenant.id, call.body, now, call.core.config.sourcing)
        return quote_out(cart, now)

    return await read(call, work)


@routes.op(
    "POST",
    "/v1/orders",
    "createOrder",
    "Place an order",
    body=s.OrderCreate,
    response=s.Order,
    status=201,
    errors=ORDER_ERRORS,
    idempotency="required",
)
async def create_order(call: Call) -> Outcome:
    """Prices the cart like a quote, then atomically reserves stock in the warehouses chosen by
    sourcing, flash-sale/auction stock, the coupon and the store's credit. Any refusal changes
    nothing. The same Idempotency-Key with the same body returns the first outcome (201 order or
    the refusal) with ``Idempotent-Replayed: true``; with a different body, 409."""

    async def work(session: AsyncSession) -> orders.Created:
        return await orders.create(session, call.core, call.tenant.id, call.body, call.core.clock.now())

    return await write(call, work, status=201)


@routes.op(
    "GET",
    "/v1/orders/{order_id}",
    "getOrder",
    "One order with its timeline",
    path_params=s.OrderPath,
    response=s.Order,
    errors=(E.NOT_FOUND,),
)
async def read_order(call: Call) -> s.Order:
    return await read(call, lambda session: get_order(session, call.tenant.id, call.path.order_id))


@routes.op(
    "GET",
    "/v1/stores/{store_id}/orders",
    "listStoreOrders",
    "A store's orders, newest first",
    path_params=StorePath,
    query=s.OrderListQuery,
    response=s.OrderPage,
    errors=(E.NOT_FOUND,),
)
async def store_orders(call: Call) -> s.OrderPage:
    """Cursor-paged, newest first, with lines (reorder the last order: ``limit=1``)."""

    async def work(session: AsyncSession) -> s.OrderPage:
        await org.get_store(session, call.tenant.id, call.path.store_id)
        return await list_orders(session, call.tenant.id, call.path.store_id, call.query)

    return await read(call, work)


@routes.op(
    "POST",
    "/v1/orders/{order_id}/cancel",
    "cancelOrder",
    "Cancel an order before it ships",
    path_params=s.OrderPath,
    body=s.CancelRequest,
    response=s.Order,
    errors=(E.NOT_FOUND, E.ORDER_NOT_CANCELLABLE, E.IDEMPOTENCY_KEY_REUSED),
    idempotency="optional",
)
async def cancel_order(call: Call) -> Outcome:
    """Allowed while ``created`` or ``allocated``; gives back stock, flash-sale stock, the coupon
    and the credit. Cancelling a cancelled order returns it unchanged (safe to retry)."""

    async def work(session: AsyncSession) -> s.Order:
        now = call.core.clock.now()
        await order_cancel.cancel(session, call.tenant.id, call.path.order_id, call.body.reason, now)
        return await get_order(session, call.tenant.id, call.path.order_id)

    return await write(call, work)


@routes.op(
    "POST",
    "/v1/stores/{store_id}/drop-ships",
    "createDropShip",
    "Ship goods straight to the store's customer (一键代发)",
    path_params=StorePath,
    body=ds.DropShipCreate,
    response=ds.DropShip,
    status=201,
    errors=(E.NOT_FOUND, E.IDEMPOTENCY_KEY_REUSED, E.OUT_OF_STOCK, E.STORE_INACTIVE, E.PRODUCT_UNAVAILABLE),
    idempotency="required",
)
async def create_drop_ship(call: Call) -> Outcome:
    """Takes the bottles from the warehouse nearest the store that has them and ships at once:
    the answer carries the carrier and waybill. The same Idempotency-Key returns the first outcome."""

    async def work(session: AsyncSession) -> ds.DropShip:
        now = call.core.clock.now()
        return await drop_ships.create(session, call.tenant.id, call.path.store_id, call.body, now)

    return await write(call, work, status=201)


@routes.op(
    "GET",
    "/v1/drop-ships/{drop_ship_id}",
    "getDropShip",
    "One drop-ship",
    path_params=ds.DropShipPath,
    response=ds.DropShip,
    errors=(E.NOT_FOUND,),
)
async def read_drop_ship(call: Call) -> ds.DropShip:
    return await read(call, lambda session: drop_ships.get(session, call.tenant.id, call.path.drop_ship_id))
