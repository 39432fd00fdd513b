"""Promotions over real HTTP: quotes explain them; flash-sale stock and per-store limits hold under
concurrency; gifts reserve stock; auctions descend; group orders place orders when they close."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from reference_core.clock import ManualClock
from reference_core.models import GroupParticipant, Order, Promotion, PromotionUsage
from tests.reference_core.helpers import Api, Db, line
from tests.reference_core.promos import create_promotion, iso
from tests.reference_core.world import build_world

FT = "MT-FT-53-500"
WINE = "ZY-CS-750"


async def test_a_quote_shows_what_applied_and_why_the_rest_did_not(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api = Api(http, base)
    red = await create_promotion(
        api,
        "full_reduction",
        {"tiers": [{"threshold_fen": 300_000, "off_fen": 20_000}]},
        scope={"categories": ["白酒"]},
    )
    big = await create_promotion(
        api, "full_reduction", {"tiers": [{"threshold_fen": 100_000_000, "off_fen": 1}]}
    )
    wine = await create_promotion(api, "discount", {"percent_off": 12}, scope={"categories": ["红酒"]})
    flash = await create_promotion(
        api, "flash_sale", {"sku": FT, "price_fen": 150_000}, stock=10, per_store_limit=2
    )
    later = await create_promotion(
        api,
        "full_reduction",
        {"tiers": [{"threshold_fen": 1, "off_fen": 1}]},
        starts_at=iso(datetime.now(UTC) + timedelta(days=1)),
        ends_at=iso(datetime.now(UTC) + timedelta(days=2)),
    )

    cart = {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=2), line(WINE, bottles=6)]}
    status, quote = await api.post("/v1/quotes", cart)

    assert status == 200 and quote["orderable"]
    results = {p["promotion_id"]: p for p in quote["promotions"]}
    assert (results[red["id"]]["applied"], results[red["id"]]["discount_fen"]) == (True, 20_000)
    assert results[wine["id"]]["applied"] and results[wine["id"]]["discount_fen"] == 6 * 16_800 * 12 // 100
    assert results[big["id"]]["reason"] == "threshold_not_met"
    assert results[flash["id"]]["reason"] == "not_requested"
    assert results[later["id"]]["reason"] == "not_started"
    assert quote["subtotal_fen"] == 2 * 185_000 + 6 * 16_800
    assert quote["total_fen"] == quote["subtotal_fen"] - 20_000 - 6 * 16_800 * 12 // 100


async def test_flash_sale_stock_is_never_oversold(core_db_url, start_core, http):
    world = await build_world(core_db_url, extra_stores=40)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    flash = await create_promotion(
        api, "flash_sale", {"sku": FT, "price_fen": 150_000}, stock=25, per_store_limit=2
    )
    stores = [world.stores[f"S-X-{n}"] for n in range(40)]

    async def buy(n: int):
        body = {"store_id": stores[n % 40], "lines": [line(FT, bottles=1, promotion_id=flash["id"])]}
        return await api.post("/v1/orders", body, f"flash-{n}")

    results = await asyncio.gather(*(buy(n) for n in range(120)))

    granted = [body for status, body in results if status == 201]
    refused = {body["error"]["details"]["reason"] for status, body in results if status == 422}
    assert len(granted) == 25
    assert refused <= {"sold_out", "per_store_limit_reached"} and "sold_out" in refused
    assert {o["lines"][0]["amount_fen"] for o in granted} == {150_000}
    assert await db.scalar(Promotion.__table__.select().with_only_columns(Promotion.stock_remaining)) == 0
    assert await db.count(Order) == 25
    assert await db.stock(world.warehouses["WH-SH"], world.products[FT]) == (100, 25)


async def test_a_stores_flash_sale_limit_holds_under_concurrency(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    flash = await create_promotion(
        api, "flash_sale", {"sku": FT, "price_fen": 150_000}, stock=50, per_store_limit=3
    )
    store = world.stores["S-SH-1"]

    results = await asyncio.gather(
        *(
            api.post(
                "/v1/orders",
                {"store_id": store, "lines": [line(FT, bottles=1, promotion_id=flash["id"])]},
                f"limit-{n}",
            )
            for n in range(30)
        )
    )

    assert [s for s, _ in results].count(201) == 3
    assert {b["error"]["details"]["reason"] for s, b in results if s != 201} == {"per_store_limit_reached"}
    assert await db.scalar(PromotionUsage.__table__.select().with_only_columns(PromotionUsage.used)) == 3


async def test_cancelling_a_flash_sale_order_returns_the_sale_stock(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    flash = await create_promotion(
        api, "flash_sale", {"sku": FT, "price_fen": 150_000}, stock=5, per_store_limit=5
    )
    _, order = await api.post(
        "/v1/orders",
        {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=4, promotion_id=flash["id"])]},
        "f",
    )
    await api.post(f"/v1/orders/{order['id']}/cancel", {})
    _, promo = await api.get(f"/v1/promotions/{flash['id']}")
    assert promo["stock_remaining"] == 5
    assert await db.scalar(PromotionUsage.__table__.select().with_only_columns(PromotionUsage.used)) == 0


async def test_a_gift_is_an_order_line_with_its_own_reserved_stock(core_db_url, start_core, http):
    stock = {("WH-SH", FT): 10, ("WH-HZ", WINE): 3}
    world = await build_world(core_db_url, stock=stock)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    gift = await create_promotion(
        api, "full_gift", {"tiers": [{"threshold_fen": 300_000, "gift_sku": WINE, "gift_bottles": 1}]}
    )

    status, order = await api.post(
        "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=2)]}, "g"
    )

    assert status == 201
    gift_line = order["lines"][1]
    assert (gift_line["sku"], gift_line["is_gift"], gift_line["amount_fen"], gift_line["promotion_id"]) == (
        WINE,
        True,
        0,
        gift["id"],
    )
    assert order["promotions"][0]["gift"] == {"sku": WINE, "quantity": 1}
    assert order["total_fen"] == 2 * 185_000
    assert await db.stock(world.warehouses["WH-HZ"], world.products[WINE]) == (3, 1)


async def test_an_auction_sells_at_the_current_price_from_its_lot(core_db_url, start_core, http):
    world = await build_world(core_db_url, stock={("WH-SH", "GI-IPA-355"): 500, ("WH-HZ", "GI-IPA-355"): 500})
    clock = ManualClock(datetime.now(UTC))
    base, _ = await start_core(core_db_url, clock=clock)
    api, db = Api(http, base), Db(core_db_url)
    start = clock.now()
    auction = await create_promotion(
        api,
        "auction",
        {
            "sku": "GI-IPA-355",
            "warehouse_id": world.warehouses["WH-HZ"],
            "start_price_fen": 1200,
            "floor_price_fen": 600,
            "step_fen": 100,
            "step_seconds": 600,
        },
        stock=48,
        starts_at=iso(start),
        ends_at=iso(start + timedelta(days=1)),
    )
    clock.advance(1300)  # two drops
    _, promo = await api.get(f"/v1/promotions/{auction['id']}")
    assert promo["auction"]["current_price_fen"] == 1000

    store = world.stores["S-SH-1"]  # 上海仓 is nearer, but the lot is in 杭州
    results = await asyncio.gather(
        *(
            api.post(
                "/v1/orders",
                {"store_id": store, "lines": [line("GI-IPA-355", cases=1, promotion_id=auction["id"])]},
                f"a-{n}",
            )
            for n in range(5)
        )
    )

    orders = [b for s, b in results if s == 201]
    assert len(orders) == 2  # 48 bottles = two cases of 24
    assert {o["lines"][0]["amount_fen"] for o in orders} == {24 * 1000}
    assert {o["sourcing"][0]["warehouse_name"] for o in orders} == {"杭州仓"}
    assert await db.stock(world.warehouses["WH-SH"], world.products["GI-IPA-355"]) == (500, 0)


async def test_a_group_order_that_reaches_its_size_places_orders_at_the_tier_price(
    core_db_url, start_core, http
):
    world = await build_world(core_db_url, extra_stores=6)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    group = await create_promotion(
        api,
        "group_buy",
        {
            "sku": "WLY-PW-52-500",
            "min_group_size": 3,
            "max_bottles_per_store": 12,
            "tiers": [{"min_stores": 3, "price_fen": 90_000}, {"min_stores": 5, "price_fen": 85_000}],
        },
    )
    stores = [world.stores[f"S-X-{n}"] for n in range(5)]
    joins = await asyncio.gather(
        *(
            api.post(f"/v1/promotions/{group['id']}/participants", {"store_id": s, "bottles": 6}, f"join-{s}")
            for s in stores
        )
    )
    assert [s for s, _ in joins] == [201] * 5
    direct = await api.post(
        "/v1/orders",
        {"store_id": stores[0], "lines": [line("WLY-PW-52-500", bottles=6, promotion_id=group["id"])]},
        "direct",
    )
    assert direct[1]["error"]["details"]["reason"] == "join_required"

    status, closed = await api.post(f"/v1/admin/promotions/{group['id']}/close")
    late = await api.post(
        f"/v1/promotions/{group['id']}/participants",
        {"store_id": world.stores["S-X-5"], "bottles": 6},
        "late",
    )

    assert status == 200 and closed["group"]["outcome"] == "succeeded"
    assert closed["group"]["current_price_fen"] == 85_000
    assert late[0] == 422 and late[1]["error"]["details"]["reason"] == "ended"
    assert await db.count(Order, Order.source == "group_buy") == 5
    assert await db.count(GroupParticipant, GroupParticipant.status == "ordered") == 5
    _, orders = await api.get(f"/v1/stores/{stores[0]}/orders")
    assert orders["items"][0]["total_fen"] == 6 * 85_000
    again = await api.post(f"/v1/admin/promotions/{group['id']}/close")
    assert again[0] == 200 and await db.count(Order) == 5


async def test_a_group_order_too_small_fails_every_participant(core_db_url, start_core, http):
    world = await build_world(core_db_url, extra_stores=2)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    group = await create_promotion(
        api,
        "group_buy",
        {
            "sku": "WLY-PW-52-500",
            "min_group_size": 3,
            "tiers": [{"min_stores": 3, "price_fen": 90_000}],
        },
    )
    for n in range(2):
        await api.post(
            f"/v1/promotions/{group['id']}/participants",
            {"store_id": world.stores[f"S-X-{n}"], "bottles": 6},
            f"j{n}",
        )
    _, closed = await api.post(f"/v1/admin/promotions/{group['id']}/close")
    assert closed["group"]["outcome"] == "failed"
    assert await db.count(Order) == 0
    assert await db.count(GroupParticipant, GroupParticipant.status == "failed") == 2
