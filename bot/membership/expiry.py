"""Points expiry as ledger rows.

Points earned in year Y expire at the end of year Y + ``expiry_years_after`` (Asia/Shanghai).
Spending uses the oldest points first, so at that moment whatever balance exceeds the points
earned after Y is old and expires: ``expire = max(0, balance_at_T - fresh_since_Y)``. The row
is keyed ``expiry:<account>:<Y>``, so running the job twice (or on two workers) expires once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import session_scope, utcnow
from bot.membership import ledger
from bot.membership.ledger import EARN, EXPIRE, REVERSE, Posting
from bot.membership.ledger_models import PointsAccount, PointsLedger

TZ = ZoneInfo("Asia/Shanghai")


def year_end(year: int) -> datetime:
    """The last instant of ``year`` in China, as an aware datetime."""
    return datetime(year + 1, 1, 1, tzinfo=TZ)


@dataclass(frozen=True, slots=True)
class ExpiryRun:
    year: int
    accounts: int
    expired_accounts: int
    points: int


async def expire_account(
    session: AsyncSession,
    tenant_id: int,
    account_id: int,
    earned_year: int,
    *,
    years_after: int,
    now: datetime,
) -> int:
    """Expire what is left of ``earned_year``'s points on one account; returns the points taken."""
    deadline = year_end(earned_year + years_after)
    if now < deadline:
        return 0
    account = await ledger.lock_account(session, account_id)  # stable sums while we compute
    if account.status != "open":
        return 0
    balance_then = await ledger.ledger_sum(session, account_id, until=deadline)
    fresh = (
        await session.execute(
            select(func.coalesce(func.sum(PointsLedger.delta), 0)).where(
                PointsLedger.account_id == account_id,
                PointsLedger.category.in_((EARN, REVERSE)),
                PointsLedger.created_at >= year_end(earned_year),
                PointsLedger.created_at < deadline,
            )
        )
    ).scalar_one()
    amount = min(max(0, balance_then - max(0, int(fresh))), account.balance)
    if amount <= 0:
        return 0
    posted = await ledger.post(
        session,
        tenant_id,
        Posting(
            account_id,
            -amount,
            EXPIRE,
            "expiry",
            f"{account_id}:{earned_year}",
            note=f"{earned_year}年积分到期",
        ),
        now=now,
    )
    return amount if posted else 0


async def run_expiry(
    sessions: async_sessionmaker[AsyncSession],
    earned_year: int,
    *,
    years_after: int = 1,
    tenant_id: int | None = None,
    now: datetime | None = None,
    batch: int = 500,
) -> ExpiryRun:
    """Expire ``earned_year`` on every account, one short transaction per account."""
    now = now or utcnow()
    after, accounts, hit, points = 0, 0, 0, 0
    while True:
        async with session_scope(sessions) as session:
            stmt = select(PointsAccount.id, PointsAccount.tenant_id).where(
                PointsAccount.id > after, PointsAccount.status == "open"
            )
            if tenant_id is not None:
                stmt = stmt.where(PointsAccount.tenant_id == tenant_id)
            rows = (await session.execute(stmt.order_by(PointsAccount.id).limit(batch))).all()
        if not rows:
            return ExpiryRun(earned_year, accounts, hit, points)
        for account_id, account_tenant in rows:
            async with session_scope(sessions) as session:
                taken = await expire_account(
                    session, account_tenant, account_id, earned_year, years_after=years_after, now=now
                )
            accounts += 1
            hit += 1 if taken else 0
            points += taken
            after = account_id
