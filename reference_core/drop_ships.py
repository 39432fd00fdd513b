"""一键代发: a drop-ship takes the bottles from the warehouse nearest the store that has them
(a conditional UPDATE of ``on_hand``, so two requests cannot take the same bottles) and ships at
once with a carrier and waybill. Refusals (unknown product, no warehouse with the stock) change
nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import logistics, org
from reference_core.db import rowcount
from reference_core.errors import CoreError, ErrorCode, not_found, out_of_stock
from reference_core.models import DropShip, Inventory, Warehouse
from reference_core.schemas import drop_ships as s
from reference_core.sourcing import distance_km

DROP_SHIP_OFFSET = 10**9  # waybills of drop-ships never collide with an order's


def out(row: DropShip, warehouse: Warehouse) -> s.DropShip:
    return s.DropShip(
        id=row.id,
        store_id=row.store_id,
        sku=row.sku,
        name=row.name,
        bottles=row.quantity,
        warehouse_id=warehouse.id,
        warehouse_name=warehouse.name,
        recipient=s.RecipientOut(name=row.recipient_name, phone=row.recipient_phone, address=row.address),
        status="shipped",
        carrier=row.carrier,
        waybill=row.waybill,
        note=row.note,
        created_at=row.created_at,
    )


async def create(
    session: AsyncSession, tenant_id: int, store_id: int, request: s.DropShipCreate, now: datetime
) -> s.DropShip:
    store = await org.get_store(session, tenant_id, store_id)
    if store.status != "active":
        raise CoreError(ErrorCode.STORE_INACTIVE, "the store is not active", {"store_id": store.id})
    product = await org.get_product(session, tenant_id, request.sku)
    if product.status != "active":
        raise CoreError(ErrorCode.PRODUCT_UNAVAILABLE, "the product is not on sale", {"sku": request.sku})
    found = (
        await session.execute(
            select(Inventory, Warehouse)
            .join(Warehouse, Warehouse.id == Inventory.warehouse_id)
            .where(Inventory.tenant_id == tenant_id, Inventory.product_id == product.id)
        )
    ).all()
    rows = sorted(found, key=lambda r: (distance_km(store.lat, store.lng, r[1].lat, r[1].lng), r[1].id))
    for inventory, warehouse in rows:
        if inventory.on_hand - inventory.reserved < request.bottles:
            continue
        taken = await session.execute(
            update(Inventory)
            .where(
                Inventory.warehouse_id == warehouse.id,
                Inventory.product_id == product.id,
                Inventory.on_hand - Inventory.reserved >= request.bottles,
            )
            .values(on_hand=Inventory.on_hand - request.bottles)
        )
        if rowcount(taken) != 1:
            continue  # a concurrent request took them: try the next warehouse
        row = DropShip(
            tenant_id=tenant_id,
            store_id=store.id,
            product_id=product.id,
            sku=product.sku,
            name=product.name,
            quantity=request.bottles,
            warehouse_id=warehouse.id,
            recipient_name=request.recipient.name,
            recipient_phone=request.recipient.phone,
            address=request.recipient.address,
            status="shipped",
            note=request.note,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        row.carrier, row.waybill = logistics.carrier_for(DROP_SHIP_OFFSET + row.id, warehouse.id)
        await session.flush()
        return out(row, warehouse)
    available = max((i.on_hand - i.reserved for i, _ in rows), default=0)
    raise out_of_stock(
        [
            {
                "line_no": 1,
                "sku": product.sku,
                "requested": request.bottles,
                "available": available,
                "is_gift": False,
            }
        ]
    )


async def get(session: AsyncSession, tenant_id: int, drop_ship_id: int) -> s.DropShip:
    found = (
        await session.execute(
            select(DropShip, Warehouse)
            .join(Warehouse, Warehouse.id == DropShip.warehouse_id)
            .where(DropShip.id == drop_ship_id, DropShip.tenant_id == tenant_id)
        )
    ).first()
    if found is None:
        raise not_found("drop-ship", drop_ship_id)
    return out(found[0], found[1])
