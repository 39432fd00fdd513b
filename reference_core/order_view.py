"""Orders as the API shows them (batch-loaded: four queries for a page of orders)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import cursor as cursors
from reference_core.errors import not_found
from reference_core.models import Allocation, Order, OrderEvent, OrderLine, Shipment, Warehouse
from reference_core.schemas import orders as s

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


async def orders_out(session: AsyncSession, orders: list[Order]) -> list[s.Order]:
    if not orders:
        return []
    ids = [o.id for o in orders]
    lines = defaultdict(list)
    for line in await session.scalars(
        select(OrderLine).where(OrderLine.order_id.in_(ids)).order_by(OrderLine.order_id, OrderLine.line_no)
    ):
        lines[line.order_id].append(line)
    allocations = defaultdict(list)
    for allocation, wh in await session.execute(
        select(Allocation, Warehouse)
        .join(Warehouse, Warehouse.id == Allocation.warehouse_id)
        .where(Allocation.order_id.in_(ids))
        .order_by(Allocation.order_id, Allocation.line_no, Allocation.distance_km)
    ):
        allocations[allocation.order_id].append((allocation, wh))
    shipments = defaultdict(list)
    for shipment, wh in await session.execute(
        select(Shipment, Warehouse)
        .join(Warehouse, Warehouse.id == Shipment.warehouse_id)
        .where(Shipment.order_id.in_(ids))
        .order_by(Shipment.order_id, Shipment.id)
    ):
        shipments[shipment.order_id].append((shipment, wh))
    events = defaultdict(list)
    for event in await session.scalars(
        select(OrderEvent).where(OrderEvent.order_id.in_(ids)).order_by(OrderEvent.order_id, OrderEvent.id)
    ):
        events[event.order_id].append(event)
    return [order_out(o, lines[o.id], allocations[o.id], shipments[o.id], events[o.id]) for o in orders]


def order_out(order: Order, lines, allocations, shipments, events) -> s.Order:
    """``allocations`` and ``shipments`` are (row, warehouse) pairs; a warehouse needs id, name, city."""
    sku_of = {line.line_no: line.sku for line in lines}
    pricing = order.pricing or {}
    coupon = pricing.get("coupon")
    return s.Order(
        id=order.id,
        number=order_number(order),
        store_id=order.store_id,
        status=order.status,  # type: ignore[arg-type]
        source=order.source,  # type: ignore[arg-type]
        lines=[
            s.OrderLine(
                line_no=line.line_no,
                sku=line.sku,
                name=line.name,
                cases=line.cases,
                bottles=line.bottles,
                quantity=line.quantity,
                bottle_price_fen=line.bottle_price_fen,
                case_price_fen=line.case_price_fen,
                list_amount_fen=line.list_amount_fen,
                discount_fen=line.discount_fen,
                amount_fen=line.amount_fen,
                promotion_id=line.promotion_id,
                is_gift=line.is_gift,
            )
            for line in lines
        ],
        promotions=[s.AppliedPromotion.model_validate(p) for p in pricing.get("promotions", [])],
        coupon=s.AppliedCoupon.model_validate(coupon) if coupon else None,
        subtotal_fen=order.subtotal_fen,
        promotion_discount_fen=order.discount_fen,
        coupon_discount_fen=order.coupon_discount_fen,
        total_fen=order.total_fen,
        note=order.note,
        sourcing=[
            s.Allocation(
                line_no=a.line_no,
                sku=sku_of.get(a.line_no, ""),
                warehouse_id=wh.id,
                warehouse_name=wh.name,
                city=wh.city,
                quantity=a.quantity,
                distance_km=a.distance_km,
            )
            for a, wh in allocations
        ],
        shipments=[
            s.Shipment(
                warehouse_id=wh.id,
                warehouse_name=wh.name,
                carrier=sh.carrier,
                waybill=sh.waybill,
                shipped_at=sh.shipped_at,
                delivered_at=sh.delivered_at,
            )
            for sh, wh in shipments
        ],
        timeline=[
            s.TimelineEvent(
                status=e.status,
                at=e.at,
                location=e.location,
                carrier=e.carrier,
                waybill=e.waybill,
                note=e.note,
            )
            for e in events
        ],
        eta=None if order.status == "cancelled" else order.eta,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def order_number(order: Order) -> str:
    """JB + the creation date in China + the id: readable on the phone, derived, never reused."""
    return f"JB{order.created_at.astimezone(CHINA):%Y%m%d}{order.id:08d}"


async def get_order(session: AsyncSession, tenant_id: int, order_id: int) -> s.Order:
    order = await session.scalar(
        select(Order)
        .where(Order.tenant_id == tenant_id, Order.id == order_id)
        .execution_options(populate_existing=True)
    )
    if order is None:
        raise not_found("order", order_id)
    return (await orders_out(session, [order]))[0]


async def list_orders(
    session: AsyncSession, tenant_id: int, store_id: int, query: s.OrderListQuery
) -> s.OrderPage:
    before = cursors.decode(query.cursor)
    stmt = (
        select(Order)
        .where(Order.tenant_id == tenant_id, Order.store_id == store_id)
        .order_by(Order.id.desc())
        .limit(query.limit + 1)
    )
    if before is not None:
        stmt = stmt.where(Order.id < before)
    if query.status is not None:
        stmt = stmt.where(Order.status == query.status)
    rows = list((await session.scalars(stmt)).all())
    page, more = rows[: query.limit], len(rows) > query.limit
    return s.OrderPage(
        items=await orders_out(session, page), next_cursor=cursors.encode(page[-1].id) if more else None
    )
