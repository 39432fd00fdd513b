"""Coupons claimed through the core's coupon API (``backend_client``), recorded here.

The Idempotency-Key is derived from what the claim is for: ``coupon:<tenant>:<campaign>:<member>``,
so a double tap, a retried request or a second claim from another entry point (store QR, menu,
content page, scan reward) asks the core once and gets the same coupon back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import insert_ignore, session_scope, utcnow
from bot.hooks import Happened, Hooks
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
    """What membership needs from the core's coupon API (adapter: ``bot.wiring.membership``)."""

    async def claim(
        self, tenant_id: int, campaign: str, member_id: int, *, idempotency_key: str
    ) -> Coupon: ...

    async def coupons_of(self, tenant_id: int, member_id: int) -> list[Coupon]: ...


_CAMPAIGN_RE = re.compile(r"[0-9]{1,18}")


class BadCampaign(CouponFailed):
    """The campaign id is not a positive decimal number (the core's ids are integers)."""

    def __init__(self) -> None:
        super().__init__("bad_campaign")


def canonical_campaign(campaign: str | int) -> str:
    """The campaign id as the core reads it: "4", "04" and "004" are one campaign, so they must be
    one idempotency key. Anything but 1-18 ASCII digits (signs, spaces, other scripts' digits,
    booleans) is refused rather than guessed."""
    if isinstance(campaign, bool):
        raise BadCampaign()
    text = str(campaign) if isinstance(campaign, int) else campaign
    if not isinstance(text, str) or not _CAMPAIGN_RE.fullmatch(text) or int(text) <= 0:
        raise BadCampaign()
    return str(int(text))


def idempotency_key(tenant_id: int, campaign: str, member_id: int) -> str:
    return f"coupon:{tenant_id}:{canonical_campaign(campaign)}:{member_id}"


async def claim(
    sessions: async_sessionmaker[AsyncSession],
    gateway: CouponGateway,
    tenant_id: int,
    member_id: int,
    campaign: str,
    *,
    source: str,
    store_code: str | None = None,
    hooks: Hooks | None = None,
) -> Coupon:
    """Claim ``campaign`` for the member once; raises ``CouponFailed`` with the core's reason.
    ``hooks`` hear of the claim once it is settled."""
    if source not in SOURCES:
        raise ValueError(f"unknown coupon source {source!r}")
    campaign = canonical_campaign(campaign)
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
        coupon = await gateway.claim(tenant_id, campaign, member_id, idempotency_key=key)
    except CouponFailed as exc:
        await _settle(sessions, tenant_id, key, status="failed", detail=exc.reason)
        raise
    await _settle(sessions, tenant_id, key, status="claimed", coupon_id=coupon.id, title=coupon.name)
    if hooks is not None:
        await hooks.emit(Happened(tenant_id, "coupon", utcnow(), member_id=member_id))
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


def read_store_claim(secret: bytes, scanned: str) -> tuple[int, str, str] | None:
    """(tenant, campaign, store) of a store coupon QR's URL or path with a valid signature, else
    None: what the chat's scanner does with a store's counter card."""
    import hmac
    from urllib.parse import urlsplit

    text = (scanned or "").strip()[:2048]
    path = urlsplit(text).path if "://" in text else text
    parts = path.strip("/").split("/")
    if len(parts) != 5 or parts[0] != "k" or not parts[1].isdigit():
        return None
    tenant_id, campaign, store = int(parts[1]), parts[2][:64], parts[3][:64]
    expected = store_claim_signature(secret, tenant_id, campaign, store)
    return (tenant_id, campaign, store) if hmac.compare_digest(expected, parts[4]) else None
