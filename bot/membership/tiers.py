"""Consumer tiers from consumption points earned in a rolling year.

Upgrades happen at once (``upgrade_if_due`` runs inside the crediting transaction); downgrades
only when ``review_tiers`` runs at the end of a period, so a member keeps a tier he reached
until the next review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import session_scope, utcnow
from bot.membership.ledger import EARN, REVERSE
from bot.membership.ledger_models import CONSUMPTION, PointsAccount, PointsLedger
from bot.membership.loyalty_config import LoyaltyConfig
from bot.membership.models import Member

YEAR = timedelta(days=365)


async def earned_in_year(session: AsyncSession, member_id: int, now: datetime) -> int:
    stmt = (
        select(func.coalesce(func.sum(PointsLedger.delta), 0))
        .join(PointsAccount, PointsAccount.id == PointsLedger.account_id)
        .where(
            PointsAccount.member_id == member_id,
            PointsAccount.kind == CONSUMPTION,
            PointsLedger.category.in_((EARN, REVERSE)),
            PointsLedger.created_at > now - YEAR,
            PointsLedger.created_at <= now,
        )
    )
    return max(0, int((await session.execute(stmt)).scalar_one()))


async def upgrade_if_due(
    session: AsyncSession,
    member_id: int,
    config: LoyaltyConfig,
    *,
    now: datetime | None = None,
    current: str | None = None,
) -> str | None:
    """Raise the member's tier if this year's earnings reached a higher one; the new tier code.
    ``current``: the tier the caller already read under the member lock (saves a query)."""
    now = now or utcnow()
    earned = await earned_in_year(session, member_id, now)
    if current is None:
        current = (await session.execute(select(Member.tier).where(Member.id == member_id))).scalar_one()
    return await raise_to_earned(session, member_id, config, earned, current=current, now=now)


async def raise_to_earned(
    session: AsyncSession, member_id: int, config: LoyaltyConfig, earned: int, *, current: str, now: datetime
) -> str | None:
    """Raise the member's tier to what ``earned`` (this year's earnings, already read) reaches;
    the new tier code, or None when it is not higher than ``current``."""
    target = config.tier_for(max(0, earned))
    if config.tier_rank(target.code) <= config.tier_rank(current):
        return None
    await session.execute(
        update(Member).where(Member.id == member_id).values(tier=target.code, tier_updated_at=now)
    )
    return target.code


@dataclass(frozen=True, slots=True)
class TierReview:
    members: int
    upgraded: int
    downgraded: int


async def review_tiers(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: int,
    config: LoyaltyConfig,
    *,
    now: datetime | None = None,
    batch: int = 500,
) -> TierReview:
    """Set every live consumer's tier to what the last 365 days earned (period-end job;
    idempotent: a second run changes nothing)."""
    now = now or utcnow()
    after = seen = up = down = 0
    while True:
        async with session_scope(sessions) as session:
            rows = (
                await session.execute(
                    select(Member.id, Member.tier)
                    .where(Member.tenant_id == tenant_id, Member.id > after, Member.merged_into_id.is_(None))
                    .order_by(Member.id)
                    .limit(batch)
                )
            ).all()
            for member_id, tier in rows:
                target = config.tier_for(await earned_in_year(session, member_id, now)).code
                if target != tier:
                    if config.tier_rank(target) > config.tier_rank(tier):
                        up += 1
                    else:
                        down += 1
                    await session.execute(
                        update(Member).where(Member.id == member_id).values(tier=target, tier_updated_at=now)
                    )
                after = member_id
            seen += len(rows)
        if not rows:
            return TierReview(seen, up, down)
