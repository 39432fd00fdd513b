"""The regional feature (issue 16): campaigns open to a store in chat (bot/handlers/campaigns.py)
and the mini-program (bot/miniapp/promotions.py), and production SMS.

SMS: with ``JIUBOT_SMS_PROVIDER=aliyun|tencent`` the ordering runtime's sender becomes the
provider's adapter on its own HTTP session (closed with the runtime); with the default
``outbox`` it stays the development outbox. Either way it sits behind the per-phone / per-IP
limits of verification codes (``bot/sms/limits.py``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import structlog

from bot.wiring.feature import Runtime

if TYPE_CHECKING:
    from aiohttp import web

    from bot.scheduler import Scheduler
    from bot.services import Services

log = structlog.get_logger(__name__)


async def setup(runtime: Runtime) -> None:
    import aiohttp

    from bot.sms import factory

    services = runtime.services
    ordering = services.ordering
    if ordering is None:  # no core: nothing sends codes
        return
    settings = runtime.settings
    inner = ordering.sms
    if settings.sms_provider != "outbox":
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.sms_timeout_seconds, connect=2.0)
        )
        runtime.stack.push_async_callback(session.close)
        provider = factory.provider(settings, session)
        assert provider is not None
        inner = provider
        log.info("sms_provider", provider=settings.sms_provider)
    ordering.sms = factory.limited(inner, settings, services.redis, services.keys)


def routes(app: web.Application) -> None:
    from bot.miniapp.routes import add_regional_routes

    add_regional_routes(app)


async def settle_referrals(services: Services) -> None:
    """Reward the store referrals whose first order was delivered (each tenant with an app)."""
    from bot.campaigns import referral
    from bot.membership.loyalty_config import LoyaltyConfig

    for tenant_id in sorted({app.tenant_id for app in services.registry.all()}):
        core = await services.cores.client(tenant_id)  # the tenant's own core or the default
        if core is None:
            continue
        membership = services.membership
        config = await membership.configs.get(tenant_id) if membership is not None else LoyaltyConfig()
        settled = await referral.settle(services.sessions, core, tenant_id, config)
        if settled.rewarded or settled.lapsed or settled.refused:
            log.info("store_referrals_settled", tenant=tenant_id, **dataclasses.asdict(settled))


def jobs(scheduler: Scheduler, services: Services) -> None:
    scheduler.every("store-referrals", 60, lambda: settle_referrals(services))
