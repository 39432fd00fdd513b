"""Follow, unfollow, scenes, locations and receipts through the real callback."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import create_engine, session_factory
from bot.flows.storage import FlowKey, FlowRecord, RedisFlowStorage
from bot.handlers.scenes import SceneRegistry, scenes
from bot.membership.models import MemberIdentity
from bot.messages import TextReply
from bot.messaging.models import DeliveryReceipt
from bot.redis import Keys
from tests.conftest import OA_APPID
from tests.wechat_client import event_xml, text_xml


async def _identity(settings, openid):
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            stmt = select(MemberIdentity).where(MemberIdentity.openid == openid)
            return (await session.execute(stmt)).scalar_one_or_none()
    finally:
        await engine.dispose()


async def test_follow_welcomes_and_marks_following(bot_client, settings):
    _, poster = await bot_client("safe")
    reply = await poster.post(event_xml("o-follow", "subscribe"))
    assert "欢迎关注" in reply.text
    identity = await _identity(settings, "o-follow")
    assert identity.following is True
    assert identity.subscribed_at is not None


async def test_follow_through_a_parametric_qr_runs_the_scene_handler(bot_client, notifier):
    hits = []

    @scenes.handler("testscene:")
    async def on_test_scene(ctx, arg):
        hits.append((ctx.message.openid, arg))
        return TextReply(f"scene {arg}")

    try:
        _, poster = await bot_client("plain")
        reply = await poster.post(
            event_xml("o-qr", "subscribe", key="qrscene_testscene:42", extra="<Ticket>t</Ticket>")
        )
        assert "欢迎关注" in reply.text  # the passive reply is the welcome ...
        assert hits == [("o-qr", "42")]
        # ... and the scene's own answer follows through the customer-service channel
        assert [r.content for _, r, _ in notifier.sent] == ["scene 42"]
        # an existing follower scanning the same code gets a SCAN event without the prefix
        again = await poster.post(event_xml("o-qr", "SCAN", key="testscene:43"))
        assert again.text == "scene 43"
        assert hits[-1] == ("o-qr", "43")
    finally:
        scenes._handlers.pop("testscene:")


async def test_unknown_scene_gets_a_chinese_hint(bot_client):
    _, poster = await bot_client("plain")
    reply = await poster.post(event_xml("o-qr2", "SCAN", key="nosuchscene"))
    assert "二维码" in reply.text


def test_longest_scene_prefix_wins():
    registry = SceneRegistry()

    @registry.handler("a:")
    async def short(ctx, arg):
        return None

    @registry.handler("a:b:")
    async def long(ctx, arg):
        return None

    assert registry.resolve("a:b:7") == (long, "7")
    assert registry.resolve("a:c") == (short, "c")
    assert registry.resolve("zzz") is None


async def test_unfollow_keeps_the_member_and_forgets_location_and_flow(bot_client, settings, redis_client):
    _, poster = await bot_client("plain")
    await poster.post(event_xml("o-bye", "subscribe"))
    loc = "<Latitude>31.2304</Latitude><Longitude>121.4737</Longitude><Precision>65.0</Precision>"
    assert (await poster.post(event_xml("o-bye", "LOCATION", extra=loc))).is_ack
    identity = await _identity(settings, "o-bye")
    assert (identity.latitude, identity.longitude) == (31.2304, 121.4737)
    flows = RedisFlowStorage(redis_client, Keys(settings.redis_prefix), ttl_seconds=60)
    await flows.set(FlowKey(OA_APPID, "o-bye"), FlowRecord("Cart:browse", {"lines": [1]}))

    assert (await poster.post(event_xml("o-bye", "unsubscribe"))).is_ack

    identity = await _identity(settings, "o-bye")
    assert identity is not None and identity.following is False
    assert identity.unsubscribed_at is not None
    assert (identity.latitude, identity.longitude) == (None, None)
    assert await flows.get(FlowKey(OA_APPID, "o-bye")) is None


async def test_bad_location_is_ignored_without_error(bot_client, settings):
    _, poster = await bot_client("plain")
    reply = await poster.post(
        event_xml("o-loc", "LOCATION", extra="<Latitude>north</Latitude><Longitude>1</Longitude>")
    )
    assert reply.is_ack


async def _receipts(settings):
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            return list(
                (await session.execute(select(DeliveryReceipt).order_by(DeliveryReceipt.id))).scalars()
            )
    finally:
        await engine.dispose()


async def test_template_job_finish_is_recorded(bot_client, settings):
    _, poster = await bot_client("safe")
    extra = "<MsgID>200163836</MsgID><Status><![CDATA[failed:user block]]></Status>"
    assert (await poster.post(event_xml("o-t", "TEMPLATESENDJOBFINISH", extra=extra))).is_ack
    [receipt] = await _receipts(settings)
    assert (receipt.kind, receipt.msgid, receipt.status) == ("template", "200163836", "failed:user block")


async def test_subscribe_popup_with_one_and_several_items(bot_client, settings):
    _, poster = await bot_client("plain")
    one = (
        "<SubscribeMsgPopupEvent><List><TemplateId>T1</TemplateId><SubscribeStatusString>accept"
        "</SubscribeStatusString><PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent>"
    )
    two = (
        "<SubscribeMsgPopupEvent><List><TemplateId>T2</TemplateId><SubscribeStatusString>accept"
        "</SubscribeStatusString><PopupScene>1</PopupScene></List><List><TemplateId>T3</TemplateId>"
        "<SubscribeStatusString>reject</SubscribeStatusString><PopupScene>1</PopupScene></List>"
        "</SubscribeMsgPopupEvent>"
    )
    await poster.post(event_xml("o-s", "subscribe_msg_popup_event", extra=one, create_time=1_700_000_001))
    await poster.post(event_xml("o-s", "subscribe_msg_popup_event", extra=two, create_time=1_700_000_002))
    # the official change-event sample uses the popup wrapper tag by mistake: both are accepted
    change = (
        "<SubscribeMsgPopupEvent><List><TemplateId>T2</TemplateId><SubscribeStatusString>reject"
        "</SubscribeStatusString></List></SubscribeMsgPopupEvent>"
    )
    await poster.post(event_xml("o-s", "subscribe_msg_change_event", extra=change, create_time=1_700_000_003))
    rows = [(r.kind, r.template_id, r.status) for r in await _receipts(settings)]
    assert rows == [
        ("subscribe_popup", "T1", "accept"),
        ("subscribe_popup", "T2", "accept"),
        ("subscribe_popup", "T3", "reject"),
        ("subscribe_change", "T2", "reject"),
    ]


async def test_unknown_menu_click_gets_a_hint(bot_client):
    _, poster = await bot_client("plain")
    reply = await poster.post(event_xml("o-c", "CLICK", key="NO_SUCH_KEY"))
    assert "菜单" in reply.text


async def test_view_and_image_messages(bot_client):
    _, poster = await bot_client("plain")
    assert (await poster.post(event_xml("o-v", "VIEW", key="https://example.com/"))).is_ack
    image = (
        "<xml><ToUserName>gh</ToUserName><FromUserName>o-v</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>image</MsgType><PicUrl>http://x/y.jpg</PicUrl><MediaId>m</MediaId><MsgId>777001</MsgId></xml>"
    )
    reply = await poster.post(image)
    assert "文字" in reply.text


async def test_messages_of_a_known_member_skip_the_database(bot_client, settings):
    """The member id comes from the Redis cache after first contact: no SELECT on the hot path."""
    from sqlalchemy import event

    client, poster = await bot_client("plain")
    await poster.post(text_xml("o-hot", "帮助"))
    engine = client.app[__import__("bot.keys", fromlist=["ENGINE"]).ENGINE]
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        reply = await poster.post(text_xml("o-hot", "帮助"))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert "再来一单" in reply.text
    assert statements == []
