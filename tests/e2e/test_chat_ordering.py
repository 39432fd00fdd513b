"""Issue 5 end to end: the WeChat simulator, the reference core and jiubot as three real servers."""

from __future__ import annotations

import asyncio

from tests.conftest import OA_APPID
from tests.e2e.conftest import STORE


async def test_a_store_owner_binds_orders_with_an_ambiguity_confirms_tracks_and_hears_it_shipped(
    stack_factory,
):
    stack = await stack_factory()
    owner = stack.sim.add_person("王老板", "store_owner", phone=STORE["phone"]).id
    seen = await stack.bind_owner(owner)
    assert any("绑定成功" in t for t in seen), seen

    seen = await stack.say(owner, "茅台 2箱 普五3件", wait_for="您要哪一款")
    menu = stack.last_menu(owner)
    assert menu is not None, seen  # the choices came as a msgmenu (the window is open)
    first = menu["list"][0]
    assert "飞天" in first["content"]
    seen = await stack.say(owner, first["content"], bizmsgmenuid=first["id"], wait_for="订单报价")
    quote = next(t for t in seen if "订单报价" in t)
    assert "飞天 53%vol 500ml 2箱（24瓶）" in quote and "3箱（18瓶）" in quote, quote
    before = len(await stack.orders_of())
    seen = await stack.say(owner, "确认", wait_for="下单成功")
    assert any("下单成功" in t for t in seen), seen
    orders = await stack.orders_of()
    assert len(orders) == before + 1
    order = orders[0]
    assert {li.sku for li in order.lines if not li.is_gift} == {"MT-FT-53-500", "WLY-PW8-52-500"}

    seen = await stack.say(owner, "我的订单", wait_for="最近的订单")
    assert any(order.number in t for t in seen), seen

    session, core = await stack.core()
    async with session:
        await core.admin.advance_order(order.id, to="shipped")
    seen = await stack.seen(owner, stack.seq(owner) - 1, wait_for="已发货", seconds=10)
    pushes = [e for e in stack.entries(owner) if e.channel == "kf" and "已发货" in str(e.payload)]
    assert len(pushes) == 1, seen
    assert order.number in pushes[0].payload["content"]
    await asyncio.sleep(0.5)  # the core may deliver the event again: no second push
    assert len([e for e in stack.entries(owner) if e.channel == "kf" and "已发货" in str(e.payload)]) == 1
    session, core = await stack.core()
    async with session:
        pending = (await core.webhooks.deliveries(status="pending")).items
        delivered = (await core.webhooks.deliveries(status="delivered")).items
    assert pending == () and len(delivered) >= 2  # created, shipped (and allocated): all acknowledged
    assert all(d.last_status == 200 for d in delivered)


async def _quoted(stack, owner: str, text: str = "飞天 2箱") -> None:
    await stack.bind_owner(owner)
    seen = await stack.say(owner, text, wait_for="回复「确认」下单")
    assert any("回复「确认」下单" in t for t in seen), seen


async def test_the_same_confirm_delivered_three_times_by_wechat_creates_one_order(stack_factory):
    # WeChat gives up after 1 s and re-sends the identical message; the core answers after 2.3 s
    stack = await stack_factory()
    owner = stack.sim.add_person("李老板", "store_owner").id
    await _quoted(stack, owner)
    before = len(await stack.orders_of())
    stack.sim.driver.deadline = 1.0
    stack.proxy.delay = 2.3
    since = stack.seq(owner)
    result = await stack.sim.send_text(owner, OA_APPID, "确认")
    assert [a.outcome for a in result.attempts] == ["timeout", "timeout", "reply"], result.attempts
    assert result.user_error is None
    seen = await stack.seen(owner, since, wait_for="下单成功")
    assert sum("下单成功" in t for t in seen) == 1, seen
    assert stack.proxy.creates == 1  # the handler ran once: WeChat's retries waited for its reply
    assert len(await stack.orders_of()) == before + 1


async def test_two_different_confirm_messages_create_one_order(stack_factory):
    stack = await stack_factory()
    owner = stack.sim.add_person("赵老板", "store_owner").id
    await _quoted(stack, owner)
    before = len(await stack.orders_of())
    since = stack.seq(owner)
    await asyncio.gather(stack.say(owner, "确认"), stack.say(owner, "确认"))  # two MsgIds at once
    texts = await stack.seen(owner, since)
    assert sum("下单成功" in t for t in texts) == 1, texts
    assert sum("不会重复下单" in t for t in texts) == 1, texts
    assert len(await stack.orders_of()) == before + 1


async def test_the_core_timing_out_answers_busy_in_time_then_pushes_the_result_and_creates_one_order(
    stack_factory,
):
    stack = await stack_factory(order_confirm_budget_seconds=1.0, core_timeout_seconds=1.5)
    owner = stack.sim.add_person("钱老板", "store_owner").id
    await _quoted(stack, owner)
    before = len(await stack.orders_of())
    stack.proxy.delay = 6.0  # the core creates the order, the answer never arrives in time
    since = stack.seq(owner)
    seen = await stack.say(owner, "确认", wait_for="稍后确认")
    assert any("系统繁忙，订单稍后确认" in t for t in seen), seen
    assert not any("下单成功" in t for t in seen)
    await asyncio.sleep(2.0)  # a few retries with the same key while the core stays slow
    stack.proxy.delay = 0.0
    seen = await stack.seen(owner, since, wait_for="已确认", seconds=15)
    confirmed = [t for t in seen if "您刚才提交的订单已确认" in t]
    assert len(confirmed) == 1, seen
    orders = await stack.orders_of()
    assert len(orders) == before + 1  # every try carried the same Idempotency-Key
    assert orders[0].number in confirmed[0]
    assert stack.proxy.creates >= 2
    seen = await stack.say(owner, "确认")
    assert any("不会重复下单" in t for t in seen), seen
    assert len(await stack.orders_of()) == before + 1
