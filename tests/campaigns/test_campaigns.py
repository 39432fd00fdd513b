"""Campaigns reachable in chat and the mini-program, over HTTP to the reference core."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from tests.campaigns.conftest import Shop


async def _setup(shop: Shop, stores: int = 4) -> tuple[str, list]:
    """A product sold by the bottle and dearer than every campaign price below (list prices
    cap what the core charges), with plenty of stock everywhere."""
    found = list((await shop.api.org.stores(limit=stores)).items)
    prices = await shop.api.catalog.prices(found[0].id)
    sku = max((p for p in prices if p.min_order_bottles <= 1), key=lambda p: p.bottle_price_fen).sku
    assert min(p.bottle_price_fen for p in prices if p.sku == sku) > 60000
    for warehouse in await shop.api.catalog.warehouses():
        await shop.api.admin.set_stock(warehouse.id, sku, 5000)
    return sku, found


async def _orders_for(shop: Shop, promotion_id: int, store_ids) -> list:
    found = []
    for store_id in set(store_ids):
        page = await shop.api.orders.list_for_store(store_id, limit=50)
        found += [o for o in page.items if any(ln.promotion_id == promotion_id for ln in o.lines)]
    return found


async def test_listing_follows_the_audience_in_chat_and_the_mini_program(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    sku, stores = await _setup(shop, stores=20)
    here, elsewhere = stores[0], next(s for s in stores if s.region_id != stores[0].region_id)
    (buyer, other) = await shop.buyers(2, [here, elsewhere])
    mine = await shop.promotion(
        "flash_sale",
        {"sku": sku, "price_fen": 9900},
        name="本区秒杀",
        stock=50,
        per_store_limit=5,
        audience={"region_ids": [here.region_id]},
    )
    reply = await shop.say(buyer.openid, "秒杀", msg_id="9000001")
    assert reply and "本区秒杀" in reply and "99.00元" in reply and "剩余 50 瓶" in reply, reply
    assert f"抢{mine}" in reply and "距结束" in reply
    other_reply = await shop.say(other.openid, "活动", msg_id="9000002")
    assert other_reply and "本区秒杀" not in other_reply, other_reply
    status, body = await shop.mp("GET", "/mp/api/promotions", buyer.token)
    assert status == 200
    item = next(i for i in body["items"] if i["id"] == mine)
    assert item["stock_remaining"] == 50 and item["price_fen"] == 9900 and 3500 < item["seconds_left"] <= 3600
    status, body = await shop.mp("GET", "/mp/api/promotions", other.token)
    assert status == 200 and mine not in [i["id"] for i in body["items"]]
    status, body = await shop.mp(
        "POST", f"/mp/api/promotions/{mine}/buy", other.token, {"bottles": 1, "request_key": "k-outsider-1"}
    )
    assert status == 409 and body["error"] == "campaign_refused" and body["reason"] == "not_in_audience"
    assert "区域" in body["message"]


async def test_flash_buy_once_under_triple_delivery_and_double_taps(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    sku, stores = await _setup(shop)
    (buyer,) = await shop.buyers(1, stores[:1])
    promo = await shop.promotion("flash_sale", {"sku": sku, "price_fen": 8800}, stock=10, per_store_limit=6)
    # WeChat delivers one message three times (same MsgId), concurrently
    replies = await asyncio.gather(
        *(shop.say(buyer.openid, f"抢{promo} 2瓶", msg_id="7000001") for _ in range(3))
    )
    assert any(r and "抢购成功" in r for r in replies), replies
    # a double tap in the mini-program: the same request key twice
    taps = await asyncio.gather(
        *(
            shop.mp(
                "POST",
                f"/mp/api/promotions/{promo}/buy",
                buyer.token,
                {"bottles": 3, "request_key": "tap-0001"},
            )
            for _ in range(2)
        )
    )
    assert [s for s, _ in taps] == [201, 201]
    assert taps[0][1]["order"]["order_id"] == taps[1][1]["order"]["order_id"]
    assert taps[0][1]["order"]["unit_price_fen"] == 8800
    orders = await _orders_for(shop, promo, [buyer.core_store_id])
    assert sorted(sum(ln.quantity for ln in o.lines if ln.promotion_id == promo) for o in orders) == [2, 3]
    assert (await shop.api.promotions.get(promo)).stock_remaining == 5
    # the per-store limit (6): 1 more is fine, 2 more are refused with the reason
    status, body = await shop.mp(
        "POST", f"/mp/api/promotions/{promo}/buy", buyer.token, {"bottles": 2, "request_key": "tap-0002"}
    )
    assert status == 409 and body["reason"] == "per_store_limit_reached"
    # bad input: a 400 with the field, nothing bought
    status, body = await shop.mp(
        "POST", f"/mp/api/promotions/{promo}/buy", buyer.token, {"bottles": 0, "request_key": "tap-0003"}
    )
    assert status == 400 and body["field"] == "bottles"
    status, body = await shop.mp("POST", f"/mp/api/promotions/{promo}/buy", buyer.token, {"bottles": 1})
    assert status == 400 and body["field"] == "request_key"
    assert (await shop.api.promotions.get(promo)).stock_remaining == 5


async def test_group_buy_closes_at_its_deadline_at_the_final_tier(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    sku, stores = await _setup(shop, stores=4)
    buyers = await shop.buyers(4, stores)
    tiers = [
        {"min_stores": 2, "price_fen": 10000},
        {"min_stores": 3, "price_fen": 9000},
        {"min_stores": 4, "price_fen": 8000},
    ]
    deadline = datetime.now(UTC) + timedelta(seconds=6)
    group = await shop.promotion(
        "group_buy", {"sku": sku, "min_group_size": 2, "tiers": tiers}, ends_at=deadline, name="四店拼单"
    )
    first = await shop.say(buyers[0].openid, f"拼{group} 6瓶", msg_id="6000001")
    assert (
        first and "参团成功" in first and "已有 1 家门店参团" in first and "满 2 家降到 100.00元" in first
    ), first
    status, body = await shop.mp(
        "POST",
        f"/mp/api/promotions/{group}/join",
        buyers[1].token,
        {"bottles": 4, "request_key": "join-0001"},
    )
    assert status == 201 and body["promotion"]["group"]["participants"] == 2
    assert body["promotion"]["share_path"].endswith(f"id={group}")
    again = await shop.mp(
        "POST",
        f"/mp/api/promotions/{group}/join",
        buyers[1].token,
        {"bottles": 4, "request_key": "join-0001"},
    )
    assert again[0] == 201 and again[1]["promotion"]["group"]["participants"] == 2  # a double tap joins once
    await shop.say(buyers[2].openid, f"拼{group} 2瓶", msg_id="6000002")
    await shop.say(buyers[3].openid, f"拼{group} 1瓶", msg_id="6000003")
    # the same store joining again with another quantity is refused
    twice = await shop.say(buyers[3].openid, f"拼{group} 5瓶", msg_id="6000004")
    assert twice and "已经参加" in twice, twice
    await asyncio.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 1.0)
    for _ in range(30):
        state = await shop.api.promotions.get(group)
        orders = await _orders_for(shop, group, [b.core_store_id for b in buyers])
        if state.group.outcome == "succeeded" and len(orders) == 4:
            break
        await asyncio.sleep(0.3)
    assert state.group.outcome == "succeeded" and state.group.current_price_fen == 8000
    prices = {ln.amount_fen // ln.quantity for o in orders for ln in o.lines if ln.promotion_id == group}
    assert prices == {8000} and len(orders) == 4
    late = await shop.say(buyers[0].openid, f"拼{group} 1瓶", msg_id="6000005")
    assert late and "已结束" in late, late


async def test_a_group_that_does_not_form_places_no_order(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    sku, stores = await _setup(shop, stores=2)
    (buyer,) = await shop.buyers(1, stores[:1])
    deadline = datetime.now(UTC) + timedelta(seconds=3)
    group = await shop.promotion(
        "group_buy",
        {"sku": sku, "min_group_size": 3, "tiers": [{"min_stores": 3, "price_fen": 9000}]},
        ends_at=deadline,
    )
    assert "参团成功" in (await shop.say(buyer.openid, f"拼{group} 2瓶", msg_id="5000001") or "")
    for _ in range(40):
        await asyncio.sleep(0.3)
        if (await shop.api.promotions.get(group)).group.outcome == "failed":
            break
    assert (await shop.api.promotions.get(group)).group.outcome == "failed"
    assert await _orders_for(shop, group, [buyer.core_store_id]) == []


async def test_auction_lots_sell_once_at_the_price_of_the_moment(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    sku, stores = await _setup(shop, stores=4)
    buyers = await shop.buyers(12, stores)
    warehouse = (await shop.api.catalog.warehouses())[0]
    auction = await shop.promotion(
        "auction",
        {
            "sku": sku,
            "warehouse_id": warehouse.id,
            "start_price_fen": 50000,
            "floor_price_fen": 30000,
            "step_fen": 5000,
            "step_seconds": 3600,
        },
        stock=3,
        name="临期酒拍卖",
        starts_at=datetime.now(UTC) - timedelta(hours=2, minutes=1),
    )
    listing = await shop.say(buyers[0].openid, "拍卖", msg_id="4000001")
    assert (
        listing and "临期酒拍卖" in listing and "当前价 400.00元" in listing and "最低 300.00元" in listing
    ), listing

    async def take(i: int) -> str:
        b = buyers[i]
        if i % 2:
            status, body = await shop.mp(
                "POST",
                f"/mp/api/promotions/{auction}/buy",
                b.token,
                {"bottles": 1, "request_key": f"lot-{i:04d}"},
            )
            return "won" if status == 201 else body.get("reason", body["error"])
        reply = await shop.say(b.openid, f"拍{auction}", msg_id=f"41{i:05d}")
        return (
            "won"
            if reply and "拍下成功" in reply
            else ("sold_out" if reply and "抢光" in reply else reply or "")
        )

    results = await asyncio.gather(*(take(i) for i in range(12)))
    assert results.count("won") == 3, results
    assert set(results) <= {"won", "sold_out", "per_store_limit_reached"}, results
    orders = await _orders_for(shop, auction, [b.core_store_id for b in buyers])
    assert len(orders) == 3
    assert {ln.amount_fen // ln.quantity for o in orders for ln in o.lines if ln.promotion_id == auction} == {
        40000
    }
    assert (await shop.api.promotions.get(auction)).stock_remaining == 0


async def test_unbound_members_are_told_to_bind(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    reply = await shop.say("o_nobody", "活动", msg_id="3000001")
    assert reply and "先扫描门店绑定码" in reply, reply
    assert re.search("绑定", reply)
