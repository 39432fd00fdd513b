"""The client against the live reference core over real HTTP, on SQLite and PostgreSQL: every area,
the typed results, and the typed errors carrying their data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from backend_client import (
    BelowMinimumOrder,
    Conflict,
    CoreClient,
    CouponUnavailable,
    CreditLimitExceeded,
    IdempotencyConflict,
    LineRequest,
    NotFound,
    Order,
    OrderNotCancellable,
    OutOfStock,
    ProductUnavailable,
    PromotionUnavailable,
    Unauthorized,
    ValidationFailed,
)
from tests.reference_core.world import set_credit

FT = "MT-FT-53-500"


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


async def test_organisation(live):
    client, world = live.client, live.world
    regions = await client.org.regions()
    assert [r.code for r in regions] == ["EAST", "SOUTH"]
    east = await client.org.distributors(region_id=world.regions["EAST"])
    assert [d.code for d in east] == ["D-EAST"]
    owned = await client.org.find_stores_by_phone("13800000001")
    assert [s.code for s in owned] == ["S-SH-1", "S-SH-2"]
    store = await client.org.store(world.stores["S-GZ-1"])
    assert (store.city, store.tier, store.credit_available_fen) == ("广州", "strategic", 10**10)
    first = await client.org.stores(limit=2)
    rest = await client.org.stores(limit=2, cursor=first.next_cursor)
    assert [s.code for s in first.items + rest.items] == ["S-SH-1", "S-GZ-1", "S-SH-2"]
    with pytest.raises(NotFound) as missing:
        await client.org.store(999_999)
    assert missing.value.resource == "store"


async def test_catalog_prices_and_stock(live):
    client, world = live.client, live.world
    found = await client.catalog.search("飞天")
    assert found.items[0].sku == FT and found.items[0].aliases == ("飞天", "普飞")
    assert (await client.catalog.search(category="红酒")).items[0].sku == "ZY-CS-750"
    product = await client.catalog.product(FT)
    assert (product.aroma, product.bottles_per_case, product.base_price_fen) == ("酱香", 12, 189_000)
    prices = await client.catalog.prices(world.stores["S-SH-1"], [FT, "WLY-PW-52-500"])
    assert [(p.sku, p.bottle_price_fen, p.case_price_fen, p.min_order_bottles) for p in prices] == [
        (FT, 185_000, 2_200_000, 1),
        ("WLY-PW-52-500", 95_000, 560_000, 3),
    ]
    assert [w.city for w in await client.catalog.warehouses()] == ["上海", "杭州", "广州"]
    stock = await client.catalog.stock([FT])
    assert [(s.warehouse_id, s.available) for s in stock] == [(world.warehouses["WH-SH"], 100)]


async def test_quote_order_list_reorder_cancel(live):
    client, world = live.client, live.world
    store = world.stores["S-SH-1"]
    cart = [LineRequest(FT, cases=1), LineRequest("ZY-CS-750", bottles=6)]
    quote = await client.orders.quote(store, cart)
    assert quote.orderable and quote.credit.ok
    assert quote.lines[0].availability.sourcing[0].warehouse_code == "WH-SH"
    assert quote.total_fen == 2_200_000 + 6 * 16_800

    order = await client.orders.create(
        store, cart, idempotency_key="reorder-1", note="门店补货", expected_total_fen=quote.total_fen
    )
    assert isinstance(order, Order) and order.total_fen == quote.total_fen and order.note == "门店补货"
    assert (
        await client.orders.create(
            store, cart, idempotency_key="reorder-1", expected_total_fen=quote.total_fen, note="门店补货"
        )
        == order
    )
    last = await client.orders.last_for_store(store)
    assert last is not None and last.id == order.id
    assert last.reorder_lines() == (LineRequest(FT, cases=1), LineRequest("ZY-CS-750", bottles=6))
    again = await client.orders.create(store, last.reorder_lines(), idempotency_key="reorder-2")
    page = await client.orders.list_for_store(store, limit=1)
    assert [o.id for o in page.items] == [again.id] and page.next_cursor

    cancelled = await client.orders.cancel(again.id, "不要了")
    assert cancelled.status == "cancelled" and cancelled.timeline[-1].note == "不要了"
    assert (await client.orders.cancel(again.id)).status == "cancelled"
    moved = await client.admin.advance_order(order.id, to="shipped")
    assert moved.status == "shipped" and moved.shipments[0].waybill
    with pytest.raises(OrderNotCancellable) as refused:
        await client.orders.cancel(order.id)
    assert refused.value.details["status"] == "shipped"
    assert (await client.orders.get(order.id)).status == "shipped"


async def test_order_refusals_are_typed_and_carry_their_data(live):
    client, world = live.client, live.world
    store = world.stores["S-SH-1"]
    with pytest.raises(OutOfStock) as oos:
        await client.orders.create(store, [LineRequest(FT, bottles=101)], idempotency_key="k1")
    assert oos.value.lines == (
        {"line_no": 1, "sku": FT, "requested": 101, "available": 100, "is_gift": False},
    )
    with pytest.raises(BelowMinimumOrder):
        await client.orders.create(store, [LineRequest("WLY-PW-52-500", bottles=1)], idempotency_key="k2")
    with pytest.raises(ProductUnavailable) as unknown:
        await client.orders.quote(store, [LineRequest("NOPE", bottles=1)])
    assert unknown.value.sku == "NOPE"
    with pytest.raises(ValidationFailed) as invalid:
        await client.orders.quote(store, [])
    assert "lines" in invalid.value.fields
    with pytest.raises(Conflict) as changed:
        await client.orders.create(
            store, [LineRequest(FT, bottles=1)], idempotency_key="k3", expected_total_fen=1
        )
    assert changed.value.reason == "price_changed"
    await client.orders.create(store, [LineRequest(FT, bottles=1)], idempotency_key="k4")
    with pytest.raises(IdempotencyConflict):
        await client.orders.create(store, [LineRequest(FT, bottles=2)], idempotency_key="k4")
    await set_credit(live.world.url, store, 200_000)
    with pytest.raises(CreditLimitExceeded) as credit:
        await client.orders.create(store, [LineRequest(FT, bottles=1)], idempotency_key="k5")
    assert (credit.value.available_fen, credit.value.required_fen) == (15_000, 185_000)


async def test_promotions_and_group_orders(live):
    client, world = live.client, live.world
    now = datetime.now(UTC)
    window = {"starts_at": iso(now - timedelta(hours=1)), "ends_at": iso(now + timedelta(days=1))}
    flash = await client.promotions.create(
        {
            "kind": "flash_sale",
            "name": "秒杀",
            "rules": {"sku": FT, "price_fen": 150_000},
            "stock": 2,
            "per_store_limit": 1,
            **window,
        }
    )
    assert (flash.kind, flash.status, flash.stock_remaining) == ("flash_sale", "active", 2)
    order = await client.orders.create(
        world.stores["S-SH-1"], [LineRequest(FT, bottles=1, promotion_id=flash.id)], idempotency_key="f1"
    )
    assert order.lines[0].amount_fen == 150_000
    with pytest.raises(PromotionUnavailable) as limit:
        await client.orders.create(
            world.stores["S-SH-1"], [LineRequest(FT, bottles=1, promotion_id=flash.id)], idempotency_key="f2"
        )
    assert (limit.value.reason, limit.value.promotion_id) == ("per_store_limit_reached", flash.id)
    assert [p.id for p in (await client.promotions.list(kind="flash_sale")).items] == [flash.id]
    assert (await client.promotions.get(flash.id)).stock_remaining == 1

    group = await client.promotions.create(
        {
            "kind": "group_buy",
            "name": "拼单",
            **window,
            "rules": {
                "sku": "WLY-PW-52-500",
                "min_group_size": 2,
                "tiers": [{"min_stores": 2, "price_fen": 90_000}],
            },
        }
    )
    for code in ("S-SH-1", "S-GZ-1"):
        joined = await client.promotions.join_group(
            group.id, world.stores[code], 6, idempotency_key=f"j-{code}"
        )
    assert joined.group.participants == 2 and joined.group.current_price_fen == 90_000
    closed = await client.admin.close_group(group.id)
    assert closed.group is not None and closed.group.outcome == "succeeded"
    placed = await client.orders.last_for_store(world.stores["S-GZ-1"])
    assert placed is not None and placed.source == "group_buy" and placed.total_fen == 6 * 90_000


async def test_coupons(live):
    client, world = live.client, live.world
    now = datetime.now(UTC)
    campaign = await client.coupons.create_campaign(
        {
            "name": "满2000减100",
            "kind": "amount_off",
            "amount_off_fen": 10_000,
            "threshold_fen": 200_000,
            "audience": "stores",
            "claim_starts_at": iso(now - timedelta(hours=1)),
            "claim_ends_at": iso(now + timedelta(days=1)),
            "valid_days": 7,
            "valid_until": iso(now + timedelta(days=30)),
            "total_stock": 1,
            "per_holder_limit": 1,
        }
    )
    assert (await client.coupons.campaign(campaign.id)).remaining == 1
    assert [c.id for c in (await client.coupons.campaigns(audience="stores")).items] == [campaign.id]
    store = world.stores["S-SH-1"]
    claim = await client.coupons.claim(campaign.id, "store", store, idempotency_key="c1")
    assert claim.status == "available" and claim.amount_off_fen == 10_000 and len(claim.code) == 12
    with pytest.raises(CouponUnavailable) as sold_out:
        await client.coupons.claim(campaign.id, "store", world.stores["S-GZ-1"], idempotency_key="c2")
    assert sold_out.value.reason == "sold_out"
    order = await client.orders.create(
        store, [LineRequest(FT, bottles=2)], idempotency_key="o", coupon_claim_id=claim.id
    )
    assert order.coupon is not None and order.coupon.discount_fen == 10_000
    mine = await client.coupons.for_holder("store", store)
    assert [(c.id, c.status, c.order_id) for c in mine.items] == [(claim.id, "redeemed", order.id)]
    assert (await client.coupons.get_claim(claim.id)).status == "redeemed"
    with pytest.raises(CouponUnavailable) as store_coupon:
        await client.coupons.redeem(claim.id, store, idempotency_key="r")
    assert store_coupon.value.reason == "use_in_order"


async def test_admin_stock_and_webhook_listing(live):
    client, world = live.client, live.world
    level = await client.admin.set_stock(world.warehouses["WH-HZ"], FT, 40)
    assert (level.on_hand, level.reserved, level.available) == (40, 0, 40)
    deliveries = await client.webhooks.deliveries()
    assert deliveries.items == () and deliveries.next_cursor is None


async def test_a_wrong_key_is_unauthorized(live):
    async with aiohttp.ClientSession() as session:
        stranger = CoreClient(session, live.base, "not-a-key")
        with pytest.raises(Unauthorized):
            await stranger.org.regions()
        assert stranger.breaker.state == "closed"  # a 4xx means the core is up
