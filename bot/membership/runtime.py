"""The membership objects a running app shares (built by the web extension, read by handlers
and pages from ``services.extras[EXTRA]``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.membership.codes import CodeKeys
from bot.membership.coupons import CouponGateway
from bot.membership.fraud import FraudGuard
from bot.membership.loyalty_config import ConfigCache
from bot.membership.scanning import Scanner
from bot.membership.settings import MembershipSettings

EXTRA = "membership"


@dataclass
class MembershipRuntime:
    scanner: Scanner
    keys: CodeKeys
    guard: FraudGuard
    configs: ConfigCache
    settings: MembershipSettings
    referral_secret: bytes
    base_url: str  # where printed codes and share links point
    coupons: CouponGateway | None = None

    def code_url(self, code: str) -> str:
        return f"{self.base_url}/c/{code}"
