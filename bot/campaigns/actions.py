"""The store's actions on campaigns, through the core's contract.

Every write carries an idempotency key built from its cause (``key_for``): a WeChat retry of
the same message, or a second tap of the same mini-program button, reaches the core with the
same key and gets the same order / participation back, never a second one. Oversell cannot
happen here by construction: the core decrements a flash sale's or a lot's stock with a
conditional update and refuses the rest ``sold_out``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend_client import (
    BackendUnavailable,
    Conflict,
    CoreError,
    CreditLimitExceeded,
    LineRequest,
    NotFound,
    OutOfStock,
    PromotionUnavailable,
)
from bot.campaigns import definitions
from bot.campaigns.errors import CampaignRefused
from bot.campaigns.soldout import SoldOutGate
from bot.campaigns.views import KINDS, CampaignView, view_of

MAX_BOTTLES = 600


@dataclass(frozen=True, slots=True)
class Purchase:
    campaign_id: int
    order_id: int
    number: str
    bottles: int
    unit_price_fen: int
    total_fen: int


@dataclass(frozen=True, slots=True)
class Joined:
    campaign_id: int
    bottles: int
    status: str
    group: Any  # GroupProgress after the join


def key_for(tenant_id: int, store_id: int, campaign_id: int, action: str, cause: str) -> str:
    """``cause``: ``m:<MsgId>`` in chat, ``mp:<request key>`` in the mini-program."""
    digest = hashlib.sha256(cause.encode()).hexdigest()[:24]
    return f"jb:camp:{tenant_id}:{store_id}:{campaign_id}:{action}:{digest}"


async def open_for_store(core: Any, store_id: int, now: datetime, *, limit: int = 20) -> list[CampaignView]:
    """Active and upcoming flash sales, group buys and auctions whose audience has the store,
    the ones ending soonest first."""
    found: list[CampaignView] = []
    for status in ("active", "scheduled"):
        page = await core.promotions.list(status=status, store_id=store_id, limit=100)
        found += [view_of(p, now) for p in page.items if p.kind in KINDS]
    found.sort(key=lambda v: (v.status != "active", v.seconds_left))
    return found[:limit]


async def one(core: Any, campaign_id: int, now: datetime, *, cached: bool = False) -> CampaignView:
    """The campaign now; ``cached``: its definition may be up to definitions.TTL old (the buy
    path, where the core checks everything that changes)."""
    try:
        promotion = (
            await definitions.promotion(core, campaign_id)
            if cached
            else await core.promotions.get(campaign_id)
        )
    except NotFound:
        raise CampaignRefused("not_found") from None
    if promotion.kind not in KINDS:
        raise CampaignRefused("not_found")
    return view_of(promotion, now)


def _refusal(exc: CoreError) -> CampaignRefused:
    if isinstance(exc, PromotionUnavailable):
        return CampaignRefused(exc.reason or "refused", detail=str(exc)[:200])
    if isinstance(exc, CreditLimitExceeded):
        return CampaignRefused(
            "credit_overdue" if exc.overdue else "credit_limit_exceeded",
            available_fen=exc.available_fen,
            required_fen=exc.required_fen,
            overdue_fen=exc.overdue_fen,
        )
    if isinstance(exc, OutOfStock):
        return CampaignRefused("out_of_stock")
    if isinstance(exc, Conflict) and exc.reason == "already_joined":
        return CampaignRefused("already_joined", bottles=exc.details.get("bottles"))
    if isinstance(exc, NotFound):
        return CampaignRefused("not_found")
    return CampaignRefused("refused", detail=str(exc)[:200])


async def buy(
    core: Any,
    tenant_id: int,
    store_id: int,
    campaign: CampaignView,
    bottles: int,
    *,
    cause: str,
    gate: SoldOutGate | None = None,
) -> Purchase:
    """Buy at the flash price or take an auction lot at its current price. ``gate``: answer a
    new buyer ``sold_out`` without the core when the core just said so (bot/campaigns/soldout.py)."""
    if campaign.kind not in ("flash_sale", "auction"):
        raise CampaignRefused("wrong_kind", kind=campaign.kind)
    if not 1 <= bottles <= MAX_BOTTLES:
        raise CampaignRefused("bad_quantity")
    key = key_for(tenant_id, store_id, campaign.id, "buy", cause)
    line = LineRequest(sku=campaign.sku, bottles=bottles, promotion_id=campaign.id)
    if gate is not None and await gate.known_sold_out(tenant_id, campaign.id, bottles, key):
        raise CampaignRefused("sold_out")
    try:
        order = await core.orders.create(
            store_id, [line], idempotency_key=key, note=f"{campaign.label} {campaign.name}"[:200]
        )
    except BackendUnavailable:
        raise
    except CoreError as exc:
        refusal = _refusal(exc)
        if gate is not None and refusal.reason == "sold_out":
            await gate.mark(tenant_id, campaign.id, bottles)
        raise refusal from None
    line_out = next((ln for ln in order.lines if ln.promotion_id == campaign.id and not ln.is_gift), None)
    unit = line_out.amount_fen // max(line_out.quantity, 1) if line_out is not None else 0
    return Purchase(campaign.id, order.id, order.number, bottles, unit, order.total_fen)


async def join(
    core: Any, tenant_id: int, store_id: int, campaign: CampaignView, bottles: int, *, cause: str
) -> Joined:
    """Join (or, as the first store, open) a group buy with ``bottles``; the core places the
    order at the final tier's price when the group closes at its deadline."""
    if campaign.kind != "group_buy":
        raise CampaignRefused("wrong_kind", kind=campaign.kind)
    if not 1 <= bottles <= MAX_BOTTLES:
        raise CampaignRefused("bad_quantity")
    key = key_for(tenant_id, store_id, campaign.id, "join", cause)
    try:
        joined = await core.promotions.join_group(campaign.id, store_id, bottles, idempotency_key=key)
    except BackendUnavailable:
        raise
    except CoreError as exc:
        raise _refusal(exc) from None
    return Joined(campaign.id, joined.bottles, joined.status, joined.group)
