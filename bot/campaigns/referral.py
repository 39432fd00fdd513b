"""B-side referral (客户推荐奖励): a store member or a distributor's staff shares a QR (scene
``sref:<token>``); the new store member who scans it is recorded as referred by them; once that
member's store is bound and its FIRST order is delivered, the referee's store and the referrer
each get the tenant's reward in ordering points, exactly once (ledger rows with the unique
sources ``store_referral:<id>:referee`` / ``:referrer``, and the referral's conditional move
``pending -> rewarded``). A cancelled first order lapses the referral (no reward, ever).

The first order is the store's first order after the referral was recorded; a store that had
ordered before it was referred is an existing customer and is refused at settling.

Refused: self (the same member, also after a merge, or the referee's store is the referrer's),
circular (the referrer was brought, directly or down a chain, by the referee), a member who is
already a store's owner or staff (not a new customer), a second referrer for the same member or
store (unique constraints). The tenant's reward: ``extra.store_referral_referrer_points`` and
``extra.store_referral_referee_points`` of its loyalty config (defaults below), and when
``store_referral_coupon_campaign`` names a core coupon campaign, a coupon of it for each side's
store, claimed through the core BEFORE the referral moves to rewarded with the Idempotency-Key
``jiubot:sref:<tenant>:<referral>:<side>``: a run that dies between the claim and the move is
followed by one that claims with the same key (the core answers with the same coupon), so each
side gets exactly one; a cancelled first order lapses before any claim.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend_client.errors import CoreError
from bot.campaigns.models import StoreReferral
from bot.db import insert_ignore, rowcount, session_scope, utcnow
from bot.membership import ledger
from bot.membership.actions import live_member_id
from bot.membership.ledger_models import ORDERING
from bot.membership.models import Member
from bot.ordering.models import StoreLink
from bot.ordering.views import STORE_ROLES

log = structlog.get_logger(__name__)
SCENE = "sref:"
SOURCE = "store_referral"
DEFAULT_REFERRER_POINTS = 500
DEFAULT_REFEREE_POINTS = 200
MAX_CHAIN = 32
REFERRER_ROLES = frozenset({*STORE_ROLES, "distributor_staff"})


class StoreReferralRefused(Exception):
    """``reason``: not_a_referrer, self, circular, already_customer, already_referred."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def share_token(secret: bytes, tenant_id: int, member_id: int) -> str:
    body = f"{tenant_id}.{member_id}"
    mac = hmac.digest(secret, f"jiubot/store-referral/{body}".encode(), hashlib.sha256)[:9]
    return f"{body}.{base64.urlsafe_b64encode(mac).decode()}"


def read_token(secret: bytes, token: str) -> tuple[int, int] | None:
    parts = (token or "").split(".")
    if len(token) > 48 or len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    expected = share_token(secret, int(parts[0]), int(parts[1]))
    return (int(parts[0]), int(parts[1])) if hmac.compare_digest(expected, token) else None


def rewards(config: Any) -> tuple[int, int]:
    extra = getattr(config, "extra", {}) or {}
    return (
        int(extra.get("store_referral_referrer_points", DEFAULT_REFERRER_POINTS)),
        int(extra.get("store_referral_referee_points", DEFAULT_REFEREE_POINTS)),
    )


async def record(
    session: AsyncSession, tenant_id: int, referrer_id: int, referee_id: int, *, now: datetime | None = None
) -> StoreReferral:
    """The referee scanned the referrer's QR. Idempotent for the same pair."""
    now = now or utcnow()
    referrer_id = await live_member_id(session, referrer_id)
    referee_id = await live_member_id(session, referee_id)
    if referrer_id == referee_id:
        raise StoreReferralRefused("self")
    referrer = await session.get(Member, referrer_id)
    referee = await session.get(Member, referee_id)
    if (
        referrer is None
        or referee is None
        or referrer.tenant_id != tenant_id
        or referee.tenant_id != tenant_id
    ):
        raise StoreReferralRefused("not_a_referrer")
    if referrer.role not in REFERRER_ROLES or (referrer.role in STORE_ROLES and referrer.store_id is None):
        raise StoreReferralRefused("not_a_referrer")
    if referee.role in STORE_ROLES:
        raise StoreReferralRefused("already_customer")
    # circular: walk up from the referrer; meeting the referee means the referee brought him
    current = referrer_id
    for _ in range(MAX_CHAIN):
        up = (
            await session.execute(
                select(StoreReferral.referrer_member_id).where(
                    StoreReferral.tenant_id == tenant_id, StoreReferral.referee_member_id == current
                )
            )
        ).scalar_one_or_none()
        if up is None:
            break
        if up == referee_id:
            raise StoreReferralRefused("circular")
        current = up
    store_id = referrer.store_id if referrer.role in STORE_ROLES else None
    await session.execute(
        insert_ignore(
            session,
            StoreReferral.__table__,
            [
                {
                    "tenant_id": tenant_id,
                    "referrer_member_id": referrer_id,
                    "referrer_store_id": store_id,
                    "referee_member_id": referee_id,
                    "referee_store_id": None,
                    "first_order_id": "",
                    "state": "pending",
                    "created_at": now,
                }
            ],
            index_elements=["tenant_id", "referee_member_id"],
        )
    )
    row = (
        await session.execute(
            select(StoreReferral).where(
                StoreReferral.tenant_id == tenant_id, StoreReferral.referee_member_id == referee_id
            )
        )
    ).scalar_one()
    if row.referrer_member_id != referrer_id:
        raise StoreReferralRefused("already_referred")
    return row


@dataclass(frozen=True, slots=True)
class Settled:
    rewarded: int = 0
    lapsed: int = 0
    refused: int = 0
    waiting: int = 0


async def _orders(core: Any, core_store_id: int, since: datetime) -> tuple[bool, Any | None]:
    """(the store ordered before ``since``, its first order since then)."""
    page = await core.orders.list_for_store(core_store_id, limit=50)
    before = any(o.created_at < since for o in page.items)
    after = [o for o in page.items if o.created_at >= since]
    return before, min(after, key=lambda o: (o.created_at, o.id)) if after else None


async def _core_store(session: AsyncSession, tenant_id: int, store_id: int | None) -> int | None:
    """The core's id of one of jiubot's stores (None: a distributor referrer has no store)."""
    if store_id is None:
        return None
    found = await session.execute(
        select(StoreLink.core_store_id).where(
            StoreLink.tenant_id == tenant_id, StoreLink.store_id == store_id
        )
    )
    return found.scalar_one_or_none()


async def _move(session: AsyncSession, referral_id: int, to: str, now: datetime, **values: Any) -> bool:
    moved = await session.execute(
        update(StoreReferral)
        .where(StoreReferral.id == referral_id, StoreReferral.state == "pending")
        .values(state=to, settled_at=now, **values)
    )
    return rowcount(moved) == 1


async def settle(
    sessions: async_sessionmaker[AsyncSession],
    core: Any,
    tenant_id: int,
    config: Any,
    *,
    now: datetime | None = None,
) -> Settled:
    """Settle the tenant's pending referrals whose store's first order is final. Safe to run
    concurrently and repeatedly: every move is conditional on ``pending`` and every posting has
    a unique source."""
    now = now or utcnow()
    referrer_points, referee_points = rewards(config)
    coupon_campaign = int(getattr(config, "store_referral_coupon_campaign", 0) or 0)
    referrer_core: int | None = None
    counts = {"rewarded": 0, "lapsed": 0, "refused": 0, "waiting": 0}
    async with session_scope(sessions) as session:
        pending = list(
            (
                await session.execute(
                    select(
                        StoreReferral.id,
                        StoreReferral.referee_member_id,
                        StoreReferral.referrer_store_id,
                        StoreReferral.created_at,
                    )
                    .where(StoreReferral.tenant_id == tenant_id, StoreReferral.state == "pending")
                    .order_by(StoreReferral.id)
                    .limit(500)
                )
            ).all()
        )
    for referral_id, referee_id, referrer_store, referred_at in pending:
        async with session_scope(sessions) as session:
            member = await session.get(Member, referee_id)
            link = None
            if member is not None and member.role in STORE_ROLES and member.store_id is not None:
                link = (
                    await session.execute(
                        select(StoreLink).where(
                            StoreLink.tenant_id == tenant_id, StoreLink.store_id == member.store_id
                        )
                    )
                ).scalar_one_or_none()
            if link is None:
                counts["waiting"] += 1
                continue
            if link.store_id == referrer_store:
                counts["refused"] += await _move(session, referral_id, "refused", now)
                continue
        ordered_before, first = await _orders(core, link.core_store_id, referred_at)
        if ordered_before:  # not a new customer: the store ordered before it was referred
            async with session_scope(sessions) as session:
                counts["refused"] += await _move(session, referral_id, "refused", now)
            continue
        status = getattr(first.status, "value", str(first.status)) if first is not None else ""
        if status not in ("delivered", "cancelled"):
            counts["waiting"] += 1
            continue
        async with session_scope(sessions) as session:
            taken = (
                await session.execute(
                    select(StoreReferral.id).where(
                        StoreReferral.tenant_id == tenant_id,
                        StoreReferral.referee_store_id == link.store_id,
                        StoreReferral.id != referral_id,
                    )
                )
            ).first()
            if taken is not None:  # another referrer already has this store
                counts["refused"] += await _move(session, referral_id, "refused", now)
                continue
            assert first is not None  # its status was read above
            order_id = str(first.id)
            if status == "delivered" and coupon_campaign:
                referrer_core = await _core_store(session, tenant_id, referrer_store)
        if status == "delivered" and coupon_campaign:
            holders = [("referee", link.core_store_id), ("referrer", referrer_core)]
            try:
                for side, core_store in holders:
                    if core_store is not None:
                        key = f"jiubot:sref:{tenant_id}:{referral_id}:{side}"
                        await core.coupons.claim(coupon_campaign, "store", core_store, idempotency_key=key)
            except CoreError as exc:  # down, or the campaign refused: the next run tries again
                log.warning("store_referral_coupon_failed", referral=referral_id, error=type(exc).__name__)
                counts["waiting"] += 1
                continue
        async with session_scope(sessions) as session:
            if status == "cancelled":
                counts["lapsed"] += await _move(
                    session,
                    referral_id,
                    "lapsed",
                    now,
                    referee_store_id=link.store_id,
                    first_order_id=order_id,
                )
                continue
            if not await _move(
                session, referral_id, "rewarded", now, referee_store_id=link.store_id, first_order_id=order_id
            ):
                continue  # another run settled it
            row = await session.get(StoreReferral, referral_id)
            assert row is not None
            referee_account = await ledger.account_for(
                session, tenant_id, ORDERING, store_id=link.store_id, now=now
            )
            if row.referrer_store_id is not None:
                referrer_account = await ledger.account_for(
                    session, tenant_id, ORDERING, store_id=row.referrer_store_id, now=now
                )
            else:
                referrer_account = await ledger.account_for(
                    session, tenant_id, ORDERING, member_id=row.referrer_member_id, now=now
                )
            for account, points, side in (
                (referee_account, referee_points, "referee"),
                (referrer_account, referrer_points, "referrer"),
            ):
                if points > 0:
                    await ledger.post(
                        session,
                        tenant_id,
                        ledger.Posting(
                            account, points, ledger.EARN, SOURCE, f"{referral_id}:{side}", note="客户推荐奖励"
                        ),
                        now=now,
                    )
            counts["rewarded"] += 1
    return Settled(**counts)
