"""A tenant's loyalty knobs: points, caps, velocity, tiers, referral, expiry.

Stored as JSON in ``loyalty_configs`` (one row per tenant, missing keys take the defaults
below), edited with ``jiubot membership config``, cached per process for a few seconds so the
scan path does not read it every time.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import insert_ignore, session_scope, utcnow
from bot.membership.errors import BadConfig
from bot.membership.ledger_models import LoyaltyConfigRow


@dataclass(frozen=True, slots=True)
class Tier:
    code: str
    name: str
    threshold: int  # consumption points earned in the rolling year


DEFAULT_TIERS = (
    Tier("basic", "普通会员", 0),
    Tier("silver", "银卡会员", 1000),
    Tier("gold", "金卡会员", 5000),
    Tier("diamond", "钻石会员", 20000),
)


@dataclass(frozen=True, slots=True)
class LoyaltyConfig:
    # points
    scan_points_default: int = 10
    store_reward_default: int = 0  # 开瓶奖励 in ordering points when no SKU rule says otherwise
    order_fen_per_point: int = 100  # 1 ordering point per yuan
    # the reference core reports created, allocated, shipped, in_transit, delivered, cancelled
    order_credit_statuses: tuple[str, ...] = ("paid", "delivered", "completed")
    order_reverse_statuses: tuple[str, ...] = ("cancelled", "refunded")
    expiry_years_after: int = 1  # points earned in year Y expire at the end of Y + this
    # scanning rules
    require_activation: bool = True
    require_age_confirmation: bool = True
    daily_scan_cap: int = 10
    monthly_scan_cap: int = 60
    member_velocity: tuple[tuple[int, int], ...] = ((60, 5), (3600, 40))  # (window s, max scans)
    source_velocity: tuple[tuple[int, int], ...] = ((60, 20), (3600, 300))  # per device (see fraud.py)
    invalid_lockout_count: int = 5
    invalid_window_seconds: int = 600
    lockout_seconds: int = 1800
    pattern_window_hours: int = 24
    pattern_max_batches: int = 6
    pattern_max_regions: int = 3
    flags_block_scans: bool = False
    # anti-diversion
    diversion_enabled: bool = True
    location_max_age_hours: int = 24
    # tiers, referral
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    referral_inviter_points: int = 50
    referral_invitee_points: int = 20
    referral_monthly_cap: int = 20
    # coupons: a campaign claimed as a reward for a member's first genuine scan ("" = none)
    first_scan_coupon_campaign: str = ""
    # B-side referral: a core coupon campaign each side's store also gets (0 = points only)
    store_referral_coupon_campaign: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def tier_for(self, earned: int) -> Tier:
        best = self.tiers[0]
        for tier in self.tiers:
            if earned >= tier.threshold and tier.threshold >= best.threshold:
                best = tier
        return best

    def tier_rank(self, code: str) -> int:
        ordered = sorted(self.tiers, key=lambda t: t.threshold)
        return next((i for i, t in enumerate(ordered) if t.code == code), 0)

    def tier_name(self, code: str) -> str:
        return next((t.name for t in self.tiers if t.code == code), code)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoyaltyConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise BadConfig(f"unknown loyalty settings: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "tiers":
                tiers = tuple(Tier(**t) if isinstance(t, dict) else Tier(*t) for t in value)
                if not tiers or min(t.threshold for t in tiers) != 0:
                    raise BadConfig("tiers need a tier with threshold 0")
                values[name] = tiers
            elif name in {"member_velocity", "source_velocity"}:
                values[name] = tuple((int(w), int(n)) for w, n in value)
            elif name in {"order_credit_statuses", "order_reverse_statuses"}:
                values[name] = tuple(str(s) for s in value)
            else:
                values[name] = value
        config = replace(cls(), **values)
        config.validate()
        return config

    def validate(self) -> None:
        for name in ("scan_points_default", "daily_scan_cap", "monthly_scan_cap", "order_fen_per_point"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise BadConfig(f"{name} must be a non-negative integer")
        if self.order_fen_per_point == 0:
            raise BadConfig("order_fen_per_point must be positive")


async def load(session: AsyncSession, tenant_id: int) -> LoyaltyConfig:
    row = await session.get(LoyaltyConfigRow, tenant_id)
    return LoyaltyConfig.from_dict(json.loads(row.data)) if row else LoyaltyConfig()


async def update(session: AsyncSession, tenant_id: int, **changes: Any) -> LoyaltyConfig:
    """Change some knobs of a tenant (validated); returns the new config."""
    await session.execute(
        insert_ignore(
            session,
            LoyaltyConfigRow.__table__,
            [{"tenant_id": tenant_id, "data": "{}", "updated_at": utcnow()}],
            index_elements=["tenant_id"],
        )
    )
    stmt = select(LoyaltyConfigRow).where(LoyaltyConfigRow.tenant_id == tenant_id).with_for_update()
    row = (await session.execute(stmt)).scalar_one()
    data = json.loads(row.data)
    data.update(changes)
    config = LoyaltyConfig.from_dict(data)
    stored = json.loads(config.to_json())
    row.data = json.dumps({k: stored[k] for k in data}, ensure_ascii=False, sort_keys=True)
    row.updated_at = utcnow()
    return config


class ConfigCache:
    """Per-process cache of tenant configs, trusted for ``ttl`` seconds."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: float = 30.0) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self._items: dict[int, tuple[float, LoyaltyConfig]] = {}

    async def get(self, tenant_id: int) -> LoyaltyConfig:
        hit = self._items.get(tenant_id)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        async with session_scope(self.sessions) as session:
            config = await load(session, tenant_id)
        self._items[tenant_id] = (time.monotonic(), config)
        return config

    def forget(self, tenant_id: int | None = None) -> None:
        if tenant_id is None:
            self._items.clear()
        else:
            self._items.pop(tenant_id, None)
