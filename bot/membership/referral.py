"""Referral: a member's share link or QR binds a new member to him; both are rewarded when
the invitee's first genuine scan happens. Self-referral (also across merged identities) and
loops (A invites B, B invites A, or longer) are refused; one inviter per invitee (unique)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore, rowcount, utcnow
from bot.membership import points
from bot.membership.actions import live_member_id
from bot.membership.code_models import CodeRedemption
from bot.membership.errors import ReferralRefused
from bot.membership.ledger import EARN
from bot.membership.ledger_models import CONSUMPTION
from bot.membership.loyalty_config import LoyaltyConfig
from bot.membership.reward_models import Referral

TZ = ZoneInfo("Asia/Shanghai")
MAX_CHAIN = 32


def share_token(secret: bytes, tenant_id: int, member_id: int) -> str:
    """An opaque, unforgeable token for a member's share link (``/r/<token>``, QR ``ref:<token>``)."""
    body = f"{tenant_id}.{member_id}"
    mac = hmac.digest(secret, f"jiubot/referral/{body}".encode(), hashlib.sha256)[:8]
    return f"{tenant_id}.{member_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def read_token(secret: bytes, token: str) -> tuple[int, int] | None:
    parts = (token or "").split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(token) > 64:
        return None
    tenant_id, member_id = int(parts[0]), int(parts[1])
    return (
        (tenant_id, member_id)
        if hmac.compare_digest(share_token(secret, tenant_id, member_id), token)
        else None
    )


@dataclass(frozen=True, slots=True)
class ReferralReward:
    referral_id: int
    inviter_id: int
    inviter_points: int
    invitee_points: int


async def bind(
    session: AsyncSession, tenant_id: int, inviter_id: int, invitee_id: int, *, now: datetime | None = None
) -> int:
    """Bind ``invitee`` to ``inviter``; returns the referral id or raises ``ReferralRefused``."""
    inviter = await live_member_id(session, inviter_id)
    invitee = await live_member_id(session, invitee_id)
    if inviter == invitee:
        raise ReferralRefused("self")
    scanned = await session.execute(
        select(CodeRedemption.id).where(CodeRedemption.member_id == invitee).limit(1)
    )
    if scanned.first() is not None:
        raise ReferralRefused("not_new")
    ancestor: int | None = inviter
    for _ in range(MAX_CHAIN):  # walk up the inviter's chain: finding the invitee means a loop
        ancestor = (
            await session.execute(
                select(Referral.inviter_id).where(
                    Referral.tenant_id == tenant_id, Referral.invitee_id == ancestor
                )
            )
        ).scalar_one_or_none()
        if ancestor is None:
            break
        if await live_member_id(session, ancestor) == invitee:
            raise ReferralRefused("loop")
    row = {
        "tenant_id": tenant_id,
        "inviter_id": inviter,
        "invitee_id": invitee,
        "status": "pending",
        "reason": "",
        "created_at": now or utcnow(),
    }
    # RETURNING, not rowcount: psycopg reports -1 for a multi-values INSERT ... ON CONFLICT.
    stmt = insert_ignore(session, Referral.__table__, [row], index_elements=["tenant_id", "invitee_id"])
    inserted = await session.execute(stmt.returning(Referral.__table__.c.id))
    created = inserted.scalar_one_or_none()
    existing = (
        await session.execute(
            select(Referral.id, Referral.inviter_id).where(
                Referral.tenant_id == tenant_id, Referral.invitee_id == invitee
            )
        )
    ).one()
    if created is None and existing.inviter_id != inviter:
        raise ReferralRefused("already")
    return existing.id


async def reward_on_first_scan(
    session: AsyncSession, tenant_id: int, invitee_id: int, config: LoyaltyConfig, *, now: datetime
) -> ReferralReward | None:
    """Called inside the scan transaction that just credited ``invitee_id``'s first genuine
    scan; rewards both sides once (status pending -> rewarded is a conditional update)."""
    referral = (
        await session.execute(
            select(Referral).where(
                Referral.tenant_id == tenant_id,
                Referral.invitee_id == invitee_id,
                Referral.status == "pending",
            )
        )
    ).scalar_one_or_none()
    if referral is None:
        return None
    scans = (
        await session.execute(select(func.count()).where(CodeRedemption.member_id == invitee_id))
    ).scalar_one()
    if scans != 1:
        return None
    inviter = await live_member_id(session, referral.inviter_id)
    month_start = now.astimezone(TZ).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rewarded = (
        await session.execute(
            select(func.count()).where(
                Referral.inviter_id == referral.inviter_id,
                Referral.status == "rewarded",
                Referral.rewarded_at >= month_start,
            )
        )
    ).scalar_one()
    reason = (
        "self" if inviter == invitee_id else "monthly_cap" if rewarded >= config.referral_monthly_cap else ""
    )
    status = "refused" if reason else "rewarded"
    changed = await session.execute(
        update(Referral)
        .where(Referral.id == referral.id, Referral.status == "pending")
        .values(status=status, reason=reason, rewarded_at=now if not reason else None)
        .execution_options(synchronize_session=False)
    )
    if rowcount(changed) != 1 or reason:
        return None
    for member, amount, kind in (
        (invitee_id, config.referral_invitee_points, "referral_invitee"),
        (inviter, config.referral_inviter_points, "referral_inviter"),
    ):
        if amount > 0:
            await points.credit_member(
                session,
                tenant_id,
                member,
                kind=CONSUMPTION,
                delta=amount,
                category=EARN,
                source_kind=kind,
                source_id=str(referral.id),
                note="好友推荐奖励",
                now=now,
            )
    return ReferralReward(
        referral.id, inviter, config.referral_inviter_points, config.referral_invitee_points
    )
