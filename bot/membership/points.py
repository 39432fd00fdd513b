"""Member-facing points operations on top of ``ledger``: credit a member, read balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.membership import ledger
from bot.membership.actions import lock_member
from bot.membership.ledger import Posting
from bot.membership.ledger_models import CONSUMPTION, ORDERING, PointsAccount, PointsLedger
from bot.membership.models import Member


@dataclass(frozen=True, slots=True)
class LedgerLine:
    delta: int
    category: str
    source_kind: str
    note: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PointsSummary:
    member_id: int
    consumption: int
    ordering: int  # the member's store's ordering points (store owners and staff), else 0
    tier: str


async def credit_member(
    session: AsyncSession,
    tenant_id: int,
    member_id: int,
    *,
    kind: str,
    delta: int,
    category: str,
    source_kind: str,
    source_id: str,
    note: str = "",
    now: datetime | None = None,
) -> tuple[int, bool]:
    """Post to the member's own account of ``kind``; (the live member id, posted?)."""
    member_id = await lock_member(session, member_id)
    account = await ledger.account_for(session, tenant_id, kind, member_id=member_id, now=now)
    posted = await ledger.post(
        session, tenant_id, Posting(account, delta, category, source_kind, source_id, note), now=now
    )
    return member_id, posted


async def summary(session: AsyncSession, member_id: int) -> PointsSummary:
    member = (await session.execute(select(Member).where(Member.id == member_id))).scalar_one()
    while member.merged_into_id is not None:
        member = (
            await session.execute(select(Member).where(Member.id == member.merged_into_id))
        ).scalar_one()
    own = (
        await session.execute(
            select(PointsAccount.balance).where(
                PointsAccount.member_id == member.id, PointsAccount.kind == CONSUMPTION
            )
        )
    ).scalar_one_or_none()
    store = None
    if member.store_id is not None:
        store = (
            await session.execute(
                select(PointsAccount.balance).where(
                    PointsAccount.store_id == member.store_id, PointsAccount.kind == ORDERING
                )
            )
        ).scalar_one_or_none()
    return PointsSummary(member.id, int(own or 0), int(store or 0), member.tier)


async def consumption_history(session: AsyncSession, member_id: int, limit: int = 20) -> list[LedgerLine]:
    """The newest lines of the member's own consumption points (what "积分" and the
    mini-program's points page show); [] before the first credit. ``member_id`` is the live
    member (``PointsSummary.member_id`` after merges)."""
    account = (
        await session.execute(
            select(PointsAccount.id).where(
                PointsAccount.member_id == member_id, PointsAccount.kind == CONSUMPTION
            )
        )
    ).scalar_one_or_none()
    return await history(session, account, limit=limit) if account is not None else []


async def history(session: AsyncSession, account_id: int, limit: int = 20) -> list[LedgerLine]:
    stmt = (
        select(PointsLedger)
        .where(PointsLedger.account_id == account_id)
        .order_by(PointsLedger.created_at.desc(), PointsLedger.id.desc())
        .limit(limit)
    )
    return [
        LedgerLine(r.delta, r.category, r.source_kind, r.note, r.created_at)
        for r in (await session.execute(stmt)).scalars()
    ]
