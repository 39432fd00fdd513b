"""Campaign sends at scale: recipients materialised as rows, claimed in batches by any number of
worker processes, one message per (campaign, member), resumable after a crash.

* ``materialise``: one ``INSERT ... SELECT`` of the audience (following the OA, not opted out,
  active, not in the global holdout), unique per (campaign, member): running it twice adds nobody.
* ``claim``: ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n)`` on PostgreSQL
  (serial ``BEGIN IMMEDIATE`` on SQLite) leases a batch; a dead worker's lease runs out and the
  rows go to whoever claims next.
* ``send``: the per-member marketing cap, then the notifier with key ``campaign:<id>:<member>``
  (the outbound log refuses a key twice; WeChat calls go through the shared rate limiter).
  A row whose message was claimed in the outbound log by a worker that died before WeChat
  answered is ``unknown``: it may have been delivered, so it is never sent again (at most once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation import holdout
from bot.automation import repository as repo
from bot.automation.audience import Audience
from bot.automation.audience import members as audience_members
from bot.automation.interface import Deps
from bot.automation.models import Campaign, CampaignRecipient
from bot.db import insert_ignore, insert_ignore_statement, is_postgres, session_scope, utcnow
from bot.membership.models import Member, MemberIdentity
from bot.ports import Purpose, Recipient

DONE = ("sent", "unreachable", "suppressed", "unknown")


@dataclass(frozen=True)
class Progress:
    total: int
    pending: int
    claimed: int
    sent: int
    unreachable: int
    suppressed: int
    unknown: int

    @property
    def finished(self) -> int:
        return self.sent + self.unreachable + self.suppressed + self.unknown


async def create(session: AsyncSession, tenant_id: int, name: str, text: str) -> int:
    await session.execute(
        insert_ignore(
            session,
            Campaign.__table__,
            [{"tenant_id": tenant_id, "name": name, "text": text, "created_at": utcnow()}],
            index_elements=["tenant_id", "name"],
        )
    )
    return (
        await session.execute(
            select(Campaign.id).where(Campaign.tenant_id == tenant_id, Campaign.name == name)
        )
    ).scalar_one()


async def materialise(
    session: AsyncSession,
    tenant_id: int,
    campaign_id: int,
    appid: str,
    *,
    role: str | None = None,
    audience: Audience | None = None,
    holdout_share: float = 0.05,
) -> int:
    """Add the audience as recipient rows; returns how many rows the campaign has now."""
    q = (
        select(Member.id, MemberIdentity.openid)
        .join(MemberIdentity, MemberIdentity.member_id == Member.id)
        .where(
            Member.tenant_id == tenant_id,
            Member.status == "active",
            Member.push_opt_out.is_(False),
            MemberIdentity.appid == appid,
            MemberIdentity.following.is_(True),
        )
    )
    if role:
        q = q.where(Member.role == role)
    if audience is not None:  # profile conditions (opted-out and inactive members never match)
        q = audience_members(tenant_id, audience, appid)
        if role:
            q = q.where(Member.role == role)
    rows = [
        {
            "campaign_id": campaign_id,
            "member_id": m,
            "appid": appid,
            "openid": o,
            "status": "pending",
            "reason": "",
        }
        for m, o in await session.execute(q)
        if not holdout.in_global_holdout(tenant_id, f"member:{m}", holdout_share)
    ]
    stmt = insert_ignore_statement(
        session, CampaignRecipient.__table__, index_elements=["campaign_id", "member_id"]
    )
    for i in range(0, len(rows), 1000):
        await session.execute(stmt, rows[i : i + 1000])
    return (
        await session.execute(select(func.count()).where(CampaignRecipient.campaign_id == campaign_id))
    ).scalar_one()


async def claim(
    session: AsyncSession, campaign_id: int, limit: int, lease_seconds: int
) -> list[CampaignRecipient]:
    real = utcnow()
    todo = (
        select(CampaignRecipient.id)
        .where(
            CampaignRecipient.campaign_id == campaign_id,
            (CampaignRecipient.status == "pending")
            | and_(CampaignRecipient.status == "claimed", CampaignRecipient.lease_until < real),
        )
        .order_by(CampaignRecipient.id)
        .limit(limit)
    )
    if is_postgres(session):
        todo = todo.with_for_update(skip_locked=True)
    ids = [
        r[0]
        for r in await session.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.id.in_(todo.scalar_subquery()))
            .values(status="claimed", lease_until=real + timedelta(seconds=lease_seconds))
            .returning(CampaignRecipient.id)
            .execution_options(synchronize_session=False)
        )
    ]
    if not ids:
        return []
    rows = await session.execute(select(CampaignRecipient).where(CampaignRecipient.id.in_(ids)))
    return sorted(rows.scalars(), key=lambda r: r.id)


async def _finish(deps: Deps, row_id: int, status: str, reason: str = "") -> None:
    async with session_scope(deps.sessions) as session:
        await session.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.id == row_id, CampaignRecipient.status == "claimed")
            .values(status=status, reason=reason[:200], finished_at=utcnow(), lease_until=None)
        )


async def send_one(
    deps: Deps, tenant_id: int, campaign: Campaign, row: CampaignRecipient, now: datetime
) -> str:
    key = f"campaign:{campaign.id}:{row.member_id}"
    async with session_scope(deps.sessions) as session:
        state = await repo.member_state(session, row.member_id)
        if state is None or state[0] or state[1] != "active":
            status, reason = "suppressed", "opted_out"
        elif not await repo.take_cap(
            session,
            tenant_id,
            row.member_id,
            key,
            f"campaign:{campaign.name}",
            now,
            cap=deps.policy.cap,
            days=deps.policy.cap_days,
        ):
            status, reason = "suppressed", "frequency_cap"
        else:
            status, reason = "", ""
    if status:
        await _finish(deps, row.id, status, reason)
        return status
    assert deps.notifier is not None
    delivery = await deps.notifier.notify(
        Recipient(row.appid, row.openid, row.member_id), Purpose.MARKETING, key=key, text=campaign.text
    )
    if delivery.delivered:
        status = "sent"
    elif delivery.reason == "duplicate":
        # an earlier worker claimed this message in the outbound log: sent, or lost mid-flight
        status = "sent" if delivery.msgid or delivery.channel not in ("none", "") else "unknown"
    else:
        status, reason = "unreachable", delivery.reason or "undeliverable"
        async with session_scope(deps.sessions) as session:
            await repo.give_back_cap(session, tenant_id, key)
    await _finish(deps, row.id, status, reason)
    return status


async def run_worker(
    deps: Deps,
    tenant_id: int,
    campaign_id: int,
    *,
    now: Callable[[], datetime],
    batch: int = 200,
    concurrency: int = 20,
    lease_seconds: int = 60,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Send until no recipient is left to claim; returns how many this worker finished. Waits
    (never drops) while quiet hours last."""
    async with session_scope(deps.sessions) as session:
        campaign = (await session.execute(select(Campaign).where(Campaign.id == campaign_id))).scalar_one()
    finished = 0
    gate = asyncio.Semaphore(concurrency)
    while True:
        at = now()
        if deps.policy.quiet.quiet(at):
            await asyncio.sleep(min(60.0, (deps.policy.quiet.release(at) - at).total_seconds()))
            continue
        async with session_scope(deps.sessions) as session:
            rows = await claim(session, campaign_id, batch, lease_seconds)
            left = (await progress(session, campaign_id)).claimed if not rows else 0
        if not rows:
            if not left:
                return finished
            # rows leased by another worker: finished by it, or ours when its lease runs out
            await asyncio.sleep(min(1.0, lease_seconds / 4))
            continue

        async def one(row: CampaignRecipient, at: datetime = at) -> None:
            async with gate:
                await send_one(deps, tenant_id, campaign, row, at)

        await asyncio.gather(*(one(r) for r in rows))
        finished += len(rows)
        if on_progress is not None:
            on_progress(len(rows))


async def progress(session: AsyncSession, campaign_id: int) -> Progress:
    counts = dict(
        (
            await session.execute(
                select(CampaignRecipient.status, func.count())
                .where(CampaignRecipient.campaign_id == campaign_id)
                .group_by(CampaignRecipient.status)
            )
        ).all()
    )
    return Progress(
        total=sum(counts.values()),
        pending=counts.get("pending", 0),
        claimed=counts.get("claimed", 0),
        sent=counts.get("sent", 0),
        unreachable=counts.get("unreachable", 0),
        suppressed=counts.get("suppressed", 0),
        unknown=counts.get("unknown", 0),
    )
