"""The WeChat feature: API client, token cache, rate limiter, reach budget, notifier.

Onto ``services``: ``wechat`` (``WeChatClient`` on the runtime's WeChat HTTP session),
``limiter`` (``RateLimiter``, shared by every process through Redis), ``reach``
(``ReachBudget``), ``notifier`` (``WeChatNotifier``: late replies and pushes; kept as given when
the caller passed its own), and two receipt hooks (subscribe credits, the outbound log). The reach
budget also records every interaction in the callback's own finishing round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.wiring.feature import Runtime

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.wechat.reach import WindowRule


def windows_from(settings: Settings) -> dict[str, WindowRule]:
    from bot.wechat.reach import DEFAULT_WINDOWS, WindowRule

    event = WindowRule(settings.reach_event_quota, settings.reach_event_window_seconds)
    return {
        "message": WindowRule(settings.reach_message_quota, settings.reach_message_window_seconds),
        "follow": event,
        "scan": event,
        "click": event,
        "enter_session": DEFAULT_WINDOWS["enter_session"],
    }


async def setup(runtime: Runtime) -> None:
    from bot.wechat.errors import ConfigError
    from bot.wechat.notifier import WeChatNotifier
    from bot.wechat.outbound import WeChatClient
    from bot.wechat.ratelimit import RateLimiter, parse_rules
    from bot.wechat.reach import ReachBudget

    services, settings = runtime.services, runtime.settings

    async def secret(appid: str) -> str:
        if appid == settings.oa_appid and settings.oa_secret:
            return settings.oa_secret
        config = await services.registry.get(appid)
        if config is None or not config.secret:
            raise ConfigError(None, f"no AppSecret configured for {appid} (jiubot app add --secret)")
        return config.secret

    limiter = RateLimiter(services.redis, services.keys, parse_rules(settings.wechat_rate_limits))
    runtime.stack.push_async_callback(limiter.aclose)
    client = WeChatClient(
        runtime.http.wechat,
        base_url=settings.wechat_api_base,
        secrets=secret,
        redis=services.redis,
        keys=services.keys,
        limiter=limiter,
        timeout=settings.wechat_timeout_seconds,
        retries=settings.wechat_retries,
        backoff=settings.wechat_retry_backoff_seconds,
        refresh_ahead=settings.wechat_token_refresh_ahead_seconds,
    )
    reach = ReachBudget(
        services.redis, services.keys, windows_from(settings), margin_seconds=settings.reach_margin_seconds
    )
    notifier = WeChatNotifier(
        client,
        reach,
        redis=services.redis,
        keys=services.keys,
        sessions=services.sessions,
        registry=services.registry,
    )
    services.wechat, services.limiter, services.reach = client, limiter, reach
    if not runtime.notifier_given:
        services.notifier = notifier
    runtime.recorders.append(reach.record)
    services.receipt_hooks.extend([reach.on_receipts, notifier.on_receipts])
