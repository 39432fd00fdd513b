"""Who enters a journey at ``now``: the trigger's segment, minus anyone already in it (or not
allowed back yet), minus opted-out members; then the arm (global holdout, journey control,
treatment) is fixed by hash before any rate limit or cap."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation import holdout, replenish
from bot.automation.definitions import Journey
from bot.automation.interface import Policy
from bot.automation.models import Enrolment, OrderFact, Profile
from bot.automation.profiling import store_owners
from bot.db import insert_ignore
from bot.membership.code_models import CodeRedemption
from bot.membership.models import Member, MemberIdentity


async def _lapsed_stores(
    session: AsyncSession, tenant_id: int, journey: Journey, now: datetime
) -> dict[str, datetime]:
    days = journey.trigger.lapsed_days or 0
    oldest = now - timedelta(days=days + journey.trigger.within_days)
    newest = now - timedelta(days=days)
    last = func.max(OrderFact.ordered_at)
    rows = await session.execute(
        select(OrderFact.store_code, last)
        .where(OrderFact.tenant_id == tenant_id, OrderFact.status != "cancelled", OrderFact.ordered_at <= now)
        .group_by(OrderFact.store_code)
        .having(and_(last <= newest, last > oldest))
    )
    return {code: at for code, at in rows}


async def candidates(
    session: AsyncSession, tenant_id: int, journey: Journey, now: datetime
) -> dict[str, tuple[int | None, datetime | None]]:
    """subject -> (member who hears from us, the time of the fact that put it in the segment)."""
    trig = journey.trigger
    if trig.lapsed_days is not None:
        lapsed = await _lapsed_stores(session, tenant_id, journey, now)
        owners = await store_owners(session, tenant_id)
        return {f"store:{code}": (owners.get(code), at) for code, at in lapsed.items()}
    if trig.replenish:
        window = now - timedelta(days=1)
        due = [
            p
            for p in replenish.predict(await replenish.facts_of(session, tenant_id, until=now))
            if window < p.nudge_at <= now
        ]
        owners = await store_owners(session, tenant_id)
        latest: dict[str, datetime] = {}
        for p in due:
            latest[p.store] = max(latest.get(p.store, p.last_at), p.last_at)
        return {f"store:{code}": (owners.get(code), at) for code, at in latest.items()}
    if trig.aroma is not None:
        kind = "store" if journey.subject == "store" else "consumer"
        rows = await session.execute(
            select(Profile.subject, Profile.member_id, Profile.last_order_at).where(
                Profile.tenant_id == tenant_id, Profile.kind == kind, Profile.top_aroma == trig.aroma
            )
        )
        return {s: (m, at) for s, m, at in rows}
    since = now - timedelta(days=1)
    if trig.event == "first_scan":
        first = func.min(CodeRedemption.scanned_at)
        scans = await session.execute(
            select(CodeRedemption.member_id, first)
            .where(CodeRedemption.tenant_id == tenant_id)
            .group_by(CodeRedemption.member_id)
            .having(and_(first > since, first <= now))
        )
        return {f"member:{m}": (m, at) for m, at in scans}
    if trig.event == "new_follower":
        follows = await session.execute(
            select(MemberIdentity.member_id, func.min(MemberIdentity.subscribed_at))
            .where(
                MemberIdentity.tenant_id == tenant_id,
                MemberIdentity.following.is_(True),
                MemberIdentity.subscribed_at > since,
                MemberIdentity.subscribed_at <= now,
            )
            .group_by(MemberIdentity.member_id)
        )
        return {f"member:{m}": (m, at) for m, at in follows}
    return {}


async def enrol(
    session: AsyncSession, tenant_id: int, journey: Journey, now: datetime, policy: Policy
) -> int:
    found = await candidates(session, tenant_id, journey, now)
    if not found:
        return 0
    history: dict[str, list[Enrolment]] = defaultdict(list)
    rows = await session.execute(
        select(Enrolment).where(
            Enrolment.tenant_id == tenant_id,
            Enrolment.journey == journey.name,
            Enrolment.subject.in_(list(found)),  # the segment's, not the journey's whole history
        )
    )
    for e in rows.scalars():
        history[e.subject].append(e)
    members = [m for m, _ in found.values() if m is not None]
    opted = set()
    if members:
        opted = {
            m
            for (m,) in await session.execute(
                select(Member.id).where(Member.id.in_(members), Member.push_opt_out.is_(True))
            )
        }
    entered = 0
    for subject, (member_id, fact_at) in sorted(found.items()):
        past = history.get(subject, [])
        if past:
            if any(e.state == "active" for e in past) or journey.reentry_days is None:
                continue
            last = max(past, key=lambda e: e.cycle)
            ended = last.ended_at or last.entered_at
            if ended > now - timedelta(days=journey.reentry_days):
                continue
            repeats = journey.trigger.lapsed_days is not None or journey.trigger.replenish
            if fact_at is not None and fact_at <= last.entered_at and repeats:
                continue  # the same lapse (or reorder cycle) as last time, not a new one
        if member_id is not None and member_id in opted:
            continue
        arm = holdout.arm(tenant_id, journey.name, subject, holdout=policy.holdout, control=journey.control)
        goal_until = now + timedelta(days=journey.goal_days)
        treated = arm == holdout.TREATMENT
        result = await session.execute(
            insert_ignore(
                session,
                Enrolment.__table__,
                [
                    {
                        "tenant_id": tenant_id,
                        "journey": journey.name,
                        "version": journey.version,
                        "subject": subject,
                        "member_id": member_id,
                        "cycle": len(past),
                        "arm": arm,
                        "state": "active",
                        "step": journey.first if treated else "",
                        "due_at": now if treated else goal_until,
                        "entered_at": now,
                        "goal_until": goal_until,
                        "exit_reason": "",
                        "revenue_fen": 0,
                        "coupon_cost_fen": 0,
                    }
                ],
                index_elements=["tenant_id", "journey", "subject", "cycle"],
            ).returning(Enrolment.__table__.c.id)
        )
        entered += len(result.all())
    return entered
