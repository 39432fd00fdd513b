"""The outbound extension: WeChat API client, token cache, rate limiter, reach budget, notifier.

``create_app(settings, extensions=[outbound_extension])`` wires, once services exist:

* ``services.notifier`` -> ``WeChatNotifier`` (late replies and ``notify``);
* ``services.extras`` keys (``EXTRA_*`` below): ``"wechat.client"`` (``WeChatClient``),
  ``"wechat.reach"`` (``ReachBudget``), ``"wechat.notifier"`` (the same ``WeChatNotifier``, typed
  for ``notify`` callers), ``"wechat.limiter"`` (``RateLimiter``);
* ``app[keys.PIPELINE].recorders`` += ``reach.record`` (every interaction reaches the budget in
  the callback's own pipelined Redis round trip);
* ``services.extras["receipt_hooks"]`` += ``reach.on_receipts`` (subscribe credits) and
  ``notifier.on_receipts`` (TEMPLATESENDJOBFINISH / subscribe_msg_sent_event -> outbound log).

The HTTP ``ClientSession`` is ``app[keys.HTTP]`` when the app already has one; otherwise the
extension creates it, stores it there and closes it in ``on_cleanup`` (which runs after the
pipeline drained its late replies).
"""

from __future__ import annotations

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

from bot import keys
from bot.services import Services
from bot.wechat.errors import ConfigError
from bot.wechat.notifier import WeChatNotifier
from bot.wechat.outbound import WeChatClient
from bot.wechat.ratelimit import RateLimiter, parse_rules
from bot.wechat.reach import DEFAULT_WINDOWS, ReachBudget, WindowRule

EXTRA_CLIENT = "wechat.client"
EXTRA_REACH = "wechat.reach"
EXTRA_NOTIFIER = "wechat.notifier"
EXTRA_LIMITER = "wechat.limiter"
RECEIPT_HOOKS = "receipt_hooks"


def windows_from(settings) -> dict[str, WindowRule]:  # type: ignore[no-untyped-def]
    event = WindowRule(settings.reach_event_quota, settings.reach_event_window_seconds)
    return {
        "message": WindowRule(settings.reach_message_quota, settings.reach_message_window_seconds),
        "follow": event,
        "scan": event,
        "click": event,
        "enter_session": DEFAULT_WINDOWS["enter_session"],
    }


def new_session(limit: int = 100) -> ClientSession:
    return ClientSession(
        connector=TCPConnector(limit=limit, ttl_dns_cache=300),
        timeout=ClientTimeout(total=30),
        headers={"User-Agent": "jiubot"},
    )


def make_outbound_extension(*, replace_notifier: bool = True):  # type: ignore[no-untyped-def]
    """An extension; ``replace_notifier=False`` keeps the notifier given to ``create_app``."""

    async def extension(app: web.Application, services: Services) -> None:
        settings = services.settings
        session = app.get(keys.HTTP)
        own_session = session is None
        if session is None:
            session = new_session()
            app[keys.HTTP] = session

        async def secret(appid: str) -> str:
            config = await services.registry.get(appid)
            if config is None or not config.secret:
                raise ConfigError(None, f"no AppSecret configured for {appid} (jiubot app add --secret)")
            return config.secret

        limiter = RateLimiter(services.redis, services.keys, parse_rules(settings.wechat_rate_limits))

        async def close(_app: web.Application) -> None:
            await limiter.aclose()
            if own_session:
                await session.close()

        app.on_cleanup.append(close)
        client = WeChatClient(
            session,
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
            services.redis,
            services.keys,
            windows_from(settings),
            margin_seconds=settings.reach_margin_seconds,
        )
        notifier = WeChatNotifier(
            client,
            reach,
            redis=services.redis,
            keys=services.keys,
            sessions=services.sessions,
            registry=services.registry,
        )
        if replace_notifier:
            services.notifier = notifier
        services.extras[EXTRA_CLIENT] = client
        services.extras[EXTRA_REACH] = reach
        services.extras[EXTRA_NOTIFIER] = notifier
        services.extras[EXTRA_LIMITER] = limiter
        app[keys.PIPELINE].recorders.append(reach.record)
        hooks = services.extras.setdefault(RECEIPT_HOOKS, [])
        hooks.append(reach.on_receipts)
        hooks.append(notifier.on_receipts)

    return extension


outbound_extension = make_outbound_extension()
