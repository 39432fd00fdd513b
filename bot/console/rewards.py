"""Redemption orders for the console: a scoped, keyset-paginated list (orders of members in the
reader's scope), and fulfil / cancel through membership's own actions, each with an audit entry
(the carrier and tracking number of a shipment are kept in the audit log and the order's note)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import audit, scope
from bot.console.policy import Actor
from bot.console.repository_paging import BadQuery, Page, fetch_page
from bot.membership import redemption
from bot.membership.models import Member
from bot.membership.reward_models import RedemptionOrder, RewardItem

STATUSES = ("pending", "fulfilled", "cancelled")


class RewardRefused(Exception):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True)
class OrderRow:
    id: int
    member_id: int
    item: str
    quantity: int
    points: int
    status: str
    note: str
    created_at: datetime


def _stmt(actor: Actor) -> Select[RedemptionOrder, str]:
    return (
        select(RedemptionOrder, RewardItem.name)
        .join(RewardItem, RewardItem.id == RedemptionOrder.item_id)
        .join(Member, Member.id == RedemptionOrder.member_id)
        .where(RedemptionOrder.tenant_id == actor.tenant_id, scope.members_clause(actor))
    )


def _row(row: Row[RedemptionOrder, str]) -> OrderRow:
    o, name = row
    return OrderRow(o.id, o.member_id, name, o.quantity, o.points, o.status, o.note, o.created_at)


async def list_orders(
    session: AsyncSession, actor: Actor, *, status: str = "", cursor: str | None = None, limit: int = 20
) -> Page[OrderRow]:
    stmt = _stmt(actor)
    if status:
        if status not in STATUSES:
            raise BadQuery("status", "unknown")
        stmt = stmt.where(RedemptionOrder.status == status)
    return await fetch_page(
        session,
        stmt,
        key_col=RedemptionOrder.id,
        id_col=RedemptionOrder.id,
        key_type=int,
        cursor=cursor,
        limit=limit,
        descending=True,
        convert=_row,
        key_of=lambda row: (row[0].id, row[0].id),
    )


async def get_order(session: AsyncSession, actor: Actor, order_id: int) -> OrderRow | None:
    found = (await session.execute(_stmt(actor).where(RedemptionOrder.id == order_id))).first()
    return None if found is None else _row(found)


def shipment(carrier: str, tracking: str) -> tuple[str, str]:
    carrier = " ".join(carrier.split())
    tracking = tracking.strip()
    if not 1 <= len(carrier) <= 32:
        raise RewardRefused("carrier", "carrier_required")
    if not (6 <= len(tracking) <= 40 and tracking.isascii() and tracking.replace("-", "").isalnum()):
        raise RewardRefused("tracking", "tracking_invalid")
    return carrier, tracking


async def fulfil(
    session: AsyncSession,
    who: audit.Who,
    order: OrderRow,
    carrier: str,
    tracking: str,
    *,
    origin: audit.Origin,
    now: datetime,
) -> None:
    if not await redemption.fulfil(session, who.tenant_id, order.id, now=now):
        raise RewardRefused("row", "order_not_pending")
    note = f"{carrier} {tracking}"
    await session.execute(
        update(RedemptionOrder)
        .where(RedemptionOrder.id == order.id)
        .values(note=note)
        .execution_options(synchronize_session=False)
    )
    await audit.record(
        session,
        who,
        "reward.fulfil",
        target_kind="redemption",
        target_id=order.id,
        before={"status": "pending"},
        after={"status": "fulfilled", "carrier": carrier, "tracking": tracking},
        origin=origin,
        now=now,
    )


async def cancel(
    session: AsyncSession, who: audit.Who, order: OrderRow, *, origin: audit.Origin, now: datetime
) -> None:
    if not await redemption.cancel(session, who.tenant_id, order.id, now=now):
        raise RewardRefused("row", "order_not_pending")
    await audit.record(
        session,
        who,
        "reward.cancel",
        target_kind="redemption",
        target_id=order.id,
        before={"status": "pending"},
        after={"status": "cancelled", "points_returned": order.points},
        origin=origin,
        now=now,
    )
