"""Points rules: per-SKU points and store reward, and campaign multipliers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.membership.ledger_models import PointsCampaign, PointsRule
from bot.membership.loyalty_config import LoyaltyConfig


@dataclass(frozen=True, slots=True)
class ScanReward:
    points: int  # consumption points for the consumer
    base_points: int
    multiplier_pct: int
    campaign: str | None
    store_reward: int  # ordering points for the store that sold the bottle


async def set_rule(
    session: AsyncSession, tenant_id: int, sku: str, *, scan_points: int, store_reward: int = 0
) -> None:
    if scan_points < 0 or store_reward < 0:
        raise ValueError("points cannot be negative")
    values = {"tenant_id": tenant_id, "sku": sku, "scan_points": scan_points, "store_reward": store_reward}
    await session.execute(
        insert_ignore(session, PointsRule.__table__, [values], index_elements=["tenant_id", "sku"])
    )
    row = (
        await session.execute(
            select(PointsRule).where(PointsRule.tenant_id == tenant_id, PointsRule.sku == sku)
        )
    ).scalar_one()
    row.scan_points, row.store_reward = scan_points, store_reward
    await session.flush()


async def add_campaign(
    session: AsyncSession,
    tenant_id: int,
    name: str,
    *,
    multiplier_pct: int,
    starts_at: datetime,
    ends_at: datetime,
    sku: str | None = None,
    region_code: str | None = None,
) -> int:
    if multiplier_pct <= 0 or ends_at <= starts_at:
        raise ValueError("a campaign needs a positive multiplier and an end after its start")
    row = PointsCampaign(
        tenant_id=tenant_id,
        name=name,
        multiplier_pct=multiplier_pct,
        starts_at=starts_at,
        ends_at=ends_at,
        sku=sku,
        region_code=region_code,
    )
    session.add(row)
    await session.flush()
    return row.id


async def scan_reward(
    session: AsyncSession,
    tenant_id: int,
    sku: str,
    region_code: str | None,
    config: LoyaltyConfig,
    now: datetime,
) -> ScanReward:
    """What scanning one bottle of ``sku`` earns now: the SKU rule (or the tenant default) times
    the best running campaign (campaigns do not stack)."""
    rule = (
        await session.execute(
            select(PointsRule).where(PointsRule.tenant_id == tenant_id, PointsRule.sku == sku)
        )
    ).scalar_one_or_none()
    base = rule.scan_points if rule else config.scan_points_default
    store_reward = rule.store_reward if rule else config.store_reward_default
    campaigns = (
        await session.execute(
            select(PointsCampaign.name, PointsCampaign.multiplier_pct).where(
                PointsCampaign.tenant_id == tenant_id,
                PointsCampaign.starts_at <= now,
                PointsCampaign.ends_at > now,
                or_(PointsCampaign.sku.is_(None), PointsCampaign.sku == sku),
                or_(PointsCampaign.region_code.is_(None), PointsCampaign.region_code == region_code),
            )
        )
    ).all()
    best = max(campaigns, key=lambda c: c.multiplier_pct, default=None)
    pct = best.multiplier_pct if best else 100
    return ScanReward(base * pct // 100, base, pct, best.name if best else None, store_reward)


@dataclass(frozen=True, slots=True)
class _Campaign:
    name: str
    sku: str | None
    region_code: str | None
    multiplier_pct: int
    starts_at: datetime
    ends_at: datetime


class RulesCache:
    """Per-process copy of a tenant's SKU rules and running campaigns, trusted for ``ttl`` s, so
    a scan does not query them (they change a few times a year)."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._items: dict[int, tuple[float, dict[str, tuple[int, int]], list[_Campaign]]] = {}

    async def reward(
        self,
        session: AsyncSession,
        tenant_id: int,
        sku: str,
        region_code: str | None,
        config: LoyaltyConfig,
        now: datetime,
    ) -> ScanReward:
        import time

        hit = self._items.get(tenant_id)
        if hit is None or time.monotonic() - hit[0] >= self.ttl:
            rows = (
                await session.execute(select(PointsRule).where(PointsRule.tenant_id == tenant_id))
            ).scalars()
            table = {r.sku: (r.scan_points, r.store_reward) for r in rows}
            campaigns = [
                _Campaign(c.name, c.sku, c.region_code, c.multiplier_pct, c.starts_at, c.ends_at)
                for c in (
                    await session.execute(
                        select(PointsCampaign).where(
                            PointsCampaign.tenant_id == tenant_id, PointsCampaign.ends_at > now
                        )
                    )
                ).scalars()
            ]
            hit = (time.monotonic(), table, campaigns)
            self._items[tenant_id] = hit
        _, table, campaigns = hit
        base, store_reward = table.get(sku, (config.scan_points_default, config.store_reward_default))
        running = [
            c
            for c in campaigns
            if c.starts_at <= now < c.ends_at
            and c.sku in (None, sku)
            and c.region_code in (None, region_code)
        ]
        best = max(running, key=lambda c: c.multiplier_pct, default=None)
        pct = best.multiplier_pct if best else 100
        return ScanReward(base * pct // 100, base, pct, best.name if best else None, store_reward)

    def forget(self, tenant_id: int | None = None) -> None:
        if tenant_id is None:
            self._items.clear()
        else:
            self._items.pop(tenant_id, None)
