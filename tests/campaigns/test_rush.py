"""The rush of issue 16 over HTTP on PostgreSQL, scaled to keep the suite's time (the full
1,000 buyers on 100 units is bench/flash_sale.py): 10 buyers per unit, chat with WeChat's
triple delivery and mini-program double taps mixed -> exactly as many orders as units, all at
the flash price, everyone else told it is sold out."""

from __future__ import annotations

import asyncio

import pytest

from tests.campaigns.rush import SOLD_OUT, WON, rush

BUYERS, UNITS = 200, 20
FLASH_FEN = 100


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_flash_sale_rush(shop_factory, core_many_stores_pg) -> None:
    # everything runs in this one process on a shared machine: the core's order create under a
    # rush takes seconds here, so the core timeout is raised (a deployment knob)
    shop = await shop_factory(core_many_stores_pg, core_timeout_seconds=20)
    stores = []
    cursor = None
    while len(stores) < BUYERS // 2:
        page = await shop.api.org.stores(limit=50, cursor=cursor)
        stores += list(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    stores = stores[: BUYERS // 2]
    prices = await shop.api.catalog.prices(stores[0].id)
    sku = max((p for p in prices if p.min_order_bottles <= 1), key=lambda p: p.bottle_price_fen).sku
    for warehouse in await shop.api.catalog.warehouses():
        await shop.api.admin.set_stock(warehouse.id, sku, 5000)
    buyers = await shop.buyers(BUYERS, stores)  # two buyers per store: owner and staff
    promo = await shop.promotion(
        "flash_sale", {"sku": sku, "price_fen": FLASH_FEN}, stock=UNITS, per_store_limit=2, name="整点秒杀"
    )
    result = await rush(shop, buyers, promo)
    assert result.count(WON) == UNITS, {k: v for k, v in result.outcomes.items() if v not in (WON, SOLD_OUT)}
    assert result.count(SOLD_OUT) == BUYERS - UNITS, [
        v for v in result.outcomes.values() if v not in (WON, SOLD_OUT)
    ]
    # the core holds exactly UNITS orders of this sale, one bottle each at the flash price
    pages = await asyncio.gather(*(shop.api.orders.list_for_store(s.id, limit=50) for s in stores))
    lines = [ln for page in pages for o in page.items for ln in o.lines if ln.promotion_id == promo]
    assert len(lines) == UNITS
    assert {(ln.quantity, ln.amount_fen) for ln in lines} == {(1, FLASH_FEN)}
    assert (await shop.api.promotions.get(promo)).stock_remaining == 0
