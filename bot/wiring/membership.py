"""The membership feature: bottle-code scanning, fraud guard, loyalty configs, coupons.

Onto ``services``: ``membership`` (``MembershipRuntime``), with coupons through the core when the
process has a core (``services.cores``: each tenant's own or the default; wire the core feature
before this one). Routes: the H5 scan and referral
pages and the mini-program membership API. Jobs: the nightly points audit, yearly expiry and the
period-end tier review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from bot.wiring.feature import Runtime

if TYPE_CHECKING:
    from aiohttp import web

    from bot.membership.coupons import Coupon
    from bot.scheduler import Scheduler
    from bot.services import Services
    from bot.tenancy.cores import CoreDirectory

log = structlog.get_logger(__name__)


class CoreCouponGateway:
    """``CouponGateway`` over each tenant's core coupon API; consumers are holders of type
    "consumer"."""

    def __init__(self, cores: CoreDirectory) -> None:
        self.cores = cores

    @staticmethod
    def _coupon(claim: object) -> Coupon:
        from backend_client.models import CouponClaim
        from bot.membership.coupons import Coupon

        assert isinstance(claim, CouponClaim)
        return Coupon(
            str(claim.id),
            claim.name,
            claim.status,
            claim.amount_off_fen,
            claim.threshold_fen,
            claim.expires_at,
        )

    async def claim(self, tenant_id: int, campaign: str, member_id: int, *, idempotency_key: str) -> Coupon:
        from backend_client import errors
        from bot.membership.errors import CouponFailed

        try:
            client = await self.cores.require(tenant_id)
            answer = await client.coupons.claim(
                int(campaign), "consumer", member_id, idempotency_key=idempotency_key
            )
        except errors.CouponUnavailable as exc:
            raise CouponFailed(getattr(exc, "reason", "") or "unavailable") from exc
        except (errors.NotFound, ValueError) as exc:
            raise CouponFailed("unavailable") from exc
        except errors.CoreError as exc:
            raise CouponFailed("busy") from exc
        return self._coupon(answer)

    async def coupons_of(self, tenant_id: int, member_id: int) -> list[Coupon]:
        client = await self.cores.require(tenant_id)
        page = await client.coupons.for_holder("consumer", member_id, limit=50)
        return [self._coupon(c) for c in page.items]


async def setup(runtime: Runtime) -> None:
    from bot.membership.codes import CodeKeys
    from bot.membership.fraud import FraudGuard
    from bot.membership.geo import IpLocator
    from bot.membership.loyalty_config import ConfigCache
    from bot.membership.runtime import MembershipRuntime
    from bot.membership.scanning import Scanner
    from bot.membership.settings import code_base_url, code_master_key, referral_secret

    services, settings = runtime.services, runtime.settings
    master, derived = code_master_key(settings)
    if derived:
        log.warning(
            "bottle_code_key_derived_from_secret_key", hint="set JIUBOT_CODE_KEY before printing codes"
        )
    code_keys = CodeKeys(master)
    guard = FraudGuard(services.redis, services.keys)
    configs = ConfigCache(services.sessions, settings.config_cache_seconds)
    locator = IpLocator.from_csv(settings.ip_city_table) if settings.ip_city_table else IpLocator()
    services.membership = MembershipRuntime(
        scanner=Scanner(services.sessions, code_keys, guard, configs, locator, hooks=services.hooks),
        keys=code_keys,
        guard=guard,
        configs=configs,
        settings=settings,
        referral_secret=referral_secret(settings.secret_key),
        base_url=code_base_url(settings),
        coupons=CoreCouponGateway(services.cores) if services.cores.configured else None,
        hooks=services.hooks,
    )


def routes(app: web.Application) -> None:
    """H5 pages (/c/, /h5/oauth, /r/) and the mini-program membership API (/mp/api/...)."""
    from bot.miniapp.routes import add_membership_routes
    from bot.web import referral_pages, scan

    app.router.add_routes(scan.routes)
    app.router.add_routes(referral_pages.routes)
    add_membership_routes(app)  # scan, points, member, referral, rewards, coupons


def jobs(scheduler: Scheduler, services: Services) -> None:
    from bot.membership import jobs as membership_jobs

    sessions = services.sessions
    scheduler.cron("points-audit", lambda: membership_jobs.nightly_audit(sessions), hour=2, minute=40)
    scheduler.cron(
        "points-expiry", lambda: membership_jobs.yearly_expiry(sessions), month=1, day=1, hour=3, minute=30
    )
    scheduler.cron(
        "tier-review", lambda: membership_jobs.period_tier_review(sessions), month=1, day=1, hour=4, minute=0
    )
