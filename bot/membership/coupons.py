"""Coupons claimed through the core's coupon API (``backend_client``), recorded here.

The Idempotency-Key is derived from what the claim is for: ``coupon:<tenant>:<campaign>:<member>``,
so a double tap, a retried request or a second claim from another entry point (store QR, menu,
content page, scan reward) asks the core once and gets the same coupon back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import insert_ignore, session_scope, utcnow
from bot.membership.actions import live_member_id
from bot.membership.errors import CouponFailed
from bot.membership.reward_models import CouponClaim

SOURCES = ("store_qr", "menu", "content", "scan_reward", "mp")


@dataclass(frozen=True, slots=True)
class Coupon:
    id: str
    name: str
    status: str  # available | redeemed | expired
    amount_off_fen: int
    threshold_fen: int
    expires_at: datetime | None


class CouponGateway(Protocol):
    """What membership needs from the core's coupon API (adapter: ``bot.web.membership_wiring``)."""

    async def claim(self, campaign: str, member_id: int, *, idempotency_key: str) -> Coupon: ...

    async def coupons_of(self, member_id: int) -> list[Coupon]: ...


def idempotency_key(tenant_id: int, campaign: str, member_id: int) -> str:
    return f"coupon:{tenant_id}:{campaign}:{member_id}"


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    gateway: CouponGateway,
    tenant_id: int,
    member_id: int,
    campaign: str,
    *,
    source: str,
    store_code: str | None = None,
) -> Coupon:
    """Claim ``campaign`` for the member once; raises ``CouponFailed`` with the core's reason."""
    if source not in SOURCES:
        raise ValueError(f"unknown coupon source {source!r}")
    async with session_scope(sessions) as session:
        member_id = await live_member_id(session, member_id)
        key = idempotency_key(tenant_id, campaign, member_id)
        row = {
            "tenant_id": tenant_id,
            "member_id": member_id,
            "campaign": campaign[:64],
            "source": source,
            "store_code": store_code,
            "idempotency_key": key,
            "status": "pending",
            "title": "",
            "detail": "",
            "claimed_at": utcnow(),
        }
        await session.execute(
            insert_ignore(
                session, CouponClaim.__table__, [row], index_elements=["tenant_id", "idempotency_key"]
            )
        )
    try:
        coupon = await gateway.claim(campaign, member_id, idempotency_key=key)
    except CouponFailed as exc:
        await _settle(sessions, tenant_id, key, status="failed", detail=exc.reason)
        raise
    await _settle(sessions, tenant_id, key, status="claimed", coupon_id=coupon.id, title=coupon.name)
    return coupon


async def _settle(
    sessions: async_sessionmaker[AsyncSession], tenant_id: int, key: str, **values: object
) -> None:
    async with session_scope(sessions) as session:
        await session.execute(
            update(CouponClaim)
            .where(CouponClaim.tenant_id == tenant_id, CouponClaim.idempotency_key == key)
            .values(**values)
        )


async def claimed_campaigns(session: AsyncSession, member_id: int) -> list[str]:
    stmt = select(CouponClaim.campaign).where(
        CouponClaim.member_id == member_id, CouponClaim.status == "claimed"
    )
    return list((await session.execute(stmt)).scalars())


def store_claim_signature(secret: bytes, tenant_id: int, campaign: str, store_code: str) -> str:
    """Signs a store's scan-to-claim QR (``/k/<tenant>/<campaign>/<store>/<sig>``) so nobody can
    print a QR crediting claims to another store."""
    import hashlib
    import hmac

    body = f"jiubot/store-coupon/{tenant_id}/{campaign}/{store_code}".encode()
    return hmac.digest(secret, body, hashlib.sha256)[:9].hex()


def store_claim_path(secret: bytes, tenant_id: int, campaign: str, store_code: str) -> str:
    sig = store_claim_signature(secret, tenant_id, campaign, store_code)
    return f"/k/{tenant_id}/{campaign}/{store_code}/{sig}"
