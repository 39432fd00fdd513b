"""Campaigns in the mini-program (issue 16), documented in ``openapi.yaml``:

* ``GET /mp/api/promotions``: flash sales, group buys and auctions open to the caller's store,
  with countdowns (``seconds_left``), remaining stock, group progress and the auction's price;
* ``GET /mp/api/promotions/{id}``: one of them (the group buy's share link opens this);
* ``POST /mp/api/promotions/{id}/buy`` ``{"bottles", "request_key"}``: buy at the flash price or
  take an auction lot at its current price;
* ``POST /mp/api/promotions/{id}/join`` ``{"bottles", "request_key"}``: join or open a group buy;
* ``GET /mp/api/account``: the store's credit (limit, used, available) and the stock by
  warehouse of the products it orders;
* ``GET /mp/api/home``: the home of the store's region (页面装修: banners, featured products,
  campaign blocks filled with the campaigns open to the store, shortcuts), its live version.

``request_key`` is made once per button press by the page (8-64 of ``[A-Za-z0-9_-]``): a double
tap or a network retry sends the same key and gets the same order back. Refusals are
``{"error": <reason>, "message": <中文>}`` with 409 (403 unbound, 404 unknown, 503 core down).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from aiohttp import web

from backend_client import BackendUnavailable
from bot.campaigns import account as accounts
from bot.campaigns import actions, storefront
from bot.campaigns.errors import CampaignRefused
from bot.db import session_scope
from bot.miniapp.routes import api, require_session, services_of
from bot.services import Services

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
STATUS = {"not_bound": 403, "not_found": 404, "busy": 503, "bad_request": 400, "bad_quantity": 400}
SHARE_PATH = "pages/promotions/detail?id={id}"


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _refused(services: Services, reason: str, **data: Any) -> web.Response:
    body = {"error": reason, "message": services.text("campaign_refused", reason=reason, **data), **data}
    return web.json_response(body, status=STATUS.get(reason, 409), dumps=_dumps)


def _item(view: Any) -> dict[str, Any]:
    return view.to_json() | {"share_path": SHARE_PATH.format(id=view.id)}


async def _context(request: web.Request) -> tuple[Services, Any]:
    services = services_of(request)
    session = require_session(request)
    runtime = services.ordering
    if runtime is None or services.core is None:
        raise CampaignRefused("busy")
    binding = await runtime.bindings.get(session.member_id)
    if binding is None or not binding.bound:
        raise CampaignRefused("not_bound")
    return services, binding


async def _body(request: web.Request) -> tuple[int, str]:
    try:
        body = orjson.loads(await request.read() or b"{}")
    except orjson.JSONDecodeError:
        raise CampaignRefused("bad_request", field="body") from None
    if not isinstance(body, dict):
        raise CampaignRefused("bad_request", field="body")
    bottles, key = body.get("bottles", 1), body.get("request_key") or request.headers.get("Idempotency-Key")
    if isinstance(bottles, bool) or not isinstance(bottles, int) or not 1 <= bottles <= actions.MAX_BOTTLES:
        raise CampaignRefused("bad_quantity", field="bottles")
    if not isinstance(key, str) or not _KEY.match(key):
        raise CampaignRefused("bad_request", field="request_key")
    return bottles, key


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["promotion_id"])
    except ValueError:
        raise CampaignRefused("not_found") from None


def _guard(handler):  # type: ignore[no-untyped-def]
    """Refusals and an unreachable core as JSON (the session errors are ``api``'s)."""

    async def view(request: web.Request) -> Any:
        try:
            return await handler(request)
        except CampaignRefused as exc:
            log.info("mp_campaign_refused", path=request.path, reason=exc.reason)
            return _refused(services_of(request), exc.reason, **exc.data)
        except BackendUnavailable:
            return _refused(services_of(request), "busy")

    view.__name__ = handler.__name__
    return view


@routes.get("/mp/api/promotions")
@api
@_guard
async def promotions_list(request: web.Request) -> Any:
    services, binding = await _context(request)
    now = datetime.now(UTC)
    found = await actions.open_for_store(services.core, binding.store.core_store_id, now)
    return web.json_response(
        {"store": binding.store.name, "now": now, "items": [_item(v) for v in found]}, dumps=_dumps
    )


@routes.get("/mp/api/promotions/{promotion_id}")
@api
@_guard
async def promotion_detail(request: web.Request) -> Any:
    services, _binding = await _context(request)
    view = await actions.one(services.core, _id(request), datetime.now(UTC))
    return web.json_response(_item(view), dumps=_dumps)


async def _act(request: web.Request, verb: str) -> Any:
    services, binding = await _context(request)
    bottles, key = await _body(request)
    campaign = await actions.one(services.core, _id(request), datetime.now(UTC))
    store_id, tenant_id, cause = binding.store.core_store_id, binding.tenant_id, f"mp:{key}"
    if verb == "join":
        joined = await actions.join(services.core, tenant_id, store_id, campaign, bottles, cause=cause)
        fresh = await actions.one(services.core, campaign.id, datetime.now(UTC))
        body = {"joined": True, "bottles": joined.bottles, "status": joined.status, "promotion": _item(fresh)}
        return web.json_response(body, status=201, dumps=_dumps)
    bought = await actions.buy(services.core, tenant_id, store_id, campaign, bottles, cause=cause)
    return web.json_response({"order": bought, "promotion_id": campaign.id}, status=201, dumps=_dumps)


@routes.post("/mp/api/promotions/{promotion_id}/buy")
@api
@_guard
async def promotion_buy(request: web.Request) -> Any:
    return await _act(request, "buy")


@routes.post("/mp/api/promotions/{promotion_id}/join")
@api
@_guard
async def promotion_join(request: web.Request) -> Any:
    return await _act(request, "join")


@routes.get("/mp/api/account")
@api
@_guard
async def store_account(request: web.Request) -> Any:
    services, binding = await _context(request)
    found = await accounts.account(services.core, binding.store.core_store_id)
    credit = found.credit
    body = {
        "store": found.store,
        "credit": {
            "limit_fen": credit.limit_fen,
            "used_fen": credit.used_fen,
            "available_fen": credit.available_fen,
            "used_percent": credit.used_percent,
        },
        "stock": found.stock,
    }
    return web.json_response(body, dumps=_dumps)


@routes.get("/mp/api/home")
@api
@_guard
async def home(request: web.Request) -> Any:
    services = services_of(request)
    session = require_session(request)
    runtime, core = services.ordering, services.core
    binding = await runtime.bindings.get(session.member_id) if runtime is not None else None
    region, found = None, []
    if core is not None and binding is not None and binding.bound:
        store_id = binding.store.core_store_id
        store, regions = await core.org.store(store_id), await core.org.regions()
        region = next((r.code for r in regions if r.id == store.region_id), None)
        found = await actions.open_for_store(core, store_id, datetime.now(UTC))
    async with session_scope(services.sessions) as db:
        live = await storefront.current(db, session.tenant_id, region)
    layout = live.layout
    blocks = [
        {"title": b["title"], "items": [_item(v) for v in found if v.kind in b["kinds"]]}
        for b in layout.get("campaign_blocks", [])
    ]
    body = {
        "region": region,
        "layout_region": live.region_code,
        "version": live.version,
        "published_at": live.published_at,
        "banners": layout.get("banners", []),
        "featured": layout.get("featured", []),
        "campaign_blocks": blocks,
        "shortcuts": layout.get("shortcuts", []),
    }
    return web.json_response(body, dumps=_dumps)


def add_routes(app: web.Application) -> None:
    app.router.add_routes(routes)
