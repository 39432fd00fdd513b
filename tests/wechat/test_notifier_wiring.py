"""What the WeChat feature wires into ``create_app``, and that it cleans up after itself."""

from __future__ import annotations

from bot import keys
from bot.app import RUNTIME, create_app
from bot.ports import RecordingNotifier
from bot.wechat.notifier import WeChatNotifier
from bot.wechat.outbound import WeChatClient
from bot.wechat.ratelimit import RateLimiter
from bot.wechat.reach import ReachBudget
from bot.wiring.features import WECHAT


async def test_the_feature_wires_notifier_client_budget_recorder_and_hooks(aiohttp_client, make_settings):
    app = create_app(
        make_settings(reach_message_quota=20, wechat_rate_limits={"message/custom/send": 50}),
        features=[WECHAT],
        background=False,
    )
    client = await aiohttp_client(app)
    services = app[keys.SERVICES]
    assert isinstance(services.notifier, WeChatNotifier)
    assert isinstance(services.wechat, WeChatClient)
    assert isinstance(services.reach, ReachBudget)
    assert isinstance(services.limiter, RateLimiter)
    assert services.reach.windows["message"].quota == 20  # from settings
    assert services.limiter.rule("message/custom/send").rate == 50
    assert services.wechat.base_url == "https://api.weixin.qq.com"
    assert app[keys.PIPELINE].recorders == [services.reach.record]
    assert services.receipt_hooks == [services.reach.on_receipts, services.notifier.on_receipts]
    session = app[RUNTIME].http.wechat
    assert not session.closed
    await client.close()  # runs the app's cleanup
    assert session.closed


async def test_an_explicit_notifier_is_kept(aiohttp_client, make_settings):
    recording = RecordingNotifier()
    app = create_app(make_settings(), notifier=recording, features=[WECHAT], background=False)  # type: ignore[arg-type]
    await aiohttp_client(app)
    services = app[keys.SERVICES]
    assert services.notifier is recording
    assert isinstance(services.wechat, WeChatClient)


async def test_create_app_wires_the_outbound_side_by_default(aiohttp_client, make_settings):
    app = create_app(make_settings(), background=False)
    await aiohttp_client(app)
    services = app[keys.SERVICES]
    assert isinstance(services.notifier, WeChatNotifier)
    assert services.reach is not None
    assert app[keys.PIPELINE].recorders.count(services.reach.record) == 1
    assert any(r.resource.canonical == "/mp/api/login" for r in app.router.routes())
