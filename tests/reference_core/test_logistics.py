"""The logistics clock moves orders through their statuses, once per step, and says so by webhook."""

from __future__ import annotations

import asyncio

from reference_core.config import LogisticsConfig, WebhookConfig
from reference_core.models import OrderEvent
from tests.reference_core.helpers import Api, Db, line
from tests.reference_core.receiver import Receiver
from tests.reference_core.world import build_world

FT = "MT-FT-53-500"


async def test_admin_advance_walks_an_order_to_delivery(core_db_url, start_core, http):
    world = await build_world(core_db_url, stock={("WH-GZ", FT): 20})
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    _, order = await api.post(
        "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=2)]}, "o"
    )

    seen = []
    for _ in range(10):
        status, order = await api.post(f"/v1/admin/orders/{order['id']}/advance")
        assert status == 200
        seen.append(order["status"])
        if order["status"] == "delivered":
            break

    assert seen[:2] == ["allocated", "shipped"] and seen[-1] == "delivered"
    assert set(seen[2:-1]) == {"in_transit"} and len(seen[2:-1]) == 3  # 广州 -> 上海: three nodes
    nodes = [e["location"] for e in order["timeline"] if e["status"] == "in_transit"]
    assert nodes == ["广州分拨中心", "上海转运中心", "上海配送站"]
    shipped = next(e for e in order["timeline"] if e["status"] == "shipped")
    shipment = order["shipments"][0]
    assert shipment["carrier"] and shipment["waybill"] and shipment["delivered_at"]
    assert (shipped["carrier"], shipped["waybill"]) == (shipment["carrier"], shipment["waybill"])
    assert await db.stock(world.warehouses["WH-GZ"], world.products[FT]) == (18, 0)
    status, error = await api.post(f"/v1/admin/orders/{order['id']}/advance")
    assert status == 409 and error["error"]["details"] == {"status": "delivered"}


async def test_advance_to_a_status(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api = Api(http, base)
    _, order = await api.post(
        "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=2)]}, "o"
    )
    _, moved = await api.post(f"/v1/admin/orders/{order['id']}/advance", {"to": "in_transit"})
    assert [e["status"] for e in moved["timeline"]] == ["created", "allocated", "shipped", "in_transit"]
    status, _ = await api.post(f"/v1/admin/orders/{order['id']}/advance", {"to": "allocated"})
    assert status == 409
    _, done = await api.post(f"/v1/admin/orders/{order['id']}/advance", {"to": "delivered"})
    assert done["status"] == "delivered"


async def test_the_clock_delivers_orders_and_each_step_fires_a_webhook(
    core_db_url, start_core, aiohttp_server, http
):
    receiver = Receiver()
    hook = await aiohttp_server(receiver.app())
    world = await build_world(core_db_url, webhook_url=str(hook.make_url("/hooks/core")))
    config = {
        "logistics": LogisticsConfig(time_scale=3_600_000, tick_seconds=0.05),  # an hour per millisecond
        "webhooks": WebhookConfig(enabled=True, poll_seconds=0.05, backoff_base_seconds=0.05),
    }
    base, _ = await start_core(core_db_url, config=config)
    await start_core(core_db_url, config=config)  # a second process whose clock races the first
    api = Api(http, base)
    _, order = await api.post(
        "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1)]}, "o"
    )

    for _ in range(200):
        _, order = await api.get(f"/v1/orders/{order['id']}")
        if order["status"] == "delivered":
            break
        await asyncio.sleep(0.05)

    statuses = [e["status"] for e in order["timeline"]]
    assert statuses == ["created", "allocated", "shipped", "in_transit", "in_transit", "delivered"]
    await receiver.wait_for(len(statuses))
    await asyncio.sleep(0.3)
    announced = [r.event["data"]["status"] for r in receiver.received]
    assert sorted(announced) == sorted(statuses)  # each step once, though two clocks ran
    assert await Db(core_db_url).count(OrderEvent) == len(statuses)
