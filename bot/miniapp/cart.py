"""Cart endpoints of the mini-program API: the member's cart (the same Redis cart as the chat),
line changes with an optional version check, free text through the chat's parser, and reorder.

Quantities have two bounds, both from the deployment's ``ParseLimits``: above the sanity limit a
line needs ``confirm: true`` (409 ``over_limit`` otherwise, as the chat asks "are you sure?");
above ``CEILING`` times it, nothing is accepted (400 ``quantity_too_large``), confirmed or not,
typed as numbers or as text ("99999999999999999999箱").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.miniapp.api import api
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.ordering import bound_store, ordering_of
from bot.miniapp.schemas import CartTextBody, LineBody, VersionQuery
from bot.miniapp.session import MpSession
from bot.ordering import tracking
from bot.ordering.errors import ChatErrorCode, ChatOrderingError
from bot.ordering.interface import ParseLimits, ParseResult
from bot.ordering.parser import OrderParser
from bot.ordering.runtime import OrderingRuntime
from bot.ordering.views import CartLine
from bot.services import Services

routes = web.RouteTableDef()

CEILING = 10  # a confirmed line holds at most ten times the sanity limits


def cart_json(cart: Any) -> dict[str, Any]:
    if cart is None:
        return {"id": None, "version": 0, "lines": []}
    lines = [dataclasses.asdict(li) | {"total_bottles": li.total_bottles} for li in cart.lines]
    return {"id": cart.id, "version": cart.version, "lines": lines}


def above(limits: ParseLimits, bottles: int, bottles_per_case: int, *, factor: int = 1) -> bool:
    """Whether ``bottles`` of a product exceed ``factor`` times the sanity limits."""
    return bottles > factor * limits.max_bottles or bottles > factor * limits.max_cases * bottles_per_case


async def _line(runtime: OrderingRuntime, tenant_id: int, sku: str, body: LineBody) -> CartLine:
    """A cart line from a request body (``cases``, ``bottles``, ``confirm`` above the limits)."""
    parser = await runtime.parser(tenant_id)
    try:
        entry = parser.entry(sku)
    except KeyError:
        raise MpError(ErrorCode.BAD_REQUEST, "unknown sku", field="sku") from None
    line = CartLine(sku, entry.name, body.cases, body.bottles, entry.bottles_per_case)
    total = line.total_bottles
    if above(runtime.limits, total, entry.bottles_per_case, factor=CEILING):
        raise MpError(ErrorCode.QUANTITY_TOO_LARGE, f"{total} bottles", field="bottles", sku=sku)
    if above(runtime.limits, total, entry.bottles_per_case) and not body.confirm:
        raise MpError(ErrorCode.OVER_LIMIT, sku=sku, bottles=total)
    return line


def _expect(version: int | None) -> dict[str, int]:
    return {"expect": version} if version is not None else {}


async def _cart_call(fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
    try:
        return await fn(*args, **kw)
    except ChatOrderingError as exc:
        if exc.code == ChatErrorCode.CART_CHANGED:
            raise MpError(ErrorCode.CART_CHANGED) from None
        raise


@routes.get("/mp/api/cart")
@api()
async def cart_get(request: web.Request, services: Services, *, session: MpSession) -> Any:
    runtime = ordering_of(services)
    await bound_store(runtime, session)
    return cart_json(await runtime.carts.get(session.tenant_id, session.member_id))


@routes.post("/mp/api/cart/lines")
@api(body=LineBody)
async def cart_add(request: web.Request, services: Services, *, session: MpSession, body: LineBody) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    if body.sku is None:
        raise MpError(ErrorCode.BAD_REQUEST, "sku is required", field="sku")
    line = await _line(runtime, session.tenant_id, body.sku, body)
    cart = await _cart_call(
        runtime.carts.add,
        session.tenant_id,
        session.member_id,
        store.core_store_id,
        [line],
        **_expect(body.version),
    )
    return cart_json(cart)


def _path_sku(request: web.Request) -> str:
    sku = request.match_info["sku"]
    if len(sku) > 64:
        raise MpError(ErrorCode.BAD_REQUEST, "sku too long", field="sku")
    return sku


@routes.put("/mp/api/cart/lines/{sku}")
@api(body=LineBody)
async def cart_set(request: web.Request, services: Services, *, session: MpSession, body: LineBody) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    line = await _line(runtime, session.tenant_id, _path_sku(request), body)
    cart = await _cart_call(
        runtime.carts.set_line,
        session.tenant_id,
        session.member_id,
        store.core_store_id,
        line,
        **_expect(body.version),
    )
    return cart_json(cart)


@routes.delete("/mp/api/cart/lines/{sku}")
@api(query=VersionQuery)
async def cart_remove(
    request: web.Request, services: Services, *, session: MpSession, query: VersionQuery
) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    cart = await _cart_call(
        runtime.carts.remove,
        session.tenant_id,
        session.member_id,
        store.core_store_id,
        _path_sku(request),
        **_expect(query.version),
    )
    return cart_json(cart)


@routes.delete("/mp/api/cart")
@api()
async def cart_clear(request: web.Request, services: Services, *, session: MpSession) -> Any:
    runtime = ordering_of(services)
    await bound_store(runtime, session)
    await runtime.carts.clear(session.tenant_id, session.member_id)
    return cart_json(await runtime.carts.get(session.tenant_id, session.member_id))


def _past_ceiling(result: ParseResult, parser: OrderParser, limits: ParseLimits) -> bool:
    """Whether any quantity the text says is past the ceiling (lines in bottles; ambiguous and
    unmatched mentions as said, in whatever unit)."""
    for li in result.lines:
        if li.bottles is not None and above(
            limits, li.bottles, parser.entry(li.sku).bottles_per_case, factor=CEILING
        ):
            return True
    said = [a.quantity for a in result.ambiguous] + [u.quantity for u in result.unmatched]
    return any(q is not None and q > CEILING * limits.max_bottles for q in said)


@routes.post("/mp/api/cart/text")
@api(body=CartTextBody)
async def cart_text(
    request: web.Request, services: Services, *, session: MpSession, body: CartTextBody
) -> Any:
    """A free-text order ("飞天 2箱 普五3件"): certain lines go into the cart; ambiguous and
    unknown products and quantities to confirm come back for the page to ask about. A quantity
    past the ceiling refuses the whole text (nothing is added)."""
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    if not body.text.strip():
        raise MpError(ErrorCode.BAD_REQUEST, "text is blank", field="text")
    parser = await runtime.parser(session.tenant_id)
    result = parser.parse(body.text)
    if _past_ceiling(result, parser, runtime.limits):
        raise MpError(ErrorCode.QUANTITY_TOO_LARGE, "a quantity past the ceiling", field="text")
    ready = [li for li in result.lines if not li.needs_confirmation]
    from bot.ordering.cart_edits import cart_line  # the same line conversion as the chat

    cart = await runtime.carts.get(session.tenant_id, session.member_id)
    if ready:
        cart = await runtime.carts.add(
            session.tenant_id, session.member_id, store.core_store_id, [cart_line(parser, li) for li in ready]
        )
    return {
        "cart": cart_json(cart),
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
@api()
async def reorder(request: web.Request, services: Services, *, session: MpSession) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    last = await (await runtime.core(session.tenant_id)).orders.last_for_store(store.core_store_id)
    if last is None:
        raise MpError(ErrorCode.NOT_FOUND)
    parser = await runtime.parser(session.tenant_id)
    lines = []
    for req in last.reorder_lines():
        try:
            entry = parser.entry(req.sku)
        except KeyError:
            continue  # no longer in the catalog
        lines.append(CartLine(req.sku, entry.name, req.cases, req.bottles, entry.bottles_per_case))
    cart = await runtime.carts.replace(session.tenant_id, session.member_id, store.core_store_id, lines)
    return {"cart": cart_json(cart), "from_order": tracking.order_view(last)}
