from __future__ import annotations

from tests.reference_core.world import build_world


async def test_quote_order_cancel_round_trip(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    store = world.stores["S-SH-1"]
    async with http.post(
        f"{base}/v1/quotes",
        json={"store_id": store, "lines": [{"sku": "MT-FT-53-500", "cases": 1, "bottles": 2}]},
    ) as r:
        body = await r.json()
        assert r.status == 200, body
    print(body)
    async with http.post(
        f"{base}/v1/orders",
        json={"store_id": store, "lines": [{"sku": "MT-FT-53-500", "cases": 1, "bottles": 2}]},
        headers={"Idempotency-Key": "k1"},
    ) as r:
        order = await r.json()
        assert r.status == 201, order
    print(order)
    async with http.post(f"{base}/v1/orders/{order['id']}/cancel", json={}) as r:
        assert r.status == 200, await r.text()
        assert (await r.json())["status"] == "cancelled"
