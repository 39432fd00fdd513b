"""一键代发 (drop-ship) through the core over real HTTP: chat (代发 -> product and quantity ->
recipient -> 确认代发) and the mini-program; exactly once under WeChat's triple delivery, a
second 确认代发 and a double tap; the bottles leave the warehouse nearest the store."""

from __future__ import annotations

import asyncio

from bot.campaigns import dropship
from tests.campaigns.conftest import Shop

RECIPIENT = "张三 13800138000 浙江省杭州市西湖区文三路90号"


async def _stock(shop: Shop, sku: str) -> dict[int, int]:
    return {lv.warehouse_id: lv.available for lv in await shop.api.catalog.stock([sku])}


async def _first_product(shop: Shop, store_id: int) -> tuple[str, str]:
    history = await shop.api.orders.list_for_store(store_id, limit=10)
    line = next(ln for o in history.items for ln in o.lines if not ln.is_gift)
    return line.sku, line.name


async def test_drop_ship_in_chat_once_under_retries(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    stores = list((await shop.api.org.stores(limit=4)).items)
    store = stores[0]
    (buyer,) = await shop.buyers(1, [store])
    sku, name = await _first_product(shop, store.id)
    for warehouse in await shop.api.catalog.warehouses():
        await shop.api.admin.set_stock(warehouse.id, sku, 100)
    before = await _stock(shop, sku)

    listed = await shop.say(buyer.openid, "代发", msg_id="3000001")
    assert listed and "一键代发" in listed and "1. " in listed, listed
    products = await dropship.products(shop.api, store.id)
    index = next(i for i, p in enumerate(products, 1) if p.sku == sku)
    assert f"{index}. {name}" in listed

    asked = await shop.say(buyer.openid, "没看懂的话", msg_id="3000002")
    assert asked and "没看懂选择" in asked
    asked = await shop.say(buyer.openid, f"{index} 6瓶", msg_id="3000003")
    assert asked and "6 瓶" in asked and "收件人" in asked, asked
    wrong = await shop.say(buyer.openid, "张三 浙江杭州", msg_id="3000004")
    assert wrong and "没识别出收件信息" in wrong
    summary = await shop.say(buyer.openid, RECIPIENT, msg_id="3000005")
    assert summary and "浙江省杭州市西湖区文三路90号" in summary and "确认代发" in summary, summary

    # WeChat delivers 确认代发 three times at once (one MsgId), then the owner says it again
    replies = await asyncio.gather(*(shop.say(buyer.openid, "确认代发", msg_id="3000006") for _ in range(3)))
    again = await shop.say(buyer.openid, "确认代发", msg_id="3000007")
    done = [r for r in [*replies, again] if r and "已代发" in r]
    assert done and again in done, replies
    waybills = {r.split("快递：")[1].strip() for r in done}
    assert len(waybills) == 1, waybills  # one drop-ship, told the same each time

    after = await _stock(shop, sku)
    taken = {w: before[w] - after.get(w, 0) for w in before if before[w] != after.get(w, 0)}
    assert list(taken.values()) == [6], taken  # six bottles, from one warehouse, once
    warehouses = {w.id: w for w in await shop.api.catalog.warehouses()}
    (source,) = taken
    assert warehouses[source].name in done[0]

    # the core keeps it: shipped, with the recipient and a waybill
    carrier_waybill = waybills.pop()
    first = await shop.api.orders.drop_ship(
        store.id,
        sku,
        6,
        dropship.parse_recipient(RECIPIENT),  # type: ignore[arg-type]
        idempotency_key="probe-only-0001",
    )
    assert first.status == "shipped" and first.waybill and first.waybill not in carrier_waybill
    fetched = await shop.api.orders.get_drop_ship(first.id)
    assert fetched.recipient.name == "张三" and fetched.recipient.phone == "13800138000"

    # a new draft, cancelled: nothing is left to confirm
    assert "一键代发" in (await shop.say(buyer.openid, "代发", msg_id="3000010") or "")
    cancelled = await shop.say(buyer.openid, "取消代发", msg_id="3000008")
    assert cancelled and "已取消" in cancelled
    nothing = await shop.say(buyer.openid, "确认代发", msg_id="3000009")
    assert nothing and "没有待确认的代发" in nothing


async def test_drop_ship_in_the_mini_program(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    store = (await shop.api.org.stores(limit=2)).items[0]
    (buyer,) = await shop.buyers(1, [store])
    sku, _name = await _first_product(shop, store.id)
    warehouses = await shop.api.catalog.warehouses()
    for warehouse in warehouses:
        await shop.api.admin.set_stock(warehouse.id, sku, 10)
    body = {
        "sku": sku,
        "bottles": 4,
        "recipient": {"name": "李四", "phone": "13900139000", "address": "江苏省南京市鼓楼区中山路1号"},
        "request_key": "tap-ds-0001",
    }
    taps = await asyncio.gather(*(shop.mp("POST", "/mp/api/drop-ships", buyer.token, body) for _ in range(2)))
    assert [s for s, _ in taps] == [201, 201], taps
    assert taps[0][1]["drop_ship"]["id"] == taps[1][1]["drop_ship"]["id"]
    assert taps[0][1]["drop_ship"]["waybill"] and taps[0][1]["drop_ship"]["status"] == "shipped"
    assert sum((await _stock(shop, sku)).values()) == 10 * len(warehouses) - 4

    # more than any one warehouse holds: refused with the number, nothing taken
    status, refused = await shop.mp(
        "POST", "/mp/api/drop-ships", buyer.token, {**body, "bottles": 11, "request_key": "tap-ds-0002"}
    )
    assert status == 409 and refused["reason"] == "out_of_stock" and "最多可发 10 瓶" in refused["message"]
    assert sum((await _stock(shop, sku)).values()) == 10 * len(warehouses) - 4
    status, _bad = await shop.mp(
        "POST", "/mp/api/drop-ships", buyer.token, {**body, "recipient": {"name": "李四"}}
    )
    assert status == 400


def test_recipient_parsing() -> None:
    found = dropship.parse_recipient("收件人：王五，13700137000，广东省深圳市南山区科技园一路8号")
    assert found is not None and (found.name, found.phone) == ("王五", "13700137000")
    assert found.address == "广东省深圳市南山区科技园一路8号"
    assert dropship.parse_recipient("广东省深圳市南山区科技园一路8号 13700137000 王五").name == "王五"  # type: ignore[union-attr]
    assert dropship.parse_recipient("王五 广东省深圳市") is None
    assert dropship.parse_recipient("13700137000") is None
