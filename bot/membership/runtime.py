"""The membership objects a running app shares (built by the web extension, read by handlers
and pages as ``services.membership``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.hooks import Hooks
from bot.membership.codes import CodeKeys
from bot.membership.coupons import Coupon, CouponGateway, claim
from bot.membership.errors import CouponFailed
from bot.membership.fraud import FraudGuard
from bot.membership.interface import ScanResult
from bot.membership.loyalty_config import ConfigCache
from bot.membership.scanning import Scanner


@dataclass
class MembershipRuntime:
    scanner: Scanner
    keys: CodeKeys
    guard: FraudGuard
    configs: ConfigCache
    settings: Settings
    referral_secret: bytes
    base_url: str  # where printed codes and share links point
    coupons: CouponGateway | None = None
    hooks: Hooks | None = None  # follows, scans, coupons ... told to the features that listen

    def code_url(self, code: str) -> str:
        return f"{self.base_url}/c/{code}"

    async def after_scan(self, tenant_id: int, member_id: int, result: ScanResult) -> Coupon | None:
        """Rewards that live outside the scan transaction: the first-scan coupon from the core
        (idempotent by campaign + member, so a retry claims nothing twice). Best effort."""
        if not result.first_scan or self.coupons is None:
            return None
        campaign = (await self.configs.get(tenant_id)).first_scan_coupon_campaign
        if not campaign:
            return None
        try:
            return await claim(
                self.scanner.sessions,
                self.coupons,
                tenant_id,
                member_id,
                campaign,
                source="scan_reward",
                hooks=self.hooks,
            )
        except CouponFailed:
            return None
