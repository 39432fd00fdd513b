"""Scheduled loyalty work, run by the scheduler (one process per fire, see bot/scheduler.py):

- every night, the ledger audit (balance == sum(ledger)); a mismatch is logged as an error and
  counted, for the operator to investigate (the same check as ``jiubot points audit``);
- on 1 January (Asia/Shanghai), points earned ``expiry_years_after + 1`` years ago expire, per
  tenant, idempotently;
- on 1 January, the period-end tier review (downgrades happen only here; upgrades are immediate).
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from prometheus_client import Gauge
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import session_scope
from bot.membership import expiry, ledger, loyalty_config, tiers
from bot.tenancy.models import Tenant

log = structlog.get_logger(__name__)
AUDIT_MISMATCHES = Gauge("jiubot_points_audit_mismatches", "Accounts whose balance differs from their ledger")


async def _tenants(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with session_scope(sessions) as session:
        return list((await session.execute(select(Tenant.id))).scalars())


async def nightly_audit(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(sessions) as session:
        checked, bad = await ledger.audit(session)
    AUDIT_MISMATCHES.set(len(bad))
    for m in bad:
        log.error(
            "points_audit_mismatch",
            account=m.account_id,
            tenant=m.tenant_id,
            kind=m.kind,
            balance=m.balance,
            ledger_sum=m.ledger_sum,
        )
    log.info("points_audit", accounts=checked, mismatched=len(bad))
    return len(bad)


async def yearly_expiry(sessions: async_sessionmaker[AsyncSession], *, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    expired = 0
    for tenant_id in await _tenants(sessions):
        async with session_scope(sessions) as session:
            config = await loyalty_config.load(session, tenant_id)
        year = now.astimezone(expiry.TZ).year - 1 - config.expiry_years_after
        result = await expiry.run_expiry(
            sessions, year, years_after=config.expiry_years_after, tenant_id=tenant_id, now=now
        )
        expired += result.points
        log.info(
            "points_expired",
            tenant=tenant_id,
            earned_year=year,
            points=result.points,
            accounts=result.expired_accounts,
        )
    return expired


async def period_tier_review(sessions: async_sessionmaker[AsyncSession]) -> None:
    for tenant_id in await _tenants(sessions):
        async with session_scope(sessions) as session:
            config = await loyalty_config.load(session, tenant_id)
        review = await tiers.review_tiers(sessions, tenant_id, config)
        log.info(
            "tiers_reviewed",
            tenant=tenant_id,
            members=review.members,
            up=review.upgraded,
            down=review.downgraded,
        )
