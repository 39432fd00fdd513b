"""Delivered order history for seeded stores (so "reorder the last order" has something to reorder).

History is written as it would have happened (timeline, shipments, carrier and waybill) but does not
touch today's stock or credit: those bottles were shipped and paid long ago.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import logistics
from reference_core.models import (
    Allocation,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    Shipment,
    Store,
    Warehouse,
)
from reference_core.pricing import prices_for
from reference_core.sourcing import distance_km


async def add_history(
    session: AsyncSession,
    tenant_id: int,
    stores: list[Store],
    per_store: int,
    rng: random.Random,
    now: datetime,
) -> int:
    if per_store <= 0:
        return 0
    have = set(await session.scalars(select(Order.store_id).where(Order.tenant_id == tenant_id).distinct()))
    todo = [s for s in stores if s.id not in have]
    if not todo:
        return 0
    products = [
        p
        for p in await session.scalars(select(Product).where(Product.tenant_id == tenant_id))
        if p.status == "active"
    ]
    warehouses = list(await session.scalars(select(Warehouse).where(Warehouse.tenant_id == tenant_id)))
    baijiu = [p for p in products if p.category == "白酒"]
    others = [p for p in products if p.category != "白酒"]
    pending: list[tuple[Order, list[OrderLine], Warehouse, float, datetime]] = []
    by_group: dict[tuple[int, str], dict] = {}  # prices depend only on region and tier
    for n, store in enumerate(todo):
        group = (store.region_id, store.tier)
        if group not in by_group:
            by_group[group] = await prices_for(session, store, products)
        prices = by_group[group]
        nearest, km = min(
            ((w, distance_km(store.lat, store.lng, w.lat, w.lng)) for w in warehouses), key=lambda x: x[1]
        )
        for k in range(per_store):
            # the newest order of the first stores is a few days old, so a reorder looks natural
            days = rng.uniform(2, 6) if k == 0 and n < 10 else rng.uniform(3, 90)
            created = now - timedelta(days=days, minutes=rng.randint(0, 600))
            picks = rng.sample(baijiu, k=min(len(baijiu), rng.randint(1, 2)))
            if others and rng.random() < 0.5:
                picks.append(rng.choice(others))
            lines = []
            for line_no, product in enumerate(picks, start=1):
                price = prices[product.id]
                cases = rng.randint(1, 3) if product.base_price_fen < 100_000 else rng.choice([0, 1])
                bottles = 0 if cases else rng.choice([2, 4, 6])
                amount = cases * price.case_price_fen + bottles * price.bottle_price_fen
                lines.append(
                    OrderLine(
                        line_no=line_no,
                        product_id=product.id,
                        sku=product.sku,
                        name=product.name,
                        cases=cases,
                        bottles=bottles,
                        quantity=cases * product.bottles_per_case + bottles,
                        bottle_price_fen=price.bottle_price_fen,
                        case_price_fen=price.case_price_fen,
                        list_amount_fen=amount,
                        discount_fen=0,
                        amount_fen=amount,
                        promotion_id=None,
                        is_gift=False,
                    )
                )
            total = sum(line.amount_fen for line in lines)
            plan = logistics.make_plan(store, [(nearest.city, km)])
            delivered = logistics.eta(created, plan, 1.0)
            order = Order(
                tenant_id=tenant_id,
                store_id=store.id,
                status="delivered",
                transit_step=len(plan["steps"]),
                source="seed",
                subtotal_fen=total,
                discount_fen=0,
                coupon_discount_fen=0,
                total_fen=total,
                pricing={"promotions": [], "coupon": None},
                plan=plan,
                note="",
                eta=delivered,
                next_transition_at=None,
                created_at=created,
                updated_at=delivered,
            )
            pending.append((order, lines, nearest, km, created))
    session.add_all([p[0] for p in pending])
    await session.flush()
    children: list[object] = []
    for order, lines, warehouse, km, created in pending:
        carrier, waybill = logistics.carrier_for(order.id, warehouse.id)
        at = created
        children.append(
            OrderEvent(
                order_id=order.id,
                status="created",
                at=at,
                location="",
                carrier="",
                waybill="",
                note="订单已创建",
            )
        )
        shipped_at = at
        for step in order.plan["steps"]:
            at = at + timedelta(seconds=step["after"])
            shipped = step["status"] == "shipped"
            shipped_at = at if shipped else shipped_at
            children.append(
                OrderEvent(
                    order_id=order.id,
                    status=step["status"],
                    at=at,
                    location=step["location"],
                    carrier=carrier if shipped else "",
                    waybill=waybill if shipped else "",
                    note=step["note"],
                )
            )
        children.append(
            Shipment(
                order_id=order.id,
                warehouse_id=warehouse.id,
                carrier=carrier,
                waybill=waybill,
                shipped_at=shipped_at,
                delivered_at=at,
            )
        )
        for line in lines:
            line.order_id = order.id
            children.append(line)
            children.append(
                Allocation(
                    order_id=order.id,
                    line_no=line.line_no,
                    product_id=line.product_id,
                    warehouse_id=warehouse.id,
                    quantity=line.quantity,
                    distance_km=km,
                )
            )
    session.add_all(children)
    await session.flush()
    return len(pending)


async def age_store(
    session: AsyncSession, tenant_id: int, store_id: int, *, newest_days: float, now: datetime
) -> datetime | None:
    """Move a store's whole history back in time so that its newest order is ``newest_days``
    old (a store that has gone quiet: the demo's lapsed store). Orders already at least that old
    are left as they are, so a second run changes nothing. Returns the newest order's time."""
    orders = list(
        await session.scalars(select(Order).where(Order.tenant_id == tenant_id, Order.store_id == store_id))
    )
    if not orders:
        return None
    newest = max(o.created_at for o in orders)
    shift = newest - (now - timedelta(days=newest_days))
    if shift <= timedelta(0):
        return newest
    ids = [o.id for o in orders]
    for order in orders:
        order.created_at -= shift
        order.updated_at -= shift
        order.eta -= shift
    for event in await session.scalars(select(OrderEvent).where(OrderEvent.order_id.in_(ids))):
        event.at -= shift
    for shipment in await session.scalars(select(Shipment).where(Shipment.order_id.in_(ids))):
        shipment.shipped_at = shipment.shipped_at - shift if shipment.shipped_at else None
        shipment.delivered_at = shipment.delivered_at - shift if shipment.delivered_at else None
    await session.flush()
    return newest - shift
