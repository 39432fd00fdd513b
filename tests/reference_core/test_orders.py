"""Orders over real HTTP: reservation, sourcing, refusals without partial writes, cancel, listing."""

from __future__ import annotations

from reference_core.models import Order, OrderLine
from tests.reference_core.helpers import Api, Db, line
from tests.reference_core.world import build_world, set_credit

FT = "MT-FT-53-500"


async def setup(core_db_url, start_core, http, **world_kw):
    world = await build_world(core_db_url, **world_kw)
    base, _app = await start_core(core_db_url)
    return world, Api(http, base), Db(core_db_url)


async def test_an_order_reserves_stock_and_credit_at_the_store_price(core_db_url, start_core, http):
    world, api, db = await setup(core_db_url, start_core, http)
    store = world.stores["S-SH-1"]  # east, core tier: 飞天 185,000/bottle, 2,200,000/case

    status, order = await api.post(
        "/v1/orders", {"store_id": store, "lines": [line(FT, cases=1, bottles=2)]}, "o-1"
    )

    assert status == 201
    assert order["status"] == "created"
    assert order["number"].startswith("JB") and order["number"].endswith(f"{order['id']:08d}")
    assert order["lines"][0]["quantity"] == 14
    assert order["total_fen"] == 2_200_000 + 2 * 185_000
    assert [(s["warehouse_id"], s["quantity"]) for s in order["sourcing"]] == [
        (world.warehouses["WH-SH"], 14)
    ]
    assert [e["status"] for e in order["timeline"]] == ["created"]
    assert order["eta"] > order["created_at"]
    assert await db.stock(world.warehouses["WH-SH"], world.products[FT]) == (100, 14)
    assert await db.credit_used(store) == order["total_fen"]


async def test_a_line_no_single_warehouse_can_fill_is_split_nearest_first(core_db_url, start_core, http):
    stock = {("WH-SH", FT): 5, ("WH-HZ", FT): 4, ("WH-GZ", FT): 50}
    world, api, _db = await setup(core_db_url, start_core, http, stock=stock)
    store = world.stores["S-SH-1"]

    status, quote = await api.post("/v1/quotes", {"store_id": store, "lines": [line(FT, bottles=8)]})
    assert status == 200
    assert [s["warehouse_code"] for s in quote["lines"][0]["availability"]["sourcing"]] == ["WH-GZ"]

    status, split = await api.post(
        "/v1/orders", {"store_id": store, "lines": [line(FT, bottles=52)]}, "split"
    )
    assert status == 201
    assert [(s["warehouse_name"], s["quantity"]) for s in split["sourcing"]] == [
        ("上海仓", 5),
        ("杭州仓", 4),
        ("广州仓", 43),
    ]
    assert len(split["shipments"]) == 3


async def test_out_of_stock_is_refused_with_the_lines_and_writes_nothing(core_db_url, start_core, http):
    world, api, db = await setup(
        core_db_url, start_core, http, stock={("WH-SH", FT): 3, ("WH-SH", "ZY-CS-750"): 50}
    )
    store = world.stores["S-SH-1"]
    body = {"store_id": store, "lines": [line("ZY-CS-750", bottles=6), line(FT, bottles=5)]}

    status, error = await api.post("/v1/orders", body, "oos")

    assert status == 422
    assert error["error"]["code"] == "out_of_stock"
    assert error["error"]["details"]["lines"] == [
        {"line_no": 2, "sku": FT, "requested": 5, "available": 3, "is_gift": False}
    ]
    assert await db.count(Order) == 0
    assert await db.count(OrderLine) == 0
    assert await db.stock(world.warehouses["WH-SH"], world.products["ZY-CS-750"]) == (50, 0)
    assert await db.credit_used(store) == 0


async def test_credit_limit_is_checked_atomically_and_refusal_writes_nothing(core_db_url, start_core, http):
    world, api, db = await setup(core_db_url, start_core, http)
    store = world.stores["S-SH-1"]
    await set_credit(core_db_url, store, 400_000)

    ok, first = await api.post("/v1/orders", {"store_id": store, "lines": [line(FT, bottles=2)]}, "c-1")
    status, error = await api.post("/v1/orders", {"store_id": store, "lines": [line(FT, bottles=1)]}, "c-2")

    assert ok == 201 and first["total_fen"] == 370_000
    assert status == 422 and error["error"]["code"] == "credit_limit_exceeded"
    assert error["error"]["details"] == {
        "limit_fen": 400_000,
        "used_fen": 370_000,
        "available_fen": 30_000,
        "required_fen": 185_000,
        "reason": "limit",
        "overdue_fen": 0,
    }
    assert await db.count(Order) == 1
    assert await db.stock(world.warehouses["WH-SH"], world.products[FT]) == (100, 2)


async def test_minimum_order_quantity_from_the_price_list(core_db_url, start_core, http):
    world, api, db = await setup(core_db_url, start_core, http)
    store = world.stores["S-SH-1"]  # EAST-CORE list: 普五 at least 3 bottles

    status, quote = await api.post(
        "/v1/quotes", {"store_id": store, "lines": [line("WLY-PW-52-500", bottles=2)]}
    )
    assert status == 200 and not quote["orderable"]
    assert [i["code"] for i in quote["issues"]] == ["below_minimum_order"]
    status, error = await api.post(
        "/v1/orders", {"store_id": store, "lines": [line("WLY-PW-52-500", bottles=2)]}, "m"
    )
    assert status == 422 and error["error"]["code"] == "below_minimum_order"
    assert await db.count(Order) == 0


async def test_prices_per_store_follow_tier_and_region(core_db_url, start_core, http):
    world, api, _ = await setup(core_db_url, start_core, http)
    status, east = await api.get(f"/v1/stores/{world.stores['S-SH-1']}/prices?sku={FT}&sku=WLY-PW-52-500")
    _, south = await api.get(f"/v1/stores/{world.stores['S-GZ-1']}/prices?sku={FT}")
    assert status == 200
    assert east["items"] == [
        {
            "sku": FT,
            "bottle_price_fen": 185_000,
            "case_price_fen": 2_200_000,
            "bottles_per_case": 12,
            "min_order_bottles": 1,
            "price_list": "EAST-CORE",
        },
        {
            "sku": "WLY-PW-52-500",
            "bottle_price_fen": 95_000,
            "case_price_fen": 560_000,
            "bottles_per_case": 6,
            "min_order_bottles": 3,
            "price_list": "EAST-CORE",
        },
    ]
    assert south["items"][0]["price_list"] == "base" and south["items"][0]["bottle_price_fen"] == 189_000


async def test_expected_total_guards_against_a_changed_price(core_db_url, start_core, http):
    world, api, db = await setup(core_db_url, start_core, http)
    body = {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1)], "expected_total_fen": 189_000}
    status, error = await api.post("/v1/orders", body, "p")
    assert status == 409
    assert error["error"]["details"] == {
        "reason": "price_changed",
        "expected_total_fen": 189_000,
        "total_fen": 185_000,
    }
    assert await db.count(Order) == 0


async def test_cancel_gives_everything_back_and_is_safe_to_repeat(core_db_url, start_core, http):
    world, api, db = await setup(core_db_url, start_core, http)
    store = world.stores["S-SH-1"]
    _, order = await api.post("/v1/orders", {"store_id": store, "lines": [line(FT, bottles=3)]}, "x")

    first = await api.post(f"/v1/orders/{order['id']}/cancel", {"reason": "客户取消"})
    again = await api.post(f"/v1/orders/{order['id']}/cancel", {})

    assert first[0] == again[0] == 200
    assert first[1]["status"] == "cancelled" and first[1]["eta"] is None
    assert [e["status"] for e in first[1]["timeline"]] == ["created", "cancelled"]
    assert again[1]["timeline"] == first[1]["timeline"]
    assert await db.stock(world.warehouses["WH-SH"], world.products[FT]) == (100, 0)
    assert await db.credit_used(store) == 0


async def test_an_order_that_shipped_cannot_be_cancelled(core_db_url, start_core, http):
    world, api, db = await setup(core_db_url, start_core, http)
    _, order = await api.post(
        "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1)]}, "s"
    )
    status, shipped = await api.post(f"/v1/admin/orders/{order['id']}/advance", {"to": "shipped"})
    assert status == 200 and shipped["status"] == "shipped"

    status, error = await api.post(f"/v1/orders/{order['id']}/cancel", {})

    assert status == 409
    assert error["error"] == {
        "code": "order_not_cancellable",
        "message": "the order is shipped; only orders not yet shipped can be cancelled",
        "details": {"status": "shipped"},
    }
    assert await db.stock(world.warehouses["WH-SH"], world.products[FT]) == (99, 0)  # it left the warehouse


async def test_store_orders_are_listed_newest_first_with_a_cursor(core_db_url, start_core, http):
    world, api, _ = await setup(core_db_url, start_core, http)
    store = world.stores["S-SH-1"]
    ids = []
    for n in range(5):
        _, order = await api.post(
            "/v1/orders", {"store_id": store, "lines": [line(FT, bottles=n + 1)]}, f"l-{n}"
        )
        ids.append(order["id"])
    await api.post(
        "/v1/orders", {"store_id": world.stores["S-SH-2"], "lines": [line(FT, bottles=1)]}, "other"
    )

    status, page1 = await api.get(f"/v1/stores/{store}/orders?limit=2")
    _, page2 = await api.get(f"/v1/stores/{store}/orders?limit=2&cursor={page1['next_cursor']}")
    _, page3 = await api.get(f"/v1/stores/{store}/orders?limit=2&cursor={page2['next_cursor']}")

    assert status == 200
    assert [o["id"] for o in page1["items"] + page2["items"] + page3["items"]] == ids[::-1]
    assert page3["next_cursor"] is None
    assert page1["items"][0]["lines"][0]["quantity"] == 5  # the last order, ready to reorder


async def test_stock_levels_show_reservations(core_db_url, start_core, http):
    world, api, _ = await setup(core_db_url, start_core, http)
    await api.post("/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=7)]}, "r")
    status, stock = await api.get(f"/v1/inventory?sku={FT}")
    assert status == 200
    assert stock["items"] == [
        {"sku": FT, "warehouse_id": world.warehouses["WH-SH"], "on_hand": 100, "reserved": 7, "available": 93}
    ]
