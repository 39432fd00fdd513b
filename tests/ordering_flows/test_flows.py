"""The chat flows end to end inside jiubot, against the reference core over HTTP."""

from __future__ import annotations

OWNER = "o_owner_000000000000000000001"


async def test_a_store_owner_binds_orders_by_free_text_resolves_an_ambiguity_and_confirms(bot_factory):
    bot = await bot_factory()
    done = await bot.bind(OWNER)
    assert "绑定成功" in done
    reply = await bot.say(OWNER, "茅台 2箱 普五3件")
    assert "有好几款" in reply, reply
    reply = await bot.say(OWNER, "1")
    assert "订单报价" in reply, reply
    assert "回复「确认」下单" in reply, reply
    before = len(await bot.core_orders())
    placed = await bot.say(OWNER, "确认")
    assert "下单成功" in placed, placed
    assert len(await bot.core_orders()) == before + 1


async def _bound(bot_factory, **kw):
    bot = await bot_factory(**kw)
    assert "绑定成功" in await bot.bind(OWNER)
    return bot


async def _state(bot, openid: str = OWNER):
    from bot.flows.storage import FlowKey
    from tests.conftest import OA_APPID

    record = await bot.services.flows.get(FlowKey(OA_APPID, openid))
    return record.state if record else None


async def test_unbound_people_who_order_are_told_how_to_bind_and_nothing_is_ordered(bot_factory):
    bot = await bot_factory()
    before = len(await bot.core_orders())
    for text in ("飞天 2箱", "再来一单", "我的订单"):
        reply = await bot.say("o_consumer_0000000000000000001", text)
        assert "订货功能仅对已绑定的门店开放" in reply, (text, reply)
    assert await bot.event("o_consumer_0000000000000000001", "CLICK", "ORDER")
    assert len(await bot.core_orders()) == before
    member = await bot.member_id("o_consumer_0000000000000000001")
    assert await bot.runtime.carts.get(await bot.tenant_id(), member) is None


async def test_a_wrong_code_is_counted_and_too_many_lock_the_binding(bot_factory):
    bot = await bot_factory()
    token = await bot.owner_token()
    await bot.event(OWNER, "subscribe", f"qrscene_bind:{token}")
    assert await _state(bot) == "Bind:code"
    assert "还可以再试4次" in await bot.say(OWNER, "000000")
    assert "6位验证码" in await bot.say(OWNER, "你好")  # a hint, the flow goes on
    assert await _state(bot) == "Bind:code"
    for _ in range(3):
        await bot.say(OWNER, "000001")
    assert "错误次数过多" in await bot.say(OWNER, "000002")
    assert await _state(bot) is None
    assert "订货功能仅对已绑定的门店开放" in await bot.say(OWNER, "飞天 2箱")


async def test_an_expired_or_revoked_binding_code_is_refused(bot_factory):
    bot = await bot_factory()
    token = await bot.owner_token(ttl=1)
    import asyncio

    await asyncio.sleep(1.1)
    assert "已过期" in await bot.event(OWNER, "SCAN", f"bind:{token}")
    assert await _state(bot) is None
    revoked = await bot.owner_token()
    from sqlalchemy import update

    from bot.db import session_scope, utcnow
    from bot.ordering.models import BindToken

    async with session_scope(bot.services.sessions) as session:
        await session.execute(update(BindToken).where(BindToken.token == revoked).values(revoked_at=utcnow()))
    assert "已作废" in await bot.event(OWNER, "SCAN", f"bind:{revoked}")
    assert "无法识别" in await bot.event(OWNER, "SCAN", "bind:nonsense")


async def test_a_new_owner_replaces_the_previous_one_who_can_no_longer_order(bot_factory):
    bot = await bot_factory()
    assert "绑定成功" in await bot.bind(OWNER)
    other = "o_newowner_0000000000000000001"
    assert "绑定成功" in await bot.bind(other)
    assert "订货功能仅对已绑定的门店开放" in await bot.say(OWNER, "飞天 1箱")
    assert "订单报价" in await bot.say(other, "飞天 1箱")


async def test_a_quantity_above_the_limit_is_asked_about_never_assumed(bot_factory):
    bot = await _bound(bot_factory, order_max_cases=20)
    reply = await bot.say(OWNER, "飞天 30箱")
    assert "超出平时的订货量" in reply and await _state(bot) == "Order:quantity"
    assert await bot.runtime.carts.get(await bot.tenant_id(), await bot.member_id(OWNER)) is None
    reply = await bot.say(OWNER, "3箱")
    assert "3箱（36瓶）" in reply and "订单报价" in reply, reply


async def test_an_over_limit_quantity_confirmed_goes_in_as_said(bot_factory):
    bot = await _bound(bot_factory, order_max_cases=20)
    await bot.say(OWNER, "普五 30箱")
    reply = await bot.say(OWNER, "确认")
    assert "30箱（180瓶）" in reply, reply


async def test_a_product_without_quantity_is_asked_for_one(bot_factory):
    bot = await _bound(bot_factory)
    reply = await bot.say(OWNER, "要点飞天")
    assert "要多少" in reply, reply
    reply = await bot.say(OWNER, "六瓶")
    assert "6瓶" in reply and "订单报价" in reply, reply


async def test_unknown_products_get_suggestions_and_can_be_skipped(bot_factory):
    bot = await _bound(bot_factory)
    reply = await bot.say(OWNER, "普五3件 可口可乐2箱")
    assert "没有找到「可口可乐」" in reply and "已加入" in reply and "订单报价" in reply, reply


async def test_anything_unexpected_inside_a_flow_gets_a_hint_not_a_reset(bot_factory):
    bot = await _bound(bot_factory)
    await bot.say(OWNER, "茅台 2箱")
    assert await _state(bot) == "Order:choose"
    reply = await bot.say(OWNER, "今天天气不错")
    assert "请回复序号" in reply
    assert await _state(bot) == "Order:choose"
    reply = await bot.say(OWNER, "帮助")
    assert "正在确认您要的商品" in reply
    reply = await bot.say(OWNER, "9")
    assert "请回复序号" in reply  # out of range: still asking
    reply = await bot.say(OWNER, "2")
    assert "飞天 43%vol 500ml 2箱" in reply, reply
    assert await _state(bot) == "Checkout:confirm"
    assert "回复「确认」下单" in await bot.say(OWNER, "嗯？")
    reply = await bot.say(OWNER, "取消")
    assert "购物车已为您保留" in reply and await _state(bot) is None
    reply = await bot.say(OWNER, "购物车")
    assert "飞天 43%vol 500ml 2箱" in reply


async def test_cart_edits_change_the_quote(bot_factory):
    bot = await _bound(bot_factory)
    await bot.say(OWNER, "飞天 2箱 普五3件")
    reply = await bot.say(OWNER, "普五改成1箱")
    assert "已修改：五粮液 第八代 52%vol 500ml 1箱（6瓶）" in reply, reply
    reply = await bot.say(OWNER, "删除 1")
    assert "已删除：贵州茅台酒 飞天 53%vol 500ml" in reply, reply
    reply = await bot.say(OWNER, "清空")
    assert "购物车已清空" in reply and "购物车里还没有商品" in reply, reply
    assert await _state(bot) is None


async def test_reorder_quotes_the_last_order_at_todays_prices(bot_factory):
    bot = await _bound(bot_factory)
    last = (await bot.core_orders())[0]
    reply = await bot.say(OWNER, "老样子")
    assert f"按上次订单（{last.number}" in reply and "订单报价" in reply, reply
    assert await _state(bot) == "Reorder:confirm"
    placed = await bot.say(OWNER, "确认")
    assert "下单成功" in placed, placed
    newest = (await bot.core_orders())[0]
    assert sorted((li.sku, li.cases, li.bottles) for li in newest.lines if not li.is_gift) == sorted(
        (li.sku, li.cases, li.bottles) for li in last.lines if not li.is_gift
    )


async def test_tracking_shows_own_orders_only(bot_factory):
    bot = await _bound(bot_factory)
    mine = (await bot.core_orders())[0]
    other = (await bot.core_orders(2))[0]
    reply = await bot.say(OWNER, f"订单 {mine.number}")
    assert mine.number in reply and "下单时间" in reply, reply
    reply = await bot.say(OWNER, f"订单 {other.id}")
    assert "没有找到订单" in reply, reply
    reply = await bot.event(OWNER, "CLICK", "MY_ORDERS")
    assert "最近的订单" in reply
    assert await _state(bot) == "Track:list"
    assert mine.number in await bot.say(OWNER, "1")


async def test_menu_order_and_member_centre(bot_factory):
    bot = await _bound(bot_factory)
    assert "请直接发送要订的商品和数量" in await bot.event(OWNER, "CLICK", "ORDER")
    await bot.say(OWNER, "飞天 1箱")
    await bot.say(OWNER, "取消")
    assert "您上次的购物车还在" in await bot.event(OWNER, "CLICK", "ORDER")
    centre = await bot.event(OWNER, "CLICK", "MEMBER_CENTER")
    assert "店主" in centre and "邀请店员" in centre


async def test_a_price_question_is_answered_with_this_stores_price(bot_factory):
    bot = await _bound(bot_factory)
    reply = await bot.say(OWNER, "飞天什么价")
    assert "元/瓶" in reply and "贵州茅台酒 飞天 53%vol 500ml" in reply, reply
    assert await _state(bot) is None


async def test_a_short_line_is_offered_as_available_or_wait(bot_factory):
    import aiohttp

    bot = await _bound(bot_factory)
    async with aiohttp.ClientSession() as session:
        core = bot.core_client(session)
        for wh in await core.catalog.warehouses():
            await core.admin.set_stock(wh.id, "FJ-QH20-53-500", 4 if wh.code == "WH-SH" else 0)
    reply = await bot.say(OWNER, "青花汾20 2箱 普五1箱")
    assert "库存不足：需12瓶，现有4瓶" in reply and "回复「1」只订有货的部分" in reply, reply
    assert await _state(bot) == "Checkout:stock"
    reply = await bot.say(OWNER, "1")
    assert "已按现有库存调整数量" in reply and "4瓶" in reply and "回复「确认」下单" in reply, reply
    placed = await bot.say(OWNER, "确认")
    assert "下单成功" in placed, placed
    newest = (await bot.core_orders())[0]
    assert {(li.sku, li.quantity) for li in newest.lines if not li.is_gift} == {
        ("FJ-QH20-53-500", 4),
        ("WLY-PW8-52-500", 6),
    }


async def test_waiting_for_stock_keeps_the_cart(bot_factory):
    import aiohttp

    bot = await _bound(bot_factory)
    async with aiohttp.ClientSession() as session:
        core = bot.core_client(session)
        for wh in await core.catalog.warehouses():
            await core.admin.set_stock(wh.id, "FJ-QH20-53-500", 0)
    await bot.say(OWNER, "青花汾20 1箱")
    reply = await bot.say(OWNER, "2")
    assert "购物车已为您保留" in reply and await _state(bot) is None
    cart = await bot.runtime.carts.get(await bot.tenant_id(), await bot.member_id(OWNER))
    assert cart is not None and cart.line("FJ-QH20-53-500").cases == 1


async def test_a_confirm_the_core_refuses_for_stock_quotes_again_with_the_reason(bot_factory):
    import aiohttp

    bot = await _bound(bot_factory)
    reply = await bot.say(OWNER, "青花汾20 1箱")
    assert "回复「确认」下单" in reply, reply
    async with aiohttp.ClientSession() as session:  # the stock goes between the quote and "确认"
        core = bot.core_client(session)
        for wh in await core.catalog.warehouses():
            await core.admin.set_stock(wh.id, "FJ-QH20-53-500", 0)
    before = len(await bot.core_orders())
    reply = await bot.say(OWNER, "确认")
    assert "下单未成功：部分商品库存不足" in reply and "订单报价" in reply, reply
    assert "库存不足：需6瓶，现有0瓶" in reply, reply
    assert await _state(bot) == "Checkout:stock"
    assert len(await bot.core_orders()) == before
