"""Credits at the event: a follow, a credited scan, a claimed coupon, a placed order.

``on_happened`` listens to ``bot.hooks`` (wired in bot/wiring/content.py): the event's feature
emits after its own commit, and the credit is made right then, in its own transaction. The rules
are those of ``attribution.credit`` (first forwarder inside the window wins, never the viewer
himself, a revoked share earns nothing after its revocation) over the same facts the sweep reads:
a scan is credited at the member's first credited scan, a coupon at his first claimed coupon, an
order at its intent's creation. Credits and their ledger rows are unique per subject, so a hook
and the sweep (the safety net for a hook lost to a crash, every 15 minutes) never credit twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.attribution import Rewards, credit
from bot.content.interface import Credit
from bot.content.models import ContentTouch
from bot.db import utcnow
from bot.hooks import Happened


async def _touched(
    session: AsyncSession, tenant_id: int, member_id: int, at: datetime, window: timedelta
) -> bool:
    """Whether anyone else's share reached the member inside the window (most members: no)."""
    found = await session.execute(
        select(ContentTouch.id)
        .where(
            ContentTouch.tenant_id == tenant_id,
            ContentTouch.viewer_id == member_id,
            ContentTouch.forwarder_id != member_id,
            ContentTouch.first_at > at - window - timedelta(days=1),
        )
        .limit(1)
    )
    return found.first() is not None


async def on_happened(session: AsyncSession, happened: Happened, rewards: Rewards) -> list[Credit]:
    tenant_id, member_id = happened.tenant_id, happened.member_id
    if happened.kind == "order":
        return await _orders(session, tenant_id, rewards, order_id=happened.order_id, member_id=member_id)
    if member_id is None or not await _touched(session, tenant_id, member_id, happened.at, rewards.window):
        return []
    if happened.kind == "follow":
        made = await credit(session, tenant_id, "follow", f"m{member_id}", member_id, happened.at, rewards)
        return [made] if made else []
    if happened.kind == "scan":
        return await _scans(session, tenant_id, rewards, [member_id])
    return await _coupons(session, tenant_id, rewards, [member_id])


async def _scans(session: AsyncSession, tenant_id: int, rewards: Rewards, members: object) -> list[Credit]:
    from bot.membership.code_models import CodeRedemption

    first = (
        select(CodeRedemption.member_id, func.min(CodeRedemption.scanned_at))
        .where(CodeRedemption.tenant_id == tenant_id, CodeRedemption.member_id.in_(members))  # type: ignore[arg-type]
        .group_by(CodeRedemption.member_id)
    )
    done: list[Credit] = []
    for member_id, at in (await session.execute(first)).all():
        made = await credit(session, tenant_id, "scan", f"m{member_id}", member_id, at, rewards)
        done += [made] if made else []
    return done


async def _coupons(session: AsyncSession, tenant_id: int, rewards: Rewards, members: object) -> list[Credit]:
    from bot.membership.reward_models import CouponClaim

    first = (
        select(CouponClaim.member_id, func.min(CouponClaim.claimed_at))
        .where(
            CouponClaim.tenant_id == tenant_id,
            CouponClaim.status == "claimed",
            CouponClaim.member_id.in_(members),  # type: ignore[arg-type]
        )
        .group_by(CouponClaim.member_id)
    )
    done: list[Credit] = []
    for member_id, at in (await session.execute(first)).all():
        made = await credit(session, tenant_id, "coupon", f"m{member_id}", member_id, at, rewards)
        done += [made] if made else []
    return done


async def _orders(
    session: AsyncSession,
    tenant_id: int,
    rewards: Rewards,
    *,
    order_id: str | None = None,
    member_id: int | None = None,
    members: object = None,
) -> list[Credit]:
    """Placed orders (chat and mini-program intents: their buyer is known) of one order id, or
    of ``members``."""
    from bot.ordering.models import OrderIntent

    where: list[ColumnElement[bool]] = [
        OrderIntent.tenant_id == tenant_id,
        OrderIntent.status == "placed",
        OrderIntent.order_id.is_not(None),
        OrderIntent.member_id.is_not(None),
    ]
    if order_id is not None:
        if not order_id.isdigit():
            return []
        where.append(OrderIntent.order_id == int(order_id))
    if member_id is not None:
        where.append(OrderIntent.member_id == member_id)
    if members is not None:
        where.append(OrderIntent.member_id.in_(members))  # type: ignore[arg-type]
    found = select(OrderIntent.member_id, OrderIntent.order_id, OrderIntent.created_at).where(*where)
    done: list[Credit] = []
    for buyer, order, at in (await session.execute(found)).all():
        if buyer is None:
            continue
        made = await credit(session, tenant_id, "order", f"o{order}", buyer, at, rewards)
        done += [made] if made else []
    return done


async def sweep(
    session: AsyncSession, tenant_id: int, rewards: Rewards, *, now: datetime | None = None
) -> list[Credit]:
    """The safety net: credit the first scan, the first coupon and the orders of every viewer
    touched within the window (a hook lost to a crash between an event's commit and its emit).
    Safe to run any number of times and in several processes (unique credits)."""
    now = now or utcnow()
    since = now - rewards.window - timedelta(days=1)
    touched = (
        select(ContentTouch.viewer_id)
        .where(ContentTouch.tenant_id == tenant_id, ContentTouch.first_at > since)
        .distinct()
        .scalar_subquery()
    )
    done = await _scans(session, tenant_id, rewards, touched)
    done += await _coupons(session, tenant_id, rewards, touched)
    done += await _orders(session, tenant_id, rewards, members=touched)
    return done
