"""No oversell: many real HTTP orders racing for the last bottles."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from reference_core.db import create_engine, session_factory
from reference_core.models import Inventory, Order, OrderLine
from tests.reference_core.live import core_process
from tests.reference_core.world import build_world


async def _stock(url: str, warehouse_id: int, product_id: int) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            row = await session.get(Inventory, (warehouse_id, product_id))
            return row.on_hand, row.reserved
    finally:
        await engine.dispose()


async def _orders(url: str) -> list[tuple[int, int]]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(
                select(Order.id, OrderLine.quantity).join(OrderLine, OrderLine.order_id == Order.id)
            )
            return [tuple(r) for r in rows]
    finally:
        await engine.dispose()


async def test_200_concurrent_orders_for_50_bottles_grant_exactly_50(core_db_url, start_core, http):
    world = await build_world(core_db_url, stock={("WH-SH", "MT-FT-53-500"): 50})
    base, _ = await start_core(core_db_url)
    store = world.stores["S-SH-1"]

    async def order(n: int) -> tuple[int, dict]:
        body = {"store_id": store, "lines": [{"sku": "MT-FT-53-500", "bottles": 1}]}
        async with http.post(f"{base}/v1/orders", json=body, headers={"Idempotency-Key": f"race-{n}"}) as r:
            return r.status, await r.json()

    results = await asyncio.gather(*(order(n) for n in range(200)))

    statuses = [status for status, _ in results]
    assert statuses.count(201) == 50
    assert statuses.count(422) == 150
    assert {body["error"]["code"] for status, body in results if status == 422} == {"out_of_stock"}
    assert await _stock(core_db_url, world.warehouses["WH-SH"], world.products["MT-FT-53-500"]) == (50, 50)
    assert len(await _orders(core_db_url)) == 50


async def test_two_core_processes_on_one_database_still_grant_exactly_the_stock(core_db_url, http):
    """Two separate processes (so two connection pools and, on SQLite, two writers contending for
    the file lock), 200 orders alternating between them, 50 bottles."""
    world = await build_world(core_db_url, stock={("WH-SH", "MT-FT-53-500"): 50})
    store = world.stores["S-SH-1"]
    with core_process(core_db_url) as first, core_process(core_db_url) as second:

        async def order(n: int) -> int:
            base = first if n % 2 else second
            body = {"store_id": store, "lines": [{"sku": "MT-FT-53-500", "bottles": 1}]}
            async with http.post(f"{base}/v1/orders", json=body, headers={"Idempotency-Key": f"p-{n}"}) as r:
                return r.status

        statuses = await asyncio.gather(*(order(n) for n in range(200)))

    assert statuses.count(201) == 50 and statuses.count(422) == 150
    assert await _stock(core_db_url, world.warehouses["WH-SH"], world.products["MT-FT-53-500"]) == (50, 50)
    assert len(await _orders(core_db_url)) == 50
