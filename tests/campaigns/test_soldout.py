"""The sold-out marker (bot/campaigns/soldout.py): once the core said sold out, a new buyer is
told so without the core for its TTL, while a retry of a key that reached the core still gets
its own order back, in chat and the mini-program."""

from __future__ import annotations

import asyncio

from bot.campaigns import soldout
from tests.campaigns.test_campaigns import _setup


async def test_sold_out_answered_from_the_marker_but_retries_keep_their_order(
    shop_factory, core_db, monkeypatch
) -> None:
    monkeypatch.setattr(soldout, "TTL", 6)  # room for the steps below on a loaded machine
    shop = await shop_factory(core_db)
    sku, stores = await _setup(shop, stores=7)
    first, second, third, fourth, fifth, sixth, seventh = await shop.buyers(7, stores)
    promo = await shop.promotion("flash_sale", {"sku": sku, "price_fen": 8800}, stock=2, per_store_limit=2)
    path = f"/mp/api/promotions/{promo}/buy"
    status, won = await shop.mp("POST", path, first.token, {"bottles": 1, "request_key": "win-0001"})
    assert status == 201
    order_id = won["order"]["order_id"]
    # two bottles asked, one left: the core says sold out, but only for two or more
    status, body = await shop.mp("POST", path, second.token, {"bottles": 2, "request_key": "two-0001"})
    assert status == 409 and body["reason"] == "sold_out"
    status, body = await shop.mp("POST", path, third.token, {"bottles": 1, "request_key": "one-0001"})
    assert status == 201
    # the last bottle is gone: the core says sold out for one, the marker is set
    status, body = await shop.mp("POST", path, fourth.token, {"bottles": 1, "request_key": "late-0001"})
    assert status == 409 and body["reason"] == "sold_out"
    # the won order is cancelled in the core: its bottle is back, but within the TTL a new buyer
    # is answered from the marker (the core would have sold it)
    await shop.api.orders.cancel(order_id, "test")
    assert (await shop.api.promotions.get(promo)).stock_remaining == 1
    status, body = await shop.mp("POST", path, fifth.token, {"bottles": 1, "request_key": "late-0002"})
    assert status == 409 and body["reason"] == "sold_out"
    reply = await shop.say(sixth.openid, f"抢{promo}", msg_id="7100001")
    assert reply and "抢光" in reply, reply
    # a retry of the won key goes to the core anyway and gets the same order, never "sold out"
    status, again = await shop.mp("POST", path, first.token, {"bottles": 1, "request_key": "win-0001"})
    assert status == 201 and again["order"]["order_id"] == order_id
    assert (await shop.api.promotions.get(promo)).stock_remaining == 1  # nothing sold meanwhile
    # after the TTL the core answers again and the bottle sells to a new buyer, once
    await asyncio.sleep(soldout.TTL + 0.5)
    status, body = await shop.mp("POST", path, seventh.token, {"bottles": 1, "request_key": "next-0001"})
    assert status == 201 and body["order"]["unit_price_fen"] == 8800
    assert (await shop.api.promotions.get(promo)).stock_remaining == 0
