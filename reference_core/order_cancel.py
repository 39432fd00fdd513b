"""Cancelling an order before it ships: everything it took is given back, in the lock order that
``orders.create`` uses, so a cancel and a create never wait on each other in a cycle."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import logistics
from reference_core.db import rowcount
from reference_core.errors import CoreError, ErrorCode
from reference_core.models import (
    Allocation,
    CouponClaim,
    Inventory,
    Order,
    OrderEvent,
    OrderLine,
    Promotion,
    PromotionUsage,
    Store,
)


async def cancel(session: AsyncSession, tenant_id: int, order_id: int, reason: str, now: datetime) -> None:
    """Cancel before shipping; gives back stock, promotion stock, the coupon and the credit."""
    order = await session.scalar(select(Order).where(Order.tenant_id == tenant_id, Order.id == order_id))
    if order is None:
        raise CoreError(
            ErrorCode.NOT_FOUND, f"order {order_id} not found", {"resource": "order", "id": str(order_id)}
        )
    if order.status == "cancelled":
        return
    previous = order.status
    moved = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status.in_(("created", "allocated")))
        .values(status="cancelled", next_transition_at=None, updated_at=now)
    )
    if rowcount(moved) != 1:
        current = await session.scalar(
            select(Order.status).where(Order.id == order.id).execution_options(populate_existing=True)
        )
        if current == "cancelled":
            return
        raise CoreError(
            ErrorCode.ORDER_NOT_CANCELLABLE,
            f"the order is {current}; only orders not yet shipped can be cancelled",
            {"status": current},
        )
    await _release(session, order)
    session.add(OrderEvent(order_id=order.id, status="cancelled", at=now, note=reason or "订单已取消"))
    await logistics.status_changed(session, order, previous, "cancelled", now)
    await session.flush()


async def _release(session: AsyncSession, order: Order) -> None:
    """Give back the coupon, the credit, promotion stock and reserved bottles, taking the rows in
    the order ``create`` takes them, so a cancel and a create never wait on each other in a cycle."""
    if order.coupon_claim_id is not None:
        await session.execute(
            update(CouponClaim)
            .where(CouponClaim.id == order.coupon_claim_id, CouponClaim.order_id == order.id)
            .values(status="available", redeemed_at=None, order_id=None, redeemed_store_id=None)
        )
    if order.total_fen:
        await session.execute(
            update(Store)
            .where(Store.id == order.store_id)
            .values(credit_used_fen=Store.credit_used_fen - order.total_fen)
        )
    channel: dict[int, int] = defaultdict(int)
    for line in await session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id, OrderLine.is_gift.is_(False))
    ):
        if line.promotion_id is not None:  # discount promotions are skipped below by kind
            channel[line.promotion_id] += line.quantity
    await _return_promotion_stock(session, order, channel)
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for a in await session.scalars(select(Allocation).where(Allocation.order_id == order.id)):
        totals[(a.warehouse_id, a.product_id)] += a.quantity
    for (wid, pid), qty in sorted(totals.items()):
        await session.execute(
            update(Inventory)
            .where(Inventory.warehouse_id == wid, Inventory.product_id == pid)
            .values(reserved=Inventory.reserved - qty)
        )


async def _return_promotion_stock(session: AsyncSession, order: Order, channel: dict[int, int]) -> None:
    if not channel:
        return
    promos = {
        p.id: p for p in await session.scalars(select(Promotion).where(Promotion.id.in_(list(channel))))
    }
    for pid, qty in sorted(channel.items()):
        promo = promos.get(pid)
        if promo is None or promo.kind not in ("flash_sale", "auction", "group_buy"):
            continue
        if promo.stock_remaining is not None:
            await session.execute(
                update(Promotion)
                .where(Promotion.id == pid)
                .values(stock_remaining=Promotion.stock_remaining + qty)
            )
        await session.execute(
            update(PromotionUsage)
            .where(PromotionUsage.promotion_id == pid, PromotionUsage.store_id == order.store_id)
            .values(used=PromotionUsage.used - qty)
        )
