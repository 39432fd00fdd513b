"""Order-status events from the core: who at the store hears about them, and what is known.

The web layer verifies and dedupes the webhook, renders the texts and pushes them through the
notifier; this module decides the recipients (the store's owner, and the staff member who placed
the order through jiubot) and gathers the order's facts, and credits ordering points through
membership.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend_client import NotFound, OrderStatusChanged
from bot.membership.loyalty_config import LoyaltyConfig
from bot.membership.orders import order_status_changed
from bot.ordering import repository as repo
from bot.ordering.models import OrderIntent
from bot.ordering.views import OWNER, china

# Statuses worth a push: the store owner watches for his goods, not for each warehouse step.
NOTIFY = frozenset({"created", "shipped", "delivered", "cancelled"})


@dataclass(frozen=True, slots=True)
class Notice:
    event_id: str
    order_id: int
    number: str
    status: str
    at: datetime | None  # China time
    location: str
    carrier: str
    waybill: str
    eta: datetime | None
    total_fen: int | None
    member_ids: tuple[int, ...]  # who hears about it


@dataclass(frozen=True, slots=True)
class OrderFacts:
    store_code: str
    store_id: int | None  # jiubot's, when the store is linked
    total_fen: int | None
    placed_by: int | None  # the member who confirmed it in jiubot
    via_jiubot: bool


async def facts(session: AsyncSession, tenant_id: int, data: OrderStatusChanged) -> OrderFacts | None:
    """What jiubot knows of the order without asking the core (None: the store is not linked)."""
    link = await repo.link_by_core_id(session, tenant_id, data.store_id)
    intent = (
        await session.execute(
            select(OrderIntent.member_id, OrderIntent.total_fen)
            .where(OrderIntent.tenant_id == tenant_id, OrderIntent.order_id == data.order_id)
            .limit(1)
        )
    ).first()
    if link is None:
        return None
    return OrderFacts(
        link.code,
        link.store_id,
        intent.total_fen if intent else None,
        intent.member_id if intent else None,
        intent is not None,
    )


async def store_code_from_core(core: Any, core_store_id: int) -> str | None:
    try:
        return (await core.org.store(core_store_id)).code
    except NotFound:
        return None


async def order_total(core: Any, order_id: int) -> int | None:
    try:
        return (await core.orders.get(order_id)).total_fen
    except NotFound:
        return None


async def credit_points(
    session: AsyncSession,
    tenant_id: int,
    data: OrderStatusChanged,
    *,
    store_code: str,
    amount_fen: int | None,
    config: LoyaltyConfig,
) -> None:
    """Membership's ordering points follow every status (it is idempotent per order)."""
    await order_status_changed(
        session,
        tenant_id,
        order_id=str(data.order_id),
        store_code=store_code,
        amount_fen=amount_fen or 0,
        status=data.status,
        config=config,
    )


def needs_amount(status: str, config: LoyaltyConfig) -> bool:
    return status in config.order_credit_statuses or status in config.order_reverse_statuses


async def notice_for(
    session: AsyncSession, tenant_id: int, event_id: str, data: OrderStatusChanged, known: OrderFacts
) -> Notice | None:
    """Who to tell about this status (None: not a status store owners are told about)."""
    if data.status not in NOTIFY or known.store_id is None:
        return None
    if data.status == "created" and known.via_jiubot:
        return None  # the member saw the order confirmed in chat
    members = await repo.store_members(session, tenant_id, known.store_id, roles=(OWNER,))
    ids = [m for m, _ in members]
    if known.placed_by is not None and known.placed_by not in ids:
        ids.append(known.placed_by)
    if not ids:
        return None
    return Notice(
        event_id=event_id,
        order_id=data.order_id,
        number=data.number,
        status=data.status,
        at=china(data.at),
        location=data.location,
        carrier=data.carrier,
        waybill=data.waybill,
        eta=china(data.eta),
        total_fen=known.total_fen,
        member_ids=tuple(ids),
    )
