"""Issue 11 items 4 and 5, each defect a named regression: "再来一单" repeats the store's newest
placed-or-delivered order (by when it was placed, not by the core's id) and says which;
"我的订单" lists newest first; a reply to the list that is not a list answer leaves the list and
is handled normally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from reference_core.models import Order
from tests.ordering_flows.test_flows import OWNER, _bound, _state


async def _backdate(core_db: str, order_id: int, days: float) -> None:
    """Make an order look placed ``days`` ago (an old order the core numbered after newer ones,
    as an import of history does)."""
    engine = create_async_engine(core_db)
    try:
        async with engine.begin() as conn:
            at = datetime.now(UTC) - timedelta(days=days)
            await conn.execute(update(Order).where(Order.id == order_id).values(created_at=at))
    finally:
        await engine.dispose()


async def _place(bot, text: str) -> None:
    reply = await bot.say(OWNER, text)
    assert "回复「确认」下单" in reply, reply
    assert "下单成功" in await bot.say(OWNER, "确认")


def _bought(order) -> list[tuple[str, int, int]]:
    return sorted((li.sku, li.cases, li.bottles) for li in order.lines if not li.is_gift)


async def test_reorder_repeats_the_newest_placed_order_not_the_highest_id_nor_a_cancelled_one(
    bot_factory, core_db
):
    bot = await _bound(bot_factory)
    (seeded,) = await bot.core_orders()  # the seed's delivered order, a few days old
    await _place(bot, "普五 1箱")
    older = (await bot.core_orders())[0]  # the highest id so far ...
    assert older.id > seeded.id
    await _backdate(core_db, older.id, days=60)  # ... but placed two months ago
    await _place(bot, "青花汾20 2箱")
    cancelled = max(await bot.core_orders(), key=lambda o: o.id)
    async with aiohttp.ClientSession() as session:
        await bot.core_client(session).orders.cancel(
            cancelled.id, "test", idempotency_key=f"c-{cancelled.id}"
        )

    reply = await bot.say(OWNER, "再来一单")

    by_id = {o.id: o for o in await bot.core_orders()}
    seeded = by_id[seeded.id]
    assert f"按上次订单（{seeded.number}" in reply, reply
    created = seeded.created_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{created.month}月{created.day}日" in reply, reply  # says which: number and date
    assert by_id[older.id].number not in reply and by_id[cancelled.id].number not in reply
    assert await _state(bot) == "Reorder:confirm"
    cart = await bot.runtime.carts.get(await bot.tenant_id(), await bot.member_id(OWNER))
    assert sorted((li.sku, li.cases, li.bottles) for li in cart.lines) == _bought(seeded)


async def test_my_orders_lists_the_newest_order_first(bot_factory, core_db):
    bot = await _bound(bot_factory)
    (seeded,) = await bot.core_orders()
    await _place(bot, "普五 1箱")
    old = (await bot.core_orders())[0]
    await _backdate(core_db, old.id, days=60)
    await _place(bot, "青花汾20 2箱")
    newest = max(await bot.core_orders(), key=lambda o: o.id)
    numbers = {o.id: o.number for o in await bot.core_orders()}

    reply = await bot.say(OWNER, "我的订单")

    at = [reply.index(numbers[i]) for i in (newest.id, seeded.id, old.id)]
    assert at == sorted(at), reply  # newest, then the seed's (days old), then the 60-day-old one
    assert numbers[newest.id] in (await bot.say(OWNER, "1"))  # "1" is the newest


async def test_a_price_question_after_my_orders_leaves_the_list_and_is_answered(bot_factory):
    bot = await _bound(bot_factory)
    assert "最近的订单" in await bot.event(OWNER, "CLICK", "MY_ORDERS")
    assert await _state(bot) == "Track:list"

    reply = await bot.say(OWNER, "飞天多少钱")

    assert "元/瓶" in reply and "贵州茅台酒 飞天 53%vol 500ml" in reply, reply
    assert "回复订单序号" not in reply and "回复序号" not in reply
    assert await _state(bot) is None
    # the list is gone: "1" is no longer read as "show the first order"
    assert "下单时间" not in (await bot.say(OWNER, "1") or "")


async def test_an_order_text_after_my_orders_leaves_the_list_and_starts_an_order(bot_factory):
    bot = await _bound(bot_factory)
    await bot.say(OWNER, "我的订单")
    reply = await bot.say(OWNER, "普五 1箱")
    assert "订单报价" in reply and "回复「确认」下单" in reply, reply
    assert await _state(bot) == "Checkout:confirm"


async def test_a_list_answer_still_shows_that_order(bot_factory):
    bot = await _bound(bot_factory)
    (seeded,) = await bot.core_orders()
    await bot.say(OWNER, "我的订单")
    helped = await bot.say(OWNER, "帮助")  # the list's own help keeps the list
    assert "回复订单序号" in helped and await _state(bot) == "Track:list", helped
    reply = await bot.say(OWNER, "第1单")
    assert seeded.number in reply and "下单时间" in reply, reply
