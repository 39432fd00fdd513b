"""The store-member middleware: the not-configured and not-bound answers live in one place, and a
store handler is never called for anyone else (nothing is quoted, ordered or kept in a flow)."""

from __future__ import annotations

from bot.app import create_app
from bot.flows.storage import FlowKey, FlowRecord
from bot.handlers import basic, notifications
from bot.handlers import ordering as ordering_handlers
from bot.ports import RecordingPushNotifier
from tests.conftest import OA_APPID, OA_TOKEN
from tests.ordering_flows.test_flows import OWNER, _bound, _state
from tests.wechat_client import WeChatPoster, text_xml

STRANGER = "o_stranger_00000000000000000001"


async def test_without_the_core_feature_store_texts_say_ordering_is_not_open(make_settings, aiohttp_client):
    settings = make_settings(oa_mode="plain", oa_aes_key="")
    app = create_app(
        settings,
        notifier=RecordingPushNotifier(),
        routers=[notifications.router, ordering_handlers.router, basic.router],
        features=[],
        background=False,
    )
    poster = WeChatPoster(await aiohttp_client(app), OA_APPID, OA_TOKEN, mode="plain")
    for text in ("再来一单", "我的订单", "购物车", "邀请店员"):
        reply = await poster.post(text_xml(OWNER, text))
        assert "订货服务暂未开通" in reply.text, (text, reply.text)


async def test_a_member_no_longer_bound_is_told_how_to_bind_and_leaves_the_stale_flow(bot_factory):
    bot = await bot_factory()
    before = len(await bot.core_orders())
    key = FlowKey(OA_APPID, STRANGER)
    for state in ("Checkout:confirm", "Order:choose", "Track:list"):
        await bot.services.flows.set(key, FlowRecord(state, {"queue": [], "ids": [1]}, 1))
        reply = await bot.say(STRANGER, "确认" if state != "Track:list" else "1")
        assert "订货功能仅对已绑定的门店开放" in reply, (state, reply)
        assert await bot.services.flows.get(key) is None, state
    assert len(await bot.core_orders()) == before


async def test_a_bound_owner_reaches_the_handlers_with_everything_injected(bot_factory):
    bot = await _bound(bot_factory)
    reply = await bot.say(OWNER, "普五 1箱")
    assert "订单报价" in reply and await _state(bot) == "Checkout:confirm", reply
    assert "下单成功" in await bot.say(OWNER, "确认。")  # a short answer with a full stop
