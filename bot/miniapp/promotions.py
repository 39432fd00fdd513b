"""Campaigns, the store's account and the regional home in the mini-program (issue 16),
documented in ``openapi.yaml``:

* ``GET /mp/api/promotions``: flash sales, group buys and auctions open to the caller's store,
  with countdowns (``seconds_left``), remaining stock, group progress and the auction's price;
* ``GET /mp/api/promotions/{id}``: one of them (the group buy's share link opens this);
* ``POST /mp/api/promotions/{id}/buy`` ``{"bottles", "request_key"}``: buy at the flash price or
  take an auction lot at its current price;
* ``POST /mp/api/promotions/{id}/join`` ``{"bottles", "request_key"}``: join or open a group buy;
* ``GET /mp/api/account``: the store's credit (limit, used, available) and the stock by
  warehouse of the products it orders;
* ``POST /mp/api/drop-ships`` ``{"sku", "bottles", "recipient", "request_key"}``: 一键代发, the
  goods go from the store's stock straight to its customer (carrier and waybill in the answer);
* ``GET /mp/api/home``: the home of the store's region (页面装修: banners, featured products,
  campaign blocks filled with the campaigns open to the store, shortcuts), its live version.

``request_key`` is made once per button press by the page (8-64 of ``[A-Za-z0-9_-]``): a double
tap or a network retry sends the same key and gets the same order back. A refusal is
``campaign_refused`` (409) with ``reason`` and a Chinese ``message`` naming it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from aiohttp import web
from pydantic import Field, StringConstraints

from backend_client import models as m
from bot.campaigns import account as accounts
from bot.campaigns import actions, dropship, storefront
from bot.campaigns.errors import CampaignRefused
from bot.campaigns.soldout import SoldOutGate
from bot.db import session_scope
from bot.miniapp.api import api, json_response
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.ordering import binding_of, bound_store, ordering_of
from bot.miniapp.schemas import Body
from bot.miniapp.session import MpSession
from bot.services import Services

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

SHARE_PATH = "pages/promotions/detail?id={id}"


class CampaignBody(Body):
    bottles: Annotated[int, Field(ge=1, le=actions.MAX_BOTTLES)] = 1
    request_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


def _refused(services: Services, exc: CampaignRefused) -> MpError:
    if exc.reason == "not_found":
        return MpError(
            ErrorCode.NOT_FOUND, "campaign", message=services.text("campaign_refused", reason="not_found")
        )
    text = services.text("campaign_refused", reason=exc.reason, **exc.data)
    extra = {k: v for k, v in exc.data.items() if k in ("available_fen", "required_fen", "overdue_fen")}
    return MpError(ErrorCode.CAMPAIGN_REFUSED, exc.reason, message=text, reason=exc.reason, **extra)


def _item(view: Any) -> dict[str, Any]:
    return view.to_json() | {"share_path": SHARE_PATH.format(id=view.id)}


def _id(request: web.Request) -> int:
    raw = request.match_info["promotion_id"]
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 2**53 - 1:
        raise MpError(ErrorCode.NOT_FOUND, "campaign id")  # no such campaign can exist
    return int(raw)


@routes.get("/mp/api/promotions")
@api()
async def promotions_list(request: web.Request, services: Services, *, session: MpSession) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    now = datetime.now(UTC)
    found = await actions.open_for_store(await runtime.core(session.tenant_id), store.core_store_id, now)
    return {"store": store.name, "now": now, "items": [_item(v) for v in found]}


@routes.get("/mp/api/promotions/{promotion_id}")
@api()
async def promotion_detail(request: web.Request, services: Services, *, session: MpSession) -> Any:
    runtime = ordering_of(services)
    await bound_store(runtime, session)
    try:
        view = await actions.one(await runtime.core(session.tenant_id), _id(request), datetime.now(UTC))
    except CampaignRefused as exc:
        raise _refused(services, exc) from None
    return _item(view)


async def _act(
    request: web.Request, services: Services, session: MpSession, body: CampaignBody, verb: str
) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    core, cause = await runtime.core(session.tenant_id), f"mp:{body.request_key}"
    try:
        campaign = await actions.one(core, _id(request), datetime.now(UTC), cached=True)
        if verb == "join":
            joined = await actions.join(
                core, session.tenant_id, store.core_store_id, campaign, body.bottles, cause=cause
            )
            fresh = await actions.one(core, campaign.id, datetime.now(UTC))
            result = {
                "joined": True,
                "bottles": joined.bottles,
                "status": joined.status,
                "promotion": _item(fresh),
            }
            return json_response(result, status=201)
        bought = await actions.buy(
            core,
            session.tenant_id,
            store.core_store_id,
            campaign,
            body.bottles,
            cause=cause,
            gate=SoldOutGate(services.redis, services.keys),
        )
    except CampaignRefused as exc:
        raise _refused(services, exc) from None
    return json_response({"order": bought, "promotion_id": campaign.id}, status=201)


@routes.post("/mp/api/promotions/{promotion_id}/buy")
@api(body=CampaignBody)
async def promotion_buy(
    request: web.Request, services: Services, *, session: MpSession, body: CampaignBody
) -> Any:
    return await _act(request, services, session, body, "buy")


@routes.post("/mp/api/promotions/{promotion_id}/join")
@api(body=CampaignBody)
async def promotion_join(
    request: web.Request, services: Services, *, session: MpSession, body: CampaignBody
) -> Any:
    return await _act(request, services, session, body, "join")


@routes.get("/mp/api/account")
@api()
async def store_account(request: web.Request, services: Services, *, session: MpSession) -> Any:
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    found = await accounts.account(await runtime.core(session.tenant_id), store.core_store_id)
    credit = found.credit
    return {
        "store": found.store,
        "credit": {
            "limit_fen": credit.limit_fen,
            "used_fen": credit.used_fen,
            "available_fen": credit.available_fen,
            "used_percent": credit.used_percent,
            "overdue_fen": credit.overdue_fen,
        },
        "stock": found.stock,
    }


@routes.get("/mp/api/home")
@api()
async def home(request: web.Request, services: Services, *, session: MpSession) -> Any:
    runtime = ordering_of(services)
    binding = await binding_of(runtime, session)
    region, found = None, []
    if binding.bound and binding.store is not None:
        store_id = binding.store.core_store_id
        core = await runtime.core(session.tenant_id)
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
    return {
        "region": region,
        "layout_region": live.region_code,
        "version": live.version,
        "published_at": live.published_at,
        "banners": layout.get("banners", []),
        "featured": layout.get("featured", []),
        "campaign_blocks": blocks,
        "shortcuts": layout.get("shortcuts", []),
    }


class RecipientBody(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=r"^[^\x00-\x1f]+$")]
    phone: Annotated[str, StringConstraints(pattern=r"^1[3-9][0-9]{9}$")]
    address: Annotated[str, StringConstraints(min_length=5, max_length=200, pattern=r"^[^\x00-\x1f]+$")]


class DropShipBody(Body):
    sku: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    bottles: Annotated[int, Field(ge=1, le=dropship.MAX_BOTTLES)]
    recipient: RecipientBody
    request_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


@routes.post("/mp/api/drop-ships")
@api(body=DropShipBody)
async def drop_ship(
    request: web.Request, services: Services, *, session: MpSession, body: DropShipBody
) -> Any:
    """一键代发 from the mini-program: the same ``request_key`` reaches the core as one request."""
    runtime = ordering_of(services)
    store = await bound_store(runtime, session)
    recipient = m.Recipient(body.recipient.name, body.recipient.phone, body.recipient.address)
    key = f"jiubot:dropship:mp:{store.core_store_id}:{body.request_key}"
    try:
        shipped = await dropship.ship(
            await runtime.core(session.tenant_id),
            store.core_store_id,
            body.sku,
            body.bottles,
            recipient,
            key=key,
        )
    except dropship.DropShipRefused as exc:
        step = "out_of_stock" if exc.reason == "out_of_stock" else "refused"
        text = services.text("dropship", step=step, **exc.data)
        log.info("dropship_refused", store=store.code, reason=exc.reason)
        code = ErrorCode.OUT_OF_STOCK if exc.reason == "out_of_stock" else ErrorCode.CORE_REFUSED
        raise MpError(code, exc.reason, message=text, reason=exc.reason, **exc.data) from None
    log.info("dropship_shipped", store=store.code, drop_ship=shipped.id, bottles=shipped.bottles)
    return json_response({"drop_ship": shipped}, status=201)
