"""Redeeming points for catalog items: gifts for consumers, marketing resources for stores.

``redeem`` locks the paying account (so one holder's requests run one after another and the
per-member limit is counted safely), takes stock with a conditional ``UPDATE ... WHERE stock
>= :q`` (no overselling however many people press at once) and debits through the ledger.
It runs in a savepoint: any refusal leaves the caller's transaction untouched.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import rowcount, utcnow
from bot.membership import ledger
from bot.membership.actions import lock_member
from bot.membership.errors import ItemUnavailable, LimitReached, NotAllowed, OrderState, OutOfStock
from bot.membership.ledger import REFUND, SPEND, Posting
from bot.membership.ledger_models import CONSUMPTION, ORDERING
from bot.membership.models import Member
from bot.membership.reward_models import GIFT, MARKETING, RedemptionOrder, RewardItem


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    item_id: int
    item_name: str
    quantity: int
    points: int
    status: str
    created_at: datetime


def _view(order: RedemptionOrder, item_name: str) -> OrderView:
    return OrderView(
        order.id, order.item_id, item_name, order.quantity, order.points, order.status, order.created_at
    )


async def paying_account(session: AsyncSession, tenant_id: int, member_id: int, catalog: str) -> int:
    member = (await session.execute(select(Member).where(Member.id == member_id))).scalar_one()
    if catalog == GIFT:
        return await ledger.account_for(session, tenant_id, CONSUMPTION, member_id=member_id)
    if catalog == MARKETING:
        if member.role != "store_owner" or member.store_id is None:
            raise NotAllowed("only a store owner redeems marketing resources", member_id=member_id)
        return await ledger.account_for(session, tenant_id, ORDERING, store_id=member.store_id)
    raise ItemUnavailable(f"unknown catalog {catalog!r}")


async def redeem(
    session: AsyncSession,
    tenant_id: int,
    member_id: int,
    item_id: int,
    *,
    quantity: int = 1,
    request_key: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> OrderView:
    now = now or utcnow()
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    request_key = request_key or uuid.uuid4().hex
    async with session.begin_nested():
        member_id = await lock_member(session, member_id)
        item = (
            await session.execute(
                select(RewardItem).where(RewardItem.id == item_id, RewardItem.tenant_id == tenant_id)
            )
        ).scalar_one_or_none()
        if item is None or not item.active:
            raise ItemUnavailable(f"item {item_id} is not available", item_id=item_id)
        account_id = await paying_account(session, tenant_id, member_id, item.catalog)
        await ledger.lock_account(session, account_id)
        existing = (
            await session.execute(
                select(RedemptionOrder).where(
                    RedemptionOrder.tenant_id == tenant_id,
                    RedemptionOrder.account_id == account_id,
                    RedemptionOrder.request_key == request_key,
                )
            )
        ).scalar_one_or_none()
        if existing is not None:  # the same request again (double tap, retry): same answer
            return _view(existing, item.name)
        if item.per_member_limit:
            taken = (
                await session.execute(
                    select(func.coalesce(func.sum(RedemptionOrder.quantity), 0)).where(
                        RedemptionOrder.item_id == item_id,
                        RedemptionOrder.account_id == account_id,
                        RedemptionOrder.status != "cancelled",
                    )
                )
            ).scalar_one()
            if int(taken) + quantity > item.per_member_limit:
                raise LimitReached(
                    f"limit {item.per_member_limit} for item {item_id}", limit=item.per_member_limit
                )
        took = await session.execute(
            update(RewardItem)
            .where(RewardItem.id == item_id, RewardItem.stock >= quantity, RewardItem.active.is_(True))
            .values(stock=RewardItem.stock - quantity)
            .execution_options(synchronize_session=False)
        )
        if rowcount(took) != 1:
            raise OutOfStock(f"item {item_id} is out of stock", item_id=item_id)
        order = RedemptionOrder(
            tenant_id=tenant_id,
            item_id=item_id,
            account_id=account_id,
            member_id=member_id,
            quantity=quantity,
            points=item.points_cost * quantity,
            status="pending",
            request_key=request_key,
            note=note[:300],
            created_at=now,
            updated_at=now,
        )
        session.add(order)
        await session.flush()
        await ledger.post(
            session,
            tenant_id,
            Posting(account_id, -order.points, SPEND, "redemption", str(order.id), note=f"兑换 {item.name}"),
            now=now,
        )
        return _view(order, item.name)


async def cancel(
    session: AsyncSession, tenant_id: int, order_id: int, *, now: datetime | None = None
) -> bool:
    """pending -> cancelled, points and stock returned. False if it was not pending."""
    now = now or utcnow()
    order = (
        await session.execute(
            select(RedemptionOrder).where(
                RedemptionOrder.id == order_id, RedemptionOrder.tenant_id == tenant_id
            )
        )
    ).scalar_one_or_none()
    if order is None:
        raise OrderState(f"no redemption order {order_id}")
    await lock_member(session, order.member_id)
    changed = await session.execute(
        update(RedemptionOrder)
        .where(RedemptionOrder.id == order_id, RedemptionOrder.status == "pending")
        .values(status="cancelled", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(changed) != 1:
        return False
    # Re-read: a merge may have moved the order to the survivor's account meanwhile.
    account_id = (
        await session.execute(select(RedemptionOrder.account_id).where(RedemptionOrder.id == order_id))
    ).scalar_one()
    await ledger.post(
        session,
        tenant_id,
        Posting(account_id, order.points, REFUND, "redemption_refund", str(order_id), note="兑换取消退回"),
        now=now,
    )
    await session.execute(
        update(RewardItem)
        .where(RewardItem.id == order.item_id)
        .values(stock=RewardItem.stock + order.quantity)
        .execution_options(synchronize_session=False)
    )
    return True


async def fulfil(
    session: AsyncSession, tenant_id: int, order_id: int, *, now: datetime | None = None
) -> bool:
    changed = await session.execute(
        update(RedemptionOrder)
        .where(
            RedemptionOrder.id == order_id,
            RedemptionOrder.tenant_id == tenant_id,
            RedemptionOrder.status == "pending",
        )
        .values(status="fulfilled", updated_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return rowcount(changed) == 1


@dataclass(frozen=True, slots=True)
class ItemView:
    id: int
    catalog: str
    name: str
    description: str
    points_cost: int
    stock: int
    per_member_limit: int


async def add_item(
    session: AsyncSession,
    tenant_id: int,
    *,
    catalog: str,
    name: str,
    points_cost: int,
    stock: int,
    per_member_limit: int = 0,
    description: str = "",
) -> int:
    if catalog not in (GIFT, MARKETING):
        raise ItemUnavailable(f"catalog is {GIFT} or {MARKETING}")
    item = RewardItem(
        tenant_id=tenant_id,
        catalog=catalog,
        name=name,
        points_cost=points_cost,
        stock=stock,
        per_member_limit=per_member_limit,
        description=description[:500],
    )
    session.add(item)
    await session.flush()
    return item.id


async def catalog(session: AsyncSession, tenant_id: int, kind: str) -> list[ItemView]:
    stmt = (
        select(RewardItem)
        .where(RewardItem.tenant_id == tenant_id, RewardItem.catalog == kind, RewardItem.active.is_(True))
        .order_by(RewardItem.points_cost)
    )
    return [
        ItemView(r.id, r.catalog, r.name, r.description, r.points_cost, r.stock, r.per_member_limit)
        for r in (await session.execute(stmt)).scalars()
    ]


async def orders_of(session: AsyncSession, member_id: int, limit: int = 20) -> list[OrderView]:
    stmt = (
        select(RedemptionOrder, RewardItem.name)
        .join(RewardItem, RewardItem.id == RedemptionOrder.item_id)
        .where(RedemptionOrder.member_id == member_id)
        .order_by(RedemptionOrder.id.desc())
        .limit(limit)
    )
    return [_view(order, name) for order, name in (await session.execute(stmt)).all()]
