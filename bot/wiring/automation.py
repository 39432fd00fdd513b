"""The automation feature: journeys ticked every minute, profiles refreshed nightly, ``jiubot
journeys ...`` commands. Nothing new on ``services``: the engine's dependencies (``Deps``) are
built from what is already there (sessions, texts, the notifier, the core client)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from backend_client import CoreClient
    from bot.automation.interface import Deps, IssuedCoupon
    from bot.redis_mux import Mux
    from bot.scheduler import Scheduler
    from bot.services import Services
    from bot.wechat.campaign_channel import WeChatCampaignChannel

log = structlog.get_logger(__name__)

MIGRATIONS = Path(__file__).parent.parent / "automation" / "migrations"


class CoreCouponIssuer:
    """``CouponIssuer`` over the core's coupon API, with the step's Idempotency-Key."""

    def __init__(self, client: CoreClient) -> None:
        self.client = client

    async def issue(
        self, campaign: int, holder_type: str, holder_id: str, *, idempotency_key: str
    ) -> IssuedCoupon:
        from backend_client import errors
        from bot.automation.interface import CouponRefused, CouponRetry, IssuedCoupon

        try:
            claim = await self.client.coupons.claim(
                campaign, holder_type, holder_id, idempotency_key=idempotency_key
            )
        except errors.CouponUnavailable as exc:
            raise CouponRefused(getattr(exc, "reason", "") or "unavailable") from exc
        except (errors.NotFound, errors.ValidationFailed, errors.Conflict) as exc:
            raise CouponRefused(type(exc).__name__) from exc
        except errors.CoreError as exc:
            raise CouponRetry(type(exc).__name__) from exc
        value = claim.amount_off_fen or (claim.max_discount_fen or 0)
        return IssuedCoupon(str(claim.id), claim.name, value)


async def deps(services: Services, tenant_id: int, *, worker: str = "") -> Deps:
    """The engine's dependencies for one tenant (coupons through that tenant's core)."""
    from bot.automation.interface import Deps, Policy
    from bot.automation.quiet import QuietHours

    registry = services.registry
    settings = services.settings
    core = await services.cores.client(tenant_id)
    policy = Policy(
        holdout=settings.automation_holdout,
        quiet=QuietHours.parse(settings.automation_quiet_hours),
        cap=settings.automation_cap,
        cap_days=settings.automation_cap_days,
    )
    return Deps(
        sessions=services.sessions,
        texts=services.texts,
        notifier=services.notifier,
        coupons=CoreCouponIssuer(core) if core is not None else None,
        oa_appids=lambda: [a.appid for a in registry.all() if a.kind == "oa" and a.tenant_id == tenant_id],
        policy=policy,
        worker=worker,
    )


def campaign_channel(services: Services, mux: Mux) -> WeChatCampaignChannel:
    """Campaign sends leave through WeChat's customer-service API, the reach budget and the shared
    rate limiter (bot/wechat/campaign_channel.py)."""
    from bot.wechat.campaign_channel import WeChatCampaignChannel

    if services.wechat is None or services.reach is None:
        raise RuntimeError("campaign sends need the WeChat feature (client and reach budget)")
    return WeChatCampaignChannel(services.wechat, services.reach, mux, services.keys)


async def tenant_id(services: Services) -> int | None:
    from bot.db import session_scope
    from bot.tenancy.repository import tenant_by_slug

    async with session_scope(services.sessions) as session:
        tenant = await tenant_by_slug(session, services.settings.tenant_slug)
    return tenant.id if tenant else None


def jobs(scheduler: Scheduler, services: Services) -> None:
    async def tick() -> None:
        from bot.automation.actions import tick as run_tick
        from bot.automation.clock import SystemClock

        tenant = await tenant_id(services)
        if tenant is not None:
            await run_tick(await deps(services, tenant), tenant, SystemClock().now())

    async def refresh() -> None:
        from backend_client import CoreError
        from bot.automation import facts, profiling
        from bot.automation.clock import SystemClock
        from bot.db import session_scope

        tenant = await tenant_id(services)
        if tenant is None:
            return
        core = await services.cores.client(tenant)
        if core is not None:  # the core's history first: webhooks can be missed
            try:
                async with session_scope(services.sessions) as session:
                    await facts.backfill(core, session, tenant)
            except CoreError as exc:
                log.warning("automation_backfill_failed", error=type(exc).__name__)
        async with session_scope(services.sessions) as session:
            await profiling.refresh(session, tenant, SystemClock().now())

    scheduler.every("journeys-tick", 60, tick)
    scheduler.cron("profiles-refresh", refresh, hour=1, minute=20)
