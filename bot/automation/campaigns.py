"""Campaign sends at scale: recipients materialised as rows, claimed in batches by any number of
worker processes, one message per (campaign, member), resumable after a crash.

* ``materialise``: one ``INSERT ... SELECT`` of the audience (following the OA, not opted out,
  active, not in the global holdout), unique per (campaign, member): running it twice adds nobody.
* sending: bot/automation/sending.py (batches claimed with ``FOR UPDATE SKIP LOCKED``, sent
  concurrently, recorded in one transaction per batch; the crash rule is documented there).
* ``materialise_members``: the same rules over an explicit list of member ids (a regional
  campaign's announcement to its target stores' people).
* ``progress``: rows by state, for the CLI's bar and the console.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation import holdout
from bot.automation.audience import Audience
from bot.automation.audience import members as audience_members
from bot.automation.models import Campaign, CampaignRecipient
from bot.db import insert_ignore, insert_ignore_statement, utcnow
from bot.membership.models import Member, MemberIdentity

DONE = ("sent", "unreachable", "suppressed", "unknown")  # final states of a recipient row


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
    await _insert_campaign(session, tenant_id, name, text)
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
    return await _insert(session, tenant_id, campaign_id, appid, q, holdout_share)


async def materialise_members(
    session: AsyncSession,
    tenant_id: int,
    campaign_id: int,
    appid: str,
    member_ids: Sequence[int],
    *,
    holdout_share: float = 0.05,
) -> int:
    """Add exactly these members as recipient rows, under ``materialise``'s rules (following the
    OA, active, not opted out, not in the global holdout; the frequency cap is checked when a
    worker claims the row); returns how many rows the campaign has now."""
    q = (
        select(Member.id, MemberIdentity.openid)
        .join(MemberIdentity, MemberIdentity.member_id == Member.id)
        .where(
            Member.tenant_id == tenant_id,
            Member.id.in_(list(member_ids)),
            Member.status == "active",
            Member.push_opt_out.is_(False),
            MemberIdentity.appid == appid,
            MemberIdentity.following.is_(True),
        )
    )
    return await _insert(session, tenant_id, campaign_id, appid, q, holdout_share)


async def _insert(
    session: AsyncSession, tenant_id: int, campaign_id: int, appid: str, q: Any, holdout_share: float
) -> int:
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


async def create_once(session: AsyncSession, tenant_id: int, name: str, text: str) -> int | None:
    """Create the campaign and return its id; None when one of that name exists (a concurrent
    creator's insert waits on the unique name until the first commits, then inserts nothing)."""
    return await _insert_campaign(session, tenant_id, name, text)


async def _insert_campaign(session: AsyncSession, tenant_id: int, name: str, text: str) -> int | None:
    stmt = insert_ignore(
        session,
        Campaign.__table__,
        [{"tenant_id": tenant_id, "name": name, "text": text, "created_at": utcnow()}],
        index_elements=["tenant_id", "name"],
    )
    return (await session.execute(stmt.returning(Campaign.__table__.c.id))).scalar_one_or_none()


async def named(session: AsyncSession, tenant_id: int, name: str) -> int | None:
    """The id of the tenant's campaign of that name, if one was created."""
    return (
        await session.execute(
            select(Campaign.id).where(Campaign.tenant_id == tenant_id, Campaign.name == name)
        )
    ).scalar_one_or_none()


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
    return _progress(counts)


def _progress(counts: dict[str, int]) -> Progress:
    return Progress(
        total=sum(counts.values()),
        pending=counts.get("pending", 0),
        claimed=counts.get("sending", 0) + counts.get("claimed", 0),
        sent=counts.get("sent", 0),
        unreachable=counts.get("unreachable", 0),
        suppressed=counts.get("suppressed", 0),
        unknown=counts.get("unknown", 0),
    )


@dataclass(frozen=True)
class Overview:
    """One campaign's line on the console: its recipients by state and how it is sent."""

    id: int
    name: str
    created_at: datetime
    broadcast: bool
    progress: Progress

    @property
    def percent(self) -> int:
        total = self.progress.total
        return 100 if not total else 100 * self.progress.finished // total


async def overview(session: AsyncSession, tenant_id: int, limit: int = 50) -> list[Overview]:
    """The tenant's newest campaigns with their progress (one grouped query)."""
    from bot.automation.models import MassJob

    found = list(
        (
            await session.execute(
                select(Campaign.id, Campaign.name, Campaign.created_at, MassJob.id)
                .outerjoin(MassJob, MassJob.campaign_id == Campaign.id)
                .where(Campaign.tenant_id == tenant_id)
                .order_by(Campaign.id.desc())
                .limit(limit)
            )
        ).all()
    )
    counts: dict[int, dict[str, int]] = {}
    if found:
        for cid, status, n in await session.execute(
            select(CampaignRecipient.campaign_id, CampaignRecipient.status, func.count())
            .where(CampaignRecipient.campaign_id.in_([c[0] for c in found]))
            .group_by(CampaignRecipient.campaign_id, CampaignRecipient.status)
        ):
            counts.setdefault(cid, {})[status] = n
    return [
        Overview(cid, name, created, job is not None, _progress(counts.get(cid, {})))
        for cid, name, created, job in found
    ]
