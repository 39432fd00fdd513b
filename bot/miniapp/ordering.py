"""The mini-program ordering API under ``/mp/api/`` (documented in ``openapi.yaml``): the same
services as the chat flows -- binding, the member's Redis cart, the parser, quotes, the order
placer with the same Idempotency-Key derivation (cart id + version), tracking.

Every endpoint needs the session token from ``POST /mp/api/login``; ordering endpoints also need
a member bound to a store (``POST /mp/api/store/bind`` with WeChat's verified phone number).
Errors are ``{"error": <code>, "message": <Chinese text>}``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from aiohttp import web

from backend_client import BackendUnavailable, CoreError
from bot import keys
from bot.db import session_scope
from bot.miniapp.errors import MpError
from bot.miniapp.routes import error_response, require_session
from bot.miniapp.session import MpSession
from bot.ordering import binding, tracking
from bot.ordering import checkout as co
from bot.ordering.binding import CoreStore
from bot.ordering.errors import ChatErrorCode, ChatOrderingError
from bot.ordering.placing import PENDING, PLACED, Submission
from bot.ordering.runtime import OrderingRuntime
from bot.ordering.views import Binding, CartLine
from bot.services import Services

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

STATUS = {
    "bad_request": 400,
    "not_bound": 403,
    "not_found": 404,
    "cart_changed": 409,
    "cart_empty": 409,
    "over_limit": 409,
    "refused": 409,
    "phone_mismatch": 409,
    "phone_code_invalid": 400,
    "core_unavailable": 503,
    "not_configured": 503,
}


class ApiError(Exception):
    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


def _dump(value: Any) -> str:
    return orjson.dumps(value, default=_default).decode()


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)  # type: ignore[arg-type]
    raise TypeError(type(value).__name__)


def endpoint(
    handler: Callable[..., Awaitable[Any]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Session, runtime and (unless ``open``) a bound store; errors as JSON."""

    @functools.wraps(handler)
    async def view(request: web.Request) -> web.StreamResponse:
        services: Services = request.app[keys.SERVICES]
        try:
            session = require_session(request)
            runtime = services.ordering
            if runtime is None:
                raise ApiError("not_configured")
            result = await handler(request, services, runtime, session)
        except MpError as exc:
            return error_response(exc)
        except ApiError as exc:
            body = {
                "error": exc.code,
                "message": services.text("order_api_error", code=exc.code),
                **exc.extra,
            }
            return web.json_response(body, status=STATUS[exc.code], dumps=_dump)
        except BackendUnavailable:
            body = {
                "error": "core_unavailable",
                "message": services.text("order_api_error", code="core_unavailable"),
            }
            return web.json_response(body, status=503, dumps=_dump)
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response(result, dumps=_dump)

    return view


async def _binding(services: Services, session: MpSession) -> Binding:
    runtime = services.ordering
    assert runtime is not None  # endpoint() answered "not_configured" before
    found = await runtime.bindings.get(session.member_id)
    return found or Binding(session.member_id, session.tenant_id, "consumer")


async def _store(services: Services, session: MpSession) -> tuple[Binding, Any]:
    found = await _binding(services, session)
    if not found.bound or found.store is None:
        raise ApiError("not_bound")
    return found, found.store


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read() or b"{}")
    except orjson.JSONDecodeError:
        raise ApiError("bad_request") from None
    if not isinstance(body, dict):
        raise ApiError("bad_request")
    return body


def _int(body: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApiError("bad_request", field=name)
    return value


def _cart_json(cart: Any) -> dict[str, Any]:
    if cart is None:
        return {"id": None, "version": 0, "lines": []}
    lines = [dataclasses.asdict(li) | {"total_bottles": li.total_bottles} for li in cart.lines]
    return {"id": cart.id, "version": cart.version, "lines": lines}


# store binding --------------------------------------------------------------------------------------
@routes.get("/mp/api/store")
@endpoint
async def store_info(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    found = await _binding(services, session)
    return {"bound": found.bound, "role": found.role, "store": found.store}


@routes.post("/mp/api/store/bind")
@endpoint
async def store_bind(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    """Bind with WeChat's verified phone number (getPhoneNumber code): the store whose owner phone
    the core holds is bound; a phone owning several stores must name one (``store_id``)."""
    body = await _body(request)
    code = body.get("code")
    if not isinstance(code, str) or not code:
        raise ApiError("bad_request", field="code")
    client = services.wechat
    if client is None:
        raise ApiError("not_configured")
    try:
        info = await client.wxa.phone_number(session.appid, code, openid=session.openid)
    except Exception as exc:  # any WeChat refusal of the code
        log.info("mp_bind_phone_refused", error=type(exc).__name__)
        raise ApiError("phone_code_invalid") from None
    phone = info.pure_phone_number or info.phone_number
    stores = await runtime.core.org.find_stores_by_phone(phone)
    if not stores:
        raise ApiError("phone_mismatch")
    wanted = _int(body, "store_id")
    if len(stores) > 1 and wanted is None:
        choices = [{"store_id": s.id, "code": s.code, "name": s.name} for s in stores]
        raise ApiError("phone_mismatch", choices=choices)
    store = next((s for s in stores if wanted in (None, s.id)), None)
    if store is None:
        raise ApiError("phone_mismatch")
    async with session_scope(services.sessions) as db:
        bound = await binding.bind_owner(
            db, session.tenant_id, session.member_id, CoreStore(store.id, store.code, store.name, phone)
        )
    await runtime.bindings.forget(session.member_id, bound.previous_owner)
    return {"bound": True, "role": "store_owner", "store": bound.store}


# catalog --------------------------------------------------------------------------------------------
@routes.get("/mp/api/catalog")
@endpoint
async def catalog(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    _, store = await _store(services, session)
    q = request.query.get("q") or None
    try:
        limit = min(max(int(request.query.get("limit", "20")), 1), 50)
    except ValueError:
        raise ApiError("bad_request", field="limit") from None
    page = await runtime.core.catalog.search(q, cursor=request.query.get("cursor") or None, limit=limit)
    prices = (
        {
            p.sku: p
            for p in await runtime.core.catalog.prices(store.core_store_id, [p.sku for p in page.items])
        }
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


# cart -----------------------------------------------------------------------------------------------
async def _line(runtime: OrderingRuntime, sku: str, body: dict[str, Any]) -> CartLine:
    """A cart line from a request body (``cases``, ``bottles``, ``confirm`` above the limits)."""
    cases, bottles = _int(body, "cases", 0) or 0, _int(body, "bottles", 0) or 0
    confirm = bool(body.get("confirm"))
    parser = await runtime.parser()
    try:
        entry = parser.entry(sku)
    except KeyError:
        raise ApiError("bad_request", field="sku") from None
    line = CartLine(sku, entry.name, cases, bottles, entry.bottles_per_case)
    limits = runtime.limits
    too_many = (
        line.total_bottles > limits.max_bottles
        or line.total_bottles > limits.max_cases * entry.bottles_per_case
    )
    if too_many and not confirm:
        raise ApiError("over_limit", sku=sku, bottles=line.total_bottles)
    return line


def _expect(body: dict[str, Any]) -> dict[str, int]:
    version = _int(body, "version")
    return {"expect": version} if version is not None else {}


async def _cart_call(fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
    try:
        return await fn(*args, **kw)
    except ChatOrderingError as exc:
        if exc.code == ChatErrorCode.CART_CHANGED:
            raise ApiError("cart_changed") from None
        raise


@routes.get("/mp/api/cart")
@endpoint
async def cart_get(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    await _store(services, session)
    return _cart_json(await runtime.carts.get(session.tenant_id, session.member_id))


@routes.post("/mp/api/cart/lines")
@endpoint
async def cart_add(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    _, store = await _store(services, session)
    body = await _body(request)
    sku = body.get("sku")
    if not isinstance(sku, str):
        raise ApiError("bad_request", field="sku")
    line = await _line(runtime, sku, body)
    cart = await _cart_call(
        runtime.carts.add, session.tenant_id, session.member_id, store.core_store_id, [line], **_expect(body)
    )
    return _cart_json(cart)


@routes.put("/mp/api/cart/lines/{sku}")
@endpoint
async def cart_set(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    _, store = await _store(services, session)
    body = await _body(request)
    sku = request.match_info["sku"]
    line = await _line(runtime, sku, body)
    cart = await _cart_call(
        runtime.carts.set_line,
        session.tenant_id,
        session.member_id,
        store.core_store_id,
        line,
        **_expect(body),
    )
    return _cart_json(cart)


@routes.delete("/mp/api/cart/lines/{sku}")
@endpoint
async def cart_remove(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    _, store = await _store(services, session)
    expect = {"expect": int(request.query["version"])} if request.query.get("version", "").isdigit() else {}
    cart = await _cart_call(
        runtime.carts.remove,
        session.tenant_id,
        session.member_id,
        store.core_store_id,
        request.match_info["sku"],
        **expect,
    )
    return _cart_json(cart)


@routes.delete("/mp/api/cart")
@endpoint
async def cart_clear(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    await _store(services, session)
    await runtime.carts.clear(session.tenant_id, session.member_id)
    return _cart_json(await runtime.carts.get(session.tenant_id, session.member_id))


@routes.post("/mp/api/cart/text")
@endpoint
async def cart_text(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    """A free-text order ("飞天 2箱 普五3件"): certain lines go into the cart; ambiguous and
    unknown products and quantities to confirm come back for the page to ask about."""
    _, store = await _store(services, session)
    text = (await _body(request)).get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError("bad_request", field="text")
    parser = await runtime.parser()
    result = parser.parse(text)
    ready = [li for li in result.lines if not li.needs_confirmation]
    from bot.ordering.cart_edits import cart_line  # the same line conversion as the chat

    cart = await runtime.carts.get(session.tenant_id, session.member_id)
    if ready:
        cart = await runtime.carts.add(
            session.tenant_id, session.member_id, store.core_store_id, [cart_line(parser, li) for li in ready]
        )
    return {
        "cart": _cart_json(cart),
        "added": [li.sku for li in ready],
        "confirm": [
            {
                "sku": li.sku,
                "name": li.name,
                "quantity": li.quantity,
                "unit": li.unit,
                "bottles": li.bottles,
                "flags": list(li.flags),
            }
            for li in result.lines
            if li.needs_confirmation
        ],
        "ambiguous": [
            {
                "text": a.text,
                "candidates": [{"sku": s, "name": parser.entry(s).name} for s in a.candidates],
                "quantity": a.quantity,
                "unit": a.unit,
            }
            for a in result.ambiguous
        ],
        "unmatched": [
            {"text": u.text, "suggestions": [{"sku": s, "name": parser.entry(s).name} for s in u.suggestions]}
            for u in result.unmatched
        ],
    }


@routes.post("/mp/api/reorder")
@endpoint
async def reorder(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    _, store = await _store(services, session)
    last = await runtime.core.orders.last_for_store(store.core_store_id)
    if last is None:
        raise ApiError("not_found")
    parser = await runtime.parser()
    lines = []
    for req in last.reorder_lines():
        try:
            entry = parser.entry(req.sku)
        except KeyError:
            continue  # no longer in the catalog
        lines.append(CartLine(req.sku, entry.name, req.cases, req.bottles, entry.bottles_per_case))
    cart = await runtime.carts.replace(session.tenant_id, session.member_id, store.core_store_id, lines)
    return {"cart": _cart_json(cart), "from_order": tracking.order_view(last)}


# quote and order ------------------------------------------------------------------------------------
async def _current_cart(
    runtime: OrderingRuntime, session: MpSession, store: Any, body: dict[str, Any]
) -> Any:
    cart = await runtime.carts.get(session.tenant_id, session.member_id)
    if cart is None or cart.empty or cart.core_store_id != store.core_store_id:
        raise ApiError("cart_empty")
    version = _int(body, "version")
    if version is not None and version != cart.version:
        raise ApiError("cart_changed", version=cart.version)
    return cart


@routes.post("/mp/api/quote")
@endpoint
async def quote(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    _, store = await _store(services, session)
    cart = await _current_cart(runtime, session, store, await _body(request))
    orders = runtime.core.orders
    priced = await orders.quote(cart.core_store_id, co.line_requests(cart))
    coupon = co.best_coupon(priced)
    if coupon is not None:
        priced = await orders.quote(cart.core_store_id, co.line_requests(cart), coupon_claim_id=coupon)
    # the templates the page asks the user to subscribe to (wx.requestSubscribeMessage) when the
    # order button is tapped, so that a result that comes late can still reach them
    template = services.settings.order_mp_subscribe_template_id
    subscribe = {"order_result": template} if template else {}
    return {"cart": _cart_json(cart), "quote": co.quote_view(priced, cart), "subscribe_templates": subscribe}


@routes.post("/mp/api/orders")
@endpoint
async def place(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    """Place the cart as quoted. ``version`` (the cart version the page showed) and
    ``expected_total_fen`` (the quote's total) are required: the Idempotency-Key is derived from
    the cart, so repeating this request never places a second order."""
    _, store = await _store(services, session)
    body = await _body(request)
    if _int(body, "version") is None or _int(body, "expected_total_fen") is None:
        raise ApiError("bad_request", field="version/expected_total_fen")
    cart = await _current_cart(runtime, session, store, body)
    order = co.order_body(cart, None, note=str(body.get("note") or ""))
    order["expected_total_fen"] = body["expected_total_fen"]
    if _int(body, "coupon_claim_id") is not None:
        order["coupon_claim_id"] = body["coupon_claim_id"]
    order["_cart"] = cart.id
    key = co.idempotency_key(session.tenant_id, cart)
    sub = Submission(session.tenant_id, session.member_id, session.appid, session.openid, "mp", key, order)
    result = await runtime.placer.place(sub, budget=runtime.confirm_budget)
    if result.status == PLACED:
        await runtime.carts.clear_if(session.tenant_id, session.member_id, cart.id)
        return web.json_response({"result": result}, status=201, dumps=_dump)
    if result.status == PENDING:
        return web.json_response({"result": result}, status=202, dumps=_dump)
    await _bump(runtime, session, cart)
    raise ApiError("refused", result=dataclasses.asdict(result))


async def _bump(runtime: OrderingRuntime, session: MpSession, cart: Any) -> None:
    with contextlib.suppress(ChatOrderingError, CoreError):
        await runtime.carts.bump_if(session.tenant_id, session.member_id, cart.id)


@routes.get("/mp/api/order-intents/{key}")
@endpoint
async def intent(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    result = await runtime.placer.status(session.tenant_id, request.match_info["key"][:80])
    if result is None:
        raise ApiError("not_found")
    return {"result": result}


@routes.get("/mp/api/orders")
@endpoint
async def orders_list(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    _, store = await _store(services, session)
    page = await runtime.core.orders.list_for_store(
        store.core_store_id, cursor=request.query.get("cursor") or None, limit=10
    )
    return {"items": [tracking.order_view(o) for o in page.items], "next_cursor": page.next_cursor}


@routes.get("/mp/api/orders/last")
@endpoint
async def orders_last(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    _, store = await _store(services, session)
    last = await runtime.core.orders.last_for_store(store.core_store_id)
    if last is None:
        raise ApiError("not_found")
    return {"order": tracking.order_view(last)}


@routes.get("/mp/api/orders/{order_id}")  # after /orders/last: routes match in order
@endpoint
async def order_detail(
    request: web.Request, services: Services, runtime: OrderingRuntime, session: MpSession
) -> Any:
    _, store = await _store(services, session)
    raw = request.match_info["order_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise ApiError("not_found")
    order = await tracking.one(runtime.core.orders, store.core_store_id, int(raw))
    if order is None:
        raise ApiError("not_found")
    return {"order": tracking.order_view(order)}


def add_routes(app: web.Application) -> None:
    """Serve the mini-program ordering API (call before the app starts)."""
    app.router.add_routes(routes)
