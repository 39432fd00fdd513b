"""Wiring of the membership layer into the app: one extension and one route hook.

Integrator (bot/app.py): ``extensions=[..., membership_extension]`` and, before the app starts,
``membership_wiring.add_routes(app)``; the chat handlers are ``bot.handlers.membership.router``.
"""

from __future__ import annotations

import aiohttp
import structlog
from aiohttp import web

from bot import keys
from bot.membership.codes import CodeKeys
from bot.membership.coupons import Coupon, CouponGateway
from bot.membership.errors import CouponFailed
from bot.membership.fraud import FraudGuard
from bot.membership.geo import IpLocator
from bot.membership.loyalty_config import ConfigCache
from bot.membership.runtime import EXTRA, MembershipRuntime
from bot.membership.scanning import Scanner
from bot.membership.settings import code_master_key, load_membership_settings, referral_secret
from bot.services import Services
from bot.web import mp_membership, referral_pages, scan
from bot.web.h5auth import HTTP_KEY

log = structlog.get_logger(__name__)

EXTRA_CORE_CLIENT = "core.client"  # a backend_client.CoreClient, when another extension made one


class CoreCouponGateway:
    """``CouponGateway`` over the core's coupon API; consumers are holders of type "consumer"."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.client = client

    @staticmethod
    def _coupon(claim) -> Coupon:  # type: ignore[no-untyped-def]
        return Coupon(
            str(claim.id),
            claim.name,
            claim.status,
            claim.amount_off_fen,
            claim.threshold_fen,
            claim.expires_at,
        )

    async def claim(self, campaign: str, member_id: int, *, idempotency_key: str) -> Coupon:
        from backend_client import errors

        try:
            answer = await self.client.coupons.claim(
                int(campaign), "consumer", member_id, idempotency_key=idempotency_key
            )
        except errors.CouponUnavailable as exc:
            raise CouponFailed(getattr(exc, "reason", "") or "unavailable") from exc
        except (errors.NotFound, ValueError) as exc:
            raise CouponFailed("unavailable") from exc
        except errors.CoreError as exc:
            raise CouponFailed("busy") from exc
        return self._coupon(answer)

    async def coupons_of(self, member_id: int) -> list[Coupon]:
        page = await self.client.coupons.for_holder("consumer", member_id, limit=50)
        return [self._coupon(c) for c in page.items]


def _http(app: web.Application) -> aiohttp.ClientSession:
    session = app.get(keys.HTTP)
    if session is None:
        session = aiohttp.ClientSession()
        app[keys.HTTP] = session

        async def close(_app: web.Application) -> None:
            await session.close()

        app.on_cleanup.append(close)
    return session


def _coupons(app: web.Application, services: Services) -> CouponGateway | None:
    client = services.extras.get(EXTRA_CORE_CLIENT)
    settings = services.settings
    if client is None and settings.core_url:
        from backend_client.client import CoreClient

        client = CoreClient(_http(app), settings.core_url, settings.core_api_key)
    return CoreCouponGateway(client) if client is not None else None


async def membership_extension(app: web.Application, services: Services) -> None:
    settings = load_membership_settings()
    master, derived = code_master_key(settings, services.settings.secret_key)
    if derived:
        log.warning(
            "bottle_code_key_derived_from_secret_key", hint="set JIUBOT_CODE_KEY before printing codes"
        )
    code_keys = CodeKeys(master)
    guard = FraudGuard(services.redis, services.keys)
    configs = ConfigCache(services.sessions, settings.config_cache_seconds)
    locator = IpLocator.from_csv(settings.ip_city_table) if settings.ip_city_table else IpLocator()
    scanner = Scanner(services.sessions, code_keys, guard, configs, locator)
    secret = referral_secret(services.settings.secret_key)
    app[HTTP_KEY] = _http(app)
    services.extras[EXTRA] = MembershipRuntime(
        scanner=scanner,
        keys=code_keys,
        guard=guard,
        configs=configs,
        settings=settings,
        referral_secret=secret,
        base_url=settings.code_base_url or services.settings.public_base_url,
        coupons=_coupons(app, services),
    )


def add_routes(app: web.Application) -> None:
    """H5 pages (/c/, /h5/oauth, /r/) and the mini-program membership API (/mp/api/...)."""
    app.router.add_routes(scan.routes)
    app.router.add_routes(referral_pages.routes)
    app.router.add_routes(mp_membership.routes)
