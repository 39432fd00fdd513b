"""Folding one member into another (same person seen through two apps or two phones).

Both member rows are locked (in id order, so two merges cannot deadlock) before anything
moves; every operation that posts points for a member takes the same lock first
(``actions.lock_member``), so a scan running at the same moment waits and then lands on the
survivor. Ledger rows move with their accounts and both balances are recomputed from the
ledger; the merged account is closed, so a stray posting to it fails instead of vanishing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from bot.db import is_postgres, rowcount, utcnow
from bot.membership import ledger
from bot.membership.code_models import CodeRedemption, CodeRepeatScan, FraudFlag, ScanRejection
from bot.membership.errors import MergeRefused
from bot.membership.ledger_models import PointsAccount, PointsLedger
from bot.membership.models import Member, MemberIdentity, MemberMerge
from bot.membership.reward_models import CouponClaim, RedemptionOrder, Referral


@dataclass(frozen=True, slots=True)
class MergeReport:
    merge_id: int
    survivor_id: int
    merged_id: int
    balances: dict[str, int]  # kind -> survivor balance after the merge


async def _lock_members(session: AsyncSession, ids: list[int]) -> dict[int, Member]:
    stmt = select(Member).where(Member.id.in_(sorted(ids))).order_by(Member.id)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    rows = (await session.execute(stmt.execution_options(populate_existing=True))).scalars().all()
    return {m.id: m for m in rows}


async def merge_members(
    session: AsyncSession,
    survivor_id: int,
    merged_id: int,
    *,
    reason: str,
    now: datetime | None = None,
) -> MergeReport:
    now = now or utcnow()
    if survivor_id == merged_id:
        raise MergeRefused("a member cannot be merged into itself")
    members = await _lock_members(session, [survivor_id, merged_id])
    survivor, merged = members.get(survivor_id), members.get(merged_id)
    if survivor is None or merged is None:
        raise MergeRefused("unknown member")
    if survivor.tenant_id != merged.tenant_id:
        raise MergeRefused("members of different tenants")
    if survivor.merged_into_id is not None or merged.merged_into_id is not None:
        raise MergeRefused("one of the members was already merged")
    moved: dict[str, object] = {}
    balances: dict[str, int] = {}
    accounts = (
        (await session.execute(select(PointsAccount).where(PointsAccount.member_id == merged_id)))
        .scalars()
        .all()
    )
    for account in accounts:
        target = await ledger.account_for(session, survivor.tenant_id, account.kind, member_id=survivor_id)
        for account_id in sorted((account.id, target)):
            await ledger.lock_account(session, account_id)
        rows = await session.execute(
            update(PointsLedger).where(PointsLedger.account_id == account.id).values(account_id=target)
        )
        await session.execute(
            update(RedemptionOrder).where(RedemptionOrder.account_id == account.id).values(account_id=target)
        )
        total = select(func.coalesce(func.sum(PointsLedger.delta), 0)).where(
            PointsLedger.account_id == target
        )
        await session.execute(
            update(PointsAccount)
            .where(PointsAccount.id == target)
            .values(balance=total.scalar_subquery(), updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(PointsAccount)
            .where(PointsAccount.id == account.id)
            .values(balance=0, status="merged", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        balances[account.kind] = await ledger.balance(session, target)
        moved[f"ledger_rows_{account.kind}"] = rowcount(rows)
    moved.update(await _move_history(session, survivor.tenant_id, survivor_id, merged_id))
    # Identity keys move to the survivor (unique per tenant: clear the old holder first).
    unionid, phone = merged.unionid, merged.phone
    merged.unionid = None
    merged.phone = None
    merged.status = "merged"
    merged.merged_into_id = survivor_id
    await session.flush()
    survivor.unionid = survivor.unionid or unionid
    if survivor.phone is None and phone is not None:
        survivor.phone = phone
        survivor.phone_verified_at = merged.phone_verified_at
    survivor.push_opt_out = survivor.push_opt_out or merged.push_opt_out  # a refusal is kept
    ages = [d for d in (survivor.age_confirmed_at, merged.age_confirmed_at) if d is not None]
    survivor.age_confirmed_at = min(ages) if ages else None
    if survivor.role == "consumer" and merged.role != "consumer":
        survivor.role, survivor.store_id = merged.role, merged.store_id
        survivor.distributor_code, survivor.region_code = merged.distributor_code, merged.region_code
    audit = MemberMerge(
        tenant_id=survivor.tenant_id,
        survivor_id=survivor_id,
        merged_id=merged_id,
        reason=reason,
        detail=json.dumps({"moved": moved, "balances": balances}, ensure_ascii=False),
        created_at=now,
    )
    session.add(audit)
    await session.flush()
    return MergeReport(audit.id, survivor_id, merged_id, balances)


async def _move_history(session: AsyncSession, tenant_id: int, survivor: int, merged: int) -> dict[str, int]:
    counts: dict[str, int] = {}

    async def repoint(
        name: str, column: InstrumentedAttribute[int | None], *extra: ColumnElement[bool]
    ) -> None:
        table = column.class_
        result = await session.execute(
            update(table).where(column == merged, *extra).values({column.key: survivor})
        )
        counts[name] = rowcount(result)

    await repoint("identities", MemberIdentity.member_id)
    await repoint("redemptions", CodeRedemption.member_id)
    await repoint("repeat_scans", CodeRepeatScan.member_id)
    await repoint("rejections", ScanRejection.member_id)
    await repoint("redemption_orders", RedemptionOrder.member_id)
    await repoint("coupon_claims", CouponClaim.member_id)
    # Flags are unique per member, kind and window: the survivor's copy wins.
    theirs = aliased(FraudFlag)
    await session.execute(
        delete(FraudFlag).where(
            FraudFlag.member_id == merged,
            exists().where(
                theirs.member_id == survivor,
                theirs.kind == FraudFlag.kind,
                theirs.window_key == FraudFlag.window_key,
            ),
        )
    )
    await repoint("fraud_flags", FraudFlag.member_id)
    # Referrals: a referral between the two is now a self-referral; one inviter per invitee.
    await session.execute(
        update(Referral)
        .where(
            or_(
                and_(Referral.inviter_id == survivor, Referral.invitee_id == merged),
                and_(Referral.inviter_id == merged, Referral.invitee_id == survivor),
            ),
            Referral.status == "pending",
        )
        .values(status="refused", reason="self_after_merge")
    )
    await repoint(
        "referrals_as_inviter",
        Referral.inviter_id,
        Referral.invitee_id != survivor,
    )
    survivor_invited = (
        await session.execute(
            select(Referral.id).where(Referral.tenant_id == tenant_id, Referral.invitee_id == survivor)
        )
    ).first()
    if survivor_invited is None:
        await repoint("referrals_as_invitee", Referral.invitee_id, Referral.inviter_id != survivor)
    else:
        await session.execute(
            update(Referral)
            .where(Referral.invitee_id == merged, Referral.status == "pending")
            .values(status="refused", reason="merged_duplicate")
        )
    return counts
