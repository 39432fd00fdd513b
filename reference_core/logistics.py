"""The logistics clock: every order follows a plan of steps (allocated, shipped, in-transit nodes,
delivered), each due a number of logistics seconds after the previous one. ``time_scale`` turns
logistics time into real time (3600: an hour per second), so a demo can watch an order arrive.

Every move is ``UPDATE ... WHERE transit_step = :done``: the clock, a second process's clock and the
admin endpoint can race and the order still moves once per step.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import webhooks
from reference_core.db import rowcount, run_transaction
from reference_core.models import Allocation, Inventory, Order, OrderEvent, Shipment, Store
from reference_core.order_view import order_number
from reference_core.runtime import Core
from reference_core.schemas.webhooks import OrderStatusChanged

TERMINAL = ("delivered", "cancelled")
ORDER = ["created", "allocated", "shipped", "in_transit", "delivered"]
CARRIERS = [("顺丰速运", "SF"), ("京东物流", "JDV"), ("中通快递", "ZTO")]


def make_plan(store: Store, sites: list[tuple[str, float]]) -> dict:
    """Steps in logistics seconds from (warehouse city, km) pairs; transit time grows with the
    farthest warehouse's distance."""
    origin, km = max(sites, key=lambda s: s[1]) if sites else (store.city, 0.0)
    transit_hours = 8 + km / 60  # a truck averaging 60 km/h, plus sorting
    nodes = [f"{origin}分拨中心"]
    if km > 80:
        nodes.append(f"{store.city}转运中心")
    nodes.append(f"{store.city}配送站")
    leg = transit_hours * 3600 / (len(nodes) + 1)
    steps = [
        {"status": "allocated", "after": 600, "location": origin, "note": "仓库已接单，正在配货"},
        {"status": "shipped", "after": 3 * 3600, "location": origin, "note": "已出库"},
    ]
    steps += [{"status": "in_transit", "after": leg, "location": n, "note": "运输中"} for n in nodes]
    steps.append(
        {"status": "delivered", "after": leg, "location": store.address or store.city, "note": "已签收"}
    )
    return {"steps": steps}


def due_at(start: datetime, logistics_seconds: float, scale: float) -> datetime:
    return start + timedelta(seconds=logistics_seconds / max(scale, 1e-9))


def eta(start: datetime, plan: dict, scale: float) -> datetime:
    return due_at(start, sum(step["after"] for step in plan["steps"]), scale)


def carrier_for(order_id: int, warehouse_id: int) -> tuple[str, str]:
    digest = hashlib.sha256(f"{order_id}:{warehouse_id}".encode()).hexdigest()
    name, prefix = CARRIERS[int(digest[:4], 16) % len(CARRIERS)]
    return name, f"{prefix}{int(digest[4:16], 16) % 10**12:012d}"


async def advance(session: AsyncSession, core: Core, order: Order, now: datetime) -> bool:
    """Move ``order`` one step; False if it is finished or someone else moved it first."""
    if order.status in TERMINAL:
        return False
    steps = order.plan["steps"]
    done = order.transit_step
    step = steps[done]
    following = steps[done + 1] if done + 1 < len(steps) else None
    moved = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.transit_step == done, Order.status == order.status)
        .values(
            status=step["status"],
            transit_step=done + 1,
            next_transition_at=due_at(now, following["after"], core.config.logistics.time_scale)
            if following
            else None,
            updated_at=now,
        )
    )
    if rowcount(moved) != 1:
        return False
    carrier = waybill = ""
    if step["status"] == "shipped":
        carrier, waybill = await _ship(session, order, now)
    elif step["status"] == "delivered":
        await session.execute(update(Shipment).where(Shipment.order_id == order.id).values(delivered_at=now))
    session.add(
        OrderEvent(
            order_id=order.id,
            status=step["status"],
            at=now,
            location=step["location"],
            carrier=carrier,
            waybill=waybill,
            note=step["note"],
        )
    )
    await status_changed(
        session, order, order.status, step["status"], now, step["location"], carrier, waybill
    )
    return True


async def _ship(session: AsyncSession, order: Order, now: datetime) -> tuple[str, str]:
    """Bottles leave the warehouses: on hand and reserved both drop (locks taken in a fixed order)."""
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for a in await session.scalars(select(Allocation).where(Allocation.order_id == order.id)):
        totals[(a.warehouse_id, a.product_id)] += a.quantity
    for (wid, pid), qty in sorted(totals.items()):
        await session.execute(
            update(Inventory)
            .where(Inventory.warehouse_id == wid, Inventory.product_id == pid)
            .values(on_hand=Inventory.on_hand - qty, reserved=Inventory.reserved - qty)
        )
    carriers, waybills = [], []
    for shipment in await session.scalars(select(Shipment).where(Shipment.order_id == order.id)):
        name, number = carrier_for(order.id, shipment.warehouse_id)
        shipment.carrier, shipment.waybill, shipment.shipped_at = name, number, now
        carriers.append(name)
        waybills.append(number)
    return "/".join(dict.fromkeys(carriers)), ",".join(waybills)


async def status_changed(
    session: AsyncSession,
    order: Order,
    previous: str | None,
    status: str,
    now: datetime,
    location: str = "",
    carrier: str = "",
    waybill: str = "",
) -> None:
    event = OrderStatusChanged(
        order_id=order.id,
        number=order_number(order),
        store_id=order.store_id,
        status=status,  # type: ignore[arg-type]
        previous_status=previous,  # type: ignore[arg-type]
        at=now,
        location=location,
        carrier=carrier,
        waybill=waybill,
        eta=None if status == "cancelled" else order.eta,
    )
    await webhooks.enqueue(session, order.tenant_id, "order.status_changed", event, now)


async def advance_by_id(core: Core, order_id: int, *, only_if_due: bool = False) -> bool:
    async def work(session: AsyncSession) -> bool:
        now = core.clock.now()
        order = await session.get(Order, order_id)
        if order is None:
            return False
        if only_if_due and (order.next_transition_at is None or order.next_transition_at > now):
            return False
        return await advance(session, core, order, now)

    moved = await run_transaction(core.sessions, work)
    if moved:
        core.webhook_wakeup.set()
    return moved


async def tick(core: Core) -> int:
    """Move every order that is due; returns how many moved."""
    now = core.clock.now()
    async with core.sessions() as session:
        due = (
            await session.scalars(
                select(Order.id)
                .where(Order.next_transition_at <= now, Order.status.not_in(TERMINAL))
                .order_by(Order.next_transition_at)
                .limit(200)
            )
        ).all()
    moved = 0
    for order_id in due:
        moved += await advance_by_id(core, order_id, only_if_due=True)
    return moved
