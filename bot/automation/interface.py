"""What the automation domain offers and needs, as frozen values and small protocols."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.automation.errors import AutomationError
from bot.automation.profiles import LifecycleRules
from bot.automation.quiet import QuietHours
from bot.ports import PushNotifier


@dataclass(frozen=True)
class Policy:
    """Deployment knobs: global holdout share, quiet hours, the per-member marketing cap
    (``cap`` messages per ``cap_days`` rolling days, every journey, campaign and channel)."""

    holdout: float = 0.05
    quiet: QuietHours = field(default_factory=QuietHours)
    cap: int = 2
    cap_days: int = 7
    lease_seconds: int = 120
    batch: int = 100
    lifecycle: LifecycleRules = field(default_factory=LifecycleRules)


@dataclass(frozen=True)
class IssuedCoupon:
    claim_id: str
    name: str
    value_fen: int  # the face value (amount off, or the percent coupon's cap), for the cost report


class CouponRefused(AutomationError):
    """The core will not issue it (out of stock, limit reached): recorded, never retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CouponRetry(AutomationError):
    """The core could not be asked now: the step stays due and runs again with the same key."""


class CouponIssuer(Protocol):
    async def issue(
        self, campaign: int, holder_type: str, holder_id: str, *, idempotency_key: str
    ) -> IssuedCoupon: ...


@dataclass(frozen=True)
class Deps:
    sessions: async_sessionmaker[AsyncSession]
    texts: Environment
    notifier: PushNotifier | None
    coupons: CouponIssuer | None
    oa_appids: Callable[[], list[str]]
    policy: Policy = field(default_factory=Policy)
    worker: str = ""


@dataclass(frozen=True)
class TickReport:
    at: str
    enrolled: int
    exited: int
    completed: int
    steps: int
