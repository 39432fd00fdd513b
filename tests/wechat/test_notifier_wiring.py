"""What the outbound extension wires into ``create_app``, and that it cleans up after itself."""

from __future__ import annotations

from bot import keys
from bot.app import create_app
from bot.ports import RecordingNotifier
from bot.wechat.notifier import WeChatNotifier
from bot.wechat.outbound import WeChatClient
from bot.wechat.ratelimit import RateLimiter
from bot.wechat.reach import ReachBudget
from bot.wechat.wiring import (
    EXTRA_CLIENT,
    EXTRA_LIMITER,
    EXTRA_NOTIFIER,
    EXTRA_REACH,
    RECEIPT_HOOKS,
    make_outbound_extension,
    outbound_extension,
)


async def test_the_extension_wires_notifier_client_budget_recorder_and_hooks(aiohttp_client, make_settings):
    app = create_app(
        make_settings(reach_message_quota=20, wechat_rate_limits={"message/custom/send": 50}),
        features=[],  # only this extension (create_app's defaults include it too)
        extensions=[outbound_extension],
        background=False,
    )
    client = await aiohttp_client(app)
    services = app[keys.SERVICES]
    extras = services.extras
    assert isinstance(services.notifier, WeChatNotifier)
    assert extras[EXTRA_NOTIFIER] is services.notifier
    assert isinstance(extras[EXTRA_CLIENT], WeChatClient)
    assert isinstance(extras[EXTRA_REACH], ReachBudget)
    assert isinstance(extras[EXTRA_LIMITER], RateLimiter)
    assert extras[EXTRA_REACH].windows["message"].quota == 20  # from settings
    assert extras[EXTRA_LIMITER].rule("message/custom/send").rate == 50
    assert extras[EXTRA_CLIENT].base_url == "https://api.weixin.qq.com"
    assert app[keys.PIPELINE].recorders == [extras[EXTRA_REACH].record]
    assert extras[RECEIPT_HOOKS] == [extras[EXTRA_REACH].on_receipts, services.notifier.on_receipts]
    session = app[keys.HTTP]
    assert not session.closed
    await client.close()  # runs the app's cleanup
    assert session.closed


async def test_an_explicit_notifier_can_be_kept(aiohttp_client, make_settings):
    recording = RecordingNotifier()
    app = create_app(
        make_settings(),
        notifier=recording,
        features=[],
        extensions=[make_outbound_extension(replace_notifier=False)],
        background=False,
    )
    await aiohttp_client(app)
    services = app[keys.SERVICES]
    assert services.notifier is recording
    assert isinstance(services.extras[EXTRA_NOTIFIER], WeChatNotifier)


async def test_create_app_wires_the_outbound_side_by_default(aiohttp_client, make_settings):
    app = create_app(make_settings(), background=False)
    await aiohttp_client(app)
    services = app[keys.SERVICES]
    assert isinstance(services.notifier, WeChatNotifier)
    assert app[keys.PIPELINE].recorders.count(services.extras[EXTRA_REACH].record) == 1
    assert any(r.resource.canonical == "/mp/api/login" for r in app.router.routes())
