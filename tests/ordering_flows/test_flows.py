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
