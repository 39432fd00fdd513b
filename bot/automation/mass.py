"""Broadcast campaigns as one mass send (群发) by tag, within the service account's limit.

A campaign created as a broadcast (``jiubot campaigns create --mass``) has a ``MassJob``. This is
the broadcast branch of the reach policy: a member may receive ``MASS_PER_MONTH`` (4) mass sends a
calendar month (Asia/Shanghai), counted here per member (``MassQuotaUse``), so a member past it is
recorded ``unreachable`` with reason ``mass_quota`` and left out of the tag instead of making
WeChat refuse the whole send (45028). A mass send is never replaced by a template message.

``send`` is safe to run again after a crash at any point: the member checks and monthly counts are
written once per (campaign, member); tagging is idempotent; the send carries the job's
``clientmsgid``, so WeChat answers a repeated call with 45065 and sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation import send_batch
from bot.automation.clock import SHANGHAI
from bot.automation.interface import Deps
from bot.automation.models import Campaign, CampaignRecipient, MarketingSend, MassJob, MassQuotaUse
from bot.automation.send_port import MassChannel
from bot.db import insert_ignore, insert_ignore_statement, session_scope, utcnow

MASS_PER_MONTH = 4
_T = CampaignRecipient.__table__


@dataclass(frozen=True)
class MassReport:
    state: str  # sent | refused | unknown
    sent: int
    mass_quota: int
    suppressed: int
    msg_id: str = ""


def month_of(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m")


def clientmsgid(campaign_id: int) -> str:
    return f"jiubot-campaign-{campaign_id}"


async def make_broadcast(session: AsyncSession, tenant_id: int, campaign_id: int, appid: str) -> None:
    """Mark the campaign as a broadcast (one mass send by tag); idempotent."""
    row = {
        "tenant_id": tenant_id,
        "campaign_id": campaign_id,
        "appid": appid,
        "clientmsgid": clientmsgid(campaign_id),
        "state": "preparing",
        "msg_id": "",
        "reason": "",
        "created_at": utcnow(),
    }
    await session.execute(insert_ignore(session, MassJob.__table__, [row], index_elements=["campaign_id"]))


async def job_of(session: AsyncSession, campaign_id: int) -> MassJob | None:
    return (
        await session.execute(select(MassJob).where(MassJob.campaign_id == campaign_id))
    ).scalar_one_or_none()


async def _settle(
    session: AsyncSession, deps: Deps, tenant_id: int, campaign: Campaign, at: datetime
) -> None:
    """Decide every pending recipient once: suppressed (opted out, frequency cap), unreachable
    (``mass_quota``: this month's mass sends used up) or ``sending`` with this month counted."""
    pending = dict(
        (m, i)
        for i, m in await session.execute(
            select(_T.c.id, _T.c.member_id).where(_T.c.campaign_id == campaign.id, _T.c.status == "pending")
        )
    )
    if not pending:
        return
    caps = await send_batch.take_caps(
        session, tenant_id, campaign, list(pending), at, deps.policy.cap, deps.policy.cap_days
    )
    month = month_of(at)
    used = dict(
        (
            await session.execute(
                select(MassQuotaUse.member_id, func.count())
                .where(
                    MassQuotaUse.tenant_id == tenant_id,
                    MassQuotaUse.member_id.in_(list(pending)),
                    MassQuotaUse.month == month,
                    MassQuotaUse.campaign_id != campaign.id,
                )
                .group_by(MassQuotaUse.member_id)
            )
        ).all()
    )
    now = utcnow()
    finals: list[dict[str, Any]] = []
    counted: list[dict[str, Any]] = []
    give_back: list[str] = []
    for member, row_id in pending.items():
        why = caps.get(member, "opted_out")
        if why:
            finals.append({"rid": row_id, "st": "suppressed", "why": why, "at": now})
        elif used.get(member, 0) >= MASS_PER_MONTH:
            finals.append({"rid": row_id, "st": "unreachable", "why": "mass_quota", "at": now})
            give_back.append(send_batch.cap_key(campaign.id, member))
        else:
            counted.append(
                {
                    "tenant_id": tenant_id,
                    "member_id": member,
                    "month": month,
                    "campaign_id": campaign.id,
                    "counted_at": now,
                }
            )
    if counted:
        stmt = insert_ignore_statement(
            session, MassQuotaUse.__table__, index_elements=["campaign_id", "member_id"]
        )
        await session.execute(stmt, counted)
        ids = [pending[c["member_id"]] for c in counted]
        await session.execute(update(_T).where(_T.c.id.in_(ids)).values(status="sending", lease_until=None))
    if finals:
        await session.execute(_DECIDE, finals)
    await send_batch.give_back(session, tenant_id, give_back)


_DECIDE = (
    update(_T)
    .where(_T.c.id == bindparam("rid"), _T.c.status == "pending")
    .values(status=bindparam("st"), reason=bindparam("why"), finished_at=bindparam("at"))
)


async def send(
    deps: Deps, channel: MassChannel, tenant_id: int, campaign_id: int, *, now: Callable[[], datetime]
) -> MassReport:
    """Send the broadcast (or finish one a crash interrupted); see the module's docstring."""
    at = now()
    async with session_scope(deps.sessions) as session:
        campaign = (await session.execute(select(Campaign).where(Campaign.id == campaign_id))).scalar_one()
        job = await job_of(session, campaign_id)
        if job is None:
            raise ValueError(f"campaign {campaign_id} is not a broadcast")
        if job.state == "preparing":
            await _settle(session, deps, tenant_id, campaign, at)
        openids = list(
            (
                await session.execute(
                    select(_T.c.openid).where(_T.c.campaign_id == campaign_id, _T.c.status == "sending")
                )
            ).scalars()
        )
        appid, tag_id, state, key = job.appid, job.tag_id, job.state, job.clientmsgid
    if state != "preparing" or not openids:
        return await report(deps, campaign_id, state if openids or state != "preparing" else "sent")
    if tag_id is None:
        tag_id = await channel.ensure_tag(appid, f"jiubot-campaign-{campaign_id}")
        async with session_scope(deps.sessions) as session:
            await session.execute(
                update(MassJob).where(MassJob.campaign_id == campaign_id).values(tag_id=tag_id)
            )
    await channel.tag(appid, tag_id, openids)
    result = await channel.send_to_tag(appid, tag_id, campaign.text, key)
    if result.status == "unknown":  # a later run sends again with the same clientmsgid
        return await report(deps, campaign_id, "unknown")
    async with session_scope(deps.sessions) as session:
        done = utcnow()
        sent = result.status in ("sent", "already_sent")
        await session.execute(
            update(_T)
            .where(_T.c.campaign_id == campaign_id, _T.c.status == "sending")
            .values(
                status="sent" if sent else "unreachable",
                reason=f"mass:{result.msg_id}" if sent else result.reason,
                finished_at=done,
            )
        )
        if not sent:  # nobody received it: the month's count and the cap places go back
            await session.execute(delete(MassQuotaUse).where(MassQuotaUse.campaign_id == campaign_id))
            await session.execute(
                delete(MarketingSend).where(
                    MarketingSend.tenant_id == tenant_id, MarketingSend.key.like(f"campaign:{campaign_id}:%")
                )
            )
        await session.execute(
            update(MassJob)
            .where(MassJob.campaign_id == campaign_id)
            .values(
                state="sent" if sent else "refused",
                msg_id=result.msg_id,
                reason=result.status if sent else result.reason,
                sent_at=done,
            )
        )
    await channel.drop_tag(appid, tag_id)
    return await report(deps, campaign_id, "sent" if sent else "refused")


async def report(deps: Deps, campaign_id: int, state: str) -> MassReport:
    async with session_scope(deps.sessions) as session:
        counts: dict[tuple[str, bool], int] = {}
        for status, reason, n in await session.execute(
            select(_T.c.status, _T.c.reason, func.count())
            .where(_T.c.campaign_id == campaign_id)
            .group_by(_T.c.status, _T.c.reason)
        ):
            key = (status, reason == "mass_quota")
            counts[key] = counts.get(key, 0) + n
        job = await job_of(session, campaign_id)
    return MassReport(
        state,
        sent=counts.get(("sent", False), 0),
        mass_quota=counts.get(("unreachable", True), 0),
        suppressed=counts.get(("suppressed", False), 0),
        msg_id=job.msg_id if job else "",
    )
