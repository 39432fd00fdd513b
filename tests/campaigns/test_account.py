"""The store's own account: credit and stock by warehouse in chat (额度) and the mini-program,
and a campaign purchase beyond the credit refused with the numbers (nothing ordered)."""

from __future__ import annotations

from tests.campaigns.test_campaigns import _orders_for, _setup


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}元"


async def test_credit_and_stock_in_chat_and_the_mini_program(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    _sku, stores = await _setup(shop, stores=8)
    store = min(stores, key=lambda s: s.credit_limit_fen)
    (buyer,) = await shop.buyers(1, [store])
    fresh = await shop.api.org.store(store.id)
    reply = await shop.say(buyer.openid, "额度", msg_id="2000001")
    assert reply and "订货额度" in reply, reply
    assert (
        f"总额度 {_yuan(fresh.credit_limit_fen)}" in reply
        and f"可用 {_yuan(fresh.credit_available_fen)}" in reply
    )
    status, body = await shop.mp("GET", "/mp/api/account", buyer.token)
    assert status == 200
    assert body["credit"]["limit_fen"] == fresh.credit_limit_fen
    assert body["credit"]["available_fen"] == fresh.credit_available_fen
    # the seeded history gives the store products it orders; their stock is shown by warehouse
    history = await shop.api.orders.list_for_store(store.id, limit=5)
    ordered = {ln.sku for o in history.items for ln in o.lines if not ln.is_gift}
    assert {p["sku"] for p in body["stock"]} <= ordered and body["stock"]
    for product in body["stock"]:
        assert product["total"] == sum(w["available"] for w in product["by_warehouse"])
    levels = await shop.api.catalog.stock([body["stock"][0]["sku"]])
    assert body["stock"][0]["total"] == sum(lv.available for lv in levels if lv.available > 0)


async def test_a_purchase_beyond_the_credit_is_refused_with_the_numbers(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    sku, stores = await _setup(shop, stores=8)
    store = min(stores, key=lambda s: s.credit_limit_fen)
    (buyer,) = await shop.buyers(1, [store])
    price = 50000
    bottles = min(600, store.credit_available_fen // price + 1)
    assert bottles * price > store.credit_available_fen, (
        "the seeded store's credit is too large for this test"
    )
    promo = await shop.promotion(
        "flash_sale", {"sku": sku, "price_fen": price}, stock=1000, per_store_limit=1000
    )
    reply = await shop.say(buyer.openid, f"抢{promo} {bottles}瓶", msg_id="2000002")
    assert reply and "订货额度不足" in reply and _yuan(store.credit_available_fen) in reply, reply
    assert _yuan(bottles * price) in reply
    status, body = await shop.mp(
        "POST",
        f"/mp/api/promotions/{promo}/buy",
        buyer.token,
        {"bottles": bottles, "request_key": "credit-001"},
    )
    assert status == 409 and body["reason"] == "credit_limit_exceeded"
    assert body["available_fen"] == store.credit_available_fen
    assert await _orders_for(shop, promo, [store.id]) == []
    assert (await shop.api.promotions.get(promo)).stock_remaining == 1000


async def test_overdue_is_shown_and_refuses_orders_when_the_tenant_rule_says_so(
    shop_factory, core_db
) -> None:
    from backend_client import CreditLimitExceeded, LineRequest

    shop = await shop_factory(core_db)
    sku, stores = await _setup(shop, stores=8)
    store = max(stores, key=lambda s: s.credit_limit_fen)
    (buyer,) = await shop.buyers(1, [store])
    await shop.api.admin.set_overdue(store.id, 12345)
    reply = await shop.say(buyer.openid, "额度", msg_id="2100001")
    assert reply and "逾期 123.45元" in reply and "请尽快回款" in reply, reply
    status, body = await shop.mp("GET", "/mp/api/account", buyer.token)
    assert status == 200 and body["credit"]["overdue_fen"] == 12345
    fresh = await shop.api.org.store(store.id)
    assert fresh.credit_overdue_fen == 12345

    promo = await shop.promotion("flash_sale", {"sku": sku, "price_fen": 8800}, stock=100, per_store_limit=50)
    # the rule off (the default): an overdue amount alone refuses nothing
    assert "抢购成功" in (await shop.say(buyer.openid, f"抢{promo} 1瓶", msg_id="2100002") or "")

    assert await shop.api.admin.set_credit_rule(refuse_when_overdue=True) is True
    refused = await shop.say(buyer.openid, f"抢{promo} 2瓶", msg_id="2100003")
    assert refused and "逾期未还款 123.45元" in refused and _yuan(2 * 8800) in refused, refused
    status, body = await shop.mp(
        "POST", f"/mp/api/promotions/{promo}/buy", buyer.token, {"bottles": 2, "request_key": "overdue-01"}
    )
    assert status == 409 and body["reason"] == "credit_overdue" and body["overdue_fen"] == 12345
    quote = await shop.api.orders.quote(store.id, [LineRequest(sku, bottles=1)])
    assert not quote.credit.ok and quote.credit.overdue_fen == 12345
    assert "credit_overdue" in {i.code for i in quote.issues}
    now = await shop.api.org.store(store.id)
    try:
        await shop.api.orders.create(
            store.id, [LineRequest(sku, bottles=1)], idempotency_key="overdue-direct"
        )
    except CreditLimitExceeded as exc:
        assert exc.overdue and exc.overdue_fen == 12345 and exc.available_fen == now.credit_available_fen
    else:
        raise AssertionError("an order went through with an overdue amount under the rule")
    orders = await _orders_for(shop, promo, [store.id])
    assert [sum(ln.quantity for ln in o.lines) for o in orders] == [1]  # only the one before the rule

    # paid back: orders go through again
    await shop.api.admin.set_overdue(store.id, 0)
    assert "抢购成功" in (await shop.say(buyer.openid, f"抢{promo} 2瓶", msg_id="2100004") or "")


async def test_a_chat_order_quote_names_the_overdue_amount_under_the_rule(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db)
    store = (await shop.api.org.stores(limit=1)).items[0]
    (buyer,) = await shop.buyers(1, [store])
    await shop.api.admin.set_overdue(store.id, 50000)
    await shop.api.admin.set_credit_rule(refuse_when_overdue=True)
    before = [o.id for o in (await shop.api.orders.list_for_store(store.id, limit=50)).items]
    reply = await shop.say(buyer.openid, "再来一单", msg_id="2200001")
    assert reply and "逾期未还款 500.00元" in reply and "暂不能下单" in reply, reply
    confirm = await shop.say(buyer.openid, "确认", msg_id="2200002")
    assert confirm is None or "下单成功" not in confirm
    after = [o.id for o in (await shop.api.orders.list_for_store(store.id, limit=50)).items]
    assert after == before  # nothing ordered
