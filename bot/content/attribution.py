"""Share links, views and what they lead to, credited to the forwarder once.

* A share is one per (item, forwarder); opening someone's share gives the viewer his own share
  of the item whose parent is the one he came through: the chain of forwards-of-forwards.
* A counted view starts (or keeps) the viewer's touch on that share. Self-views are kept but not
  counted; a viewer counts once per share per day (``content_daily_viewers``): the rules of
  views are in ``bot.content.views``.
* Events (follow, first scan, first coupon, order) are credited once each (``content_credits``
  is unique on (tenant, kind, subject)) to a forwarder whose touch on the viewer began within the
  window (default 7 days) before the event, never to the viewer himself.

**Overlapping windows: the first forwarder wins.** When several forwarders reached the same
viewer and more than one touch is inside the window, the earliest touch earns the credit: the
distributor who brought the person first is not displaced by a later forward of the same or
another item. When his window has passed, the next touch still inside its own window wins.
A follow through a forwarder's QR code is credited to that QR's forwarder (the scene names him).
A revoked share earns nothing for events after its revocation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import tokens
from bot.content.interface import Credit, Share
from bot.content.models import ContentCredit, ContentShare, ContentTouch
from bot.db import insert_ignore, utcnow
from bot.membership import ledger
from bot.membership.ledger_models import ORDERING
from bot.membership.models import Member

TZ = ZoneInfo("Asia/Shanghai")
EVENT_KINDS = ("follow", "scan", "coupon", "order")


@dataclass(frozen=True)
class Rewards:
    """Ordering points credited to the forwarder per attributed event (per tenant)."""

    points: Mapping[str, int] = field(
        default_factory=lambda: {"follow": 20, "scan": 10, "coupon": 5, "order": 50}
    )
    window: timedelta = timedelta(days=7)


def to_share(row: ContentShare) -> Share:
    return Share(
        row.id,
        row.tenant_id,
        row.item_id,
        row.forwarder_id,
        row.parent_id,
        row.depth,
        row.code,
        row.revoked_at is not None,
    )


def share_token(secret: bytes, share: Share) -> str:
    return tokens.sign(secret, share.code)


async def share_by_token(session: AsyncSession, secret: bytes, token: str) -> Share | None:
    """The share a token names; None when the token is forged, tampered or unknown."""
    code = tokens.read(secret, token)
    if code is None:
        return None
    row = (await session.execute(select(ContentShare).where(ContentShare.code == code))).scalar_one_or_none()
    return to_share(row) if row is not None else None


async def share_for(
    session: AsyncSession,
    tenant_id: int,
    item_id: int,
    forwarder_id: int,
    *,
    parent: Share | None = None,
    now: datetime | None = None,
) -> Share:
    """The forwarder's share of the item, created on first use (insert-or-ignore)."""
    query = select(ContentShare).where(
        ContentShare.tenant_id == tenant_id,
        ContentShare.item_id == item_id,
        ContentShare.forwarder_id == forwarder_id,
    )
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        values = {
            "tenant_id": tenant_id,
            "item_id": item_id,
            "forwarder_id": forwarder_id,
            "parent_id": parent.id if parent else None,
            "depth": parent.depth + 1 if parent else 1,
            "code": tokens.new_code(),
            "created_at": now or utcnow(),
        }
        await session.execute(
            insert_ignore(
                session,
                ContentShare.__table__,
                [values],
                index_elements=["tenant_id", "item_id", "forwarder_id"],
            )
        )
        row = (await session.execute(query)).scalar_one()
    return to_share(row)


async def revoke(session: AsyncSession, share_id: int, now: datetime | None = None) -> bool:
    done = await session.execute(
        update(ContentShare)
        .where(ContentShare.id == share_id, ContentShare.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def chain(session: AsyncSession, share_id: int, levels: int = 10) -> list[Share]:
    """The share and the shares it came through, nearest first (who passed it to whom)."""
    found: list[Share] = []
    current: int | None = share_id
    while current is not None and len(found) < levels:
        row = await session.get(ContentShare, current)
        if row is None:
            break
        found.append(to_share(row))
        current = row.parent_id
    return found


async def touch(session: AsyncSession, share: Share, viewer_id: int, now: datetime) -> None:
    await session.execute(
        insert_ignore(
            session,
            ContentTouch.__table__,
            [
                {
                    "tenant_id": share.tenant_id,
                    "share_id": share.id,
                    "viewer_id": viewer_id,
                    "forwarder_id": share.forwarder_id,
                    "first_at": now,
                }
            ],
            index_elements=["share_id", "viewer_id"],
        )
    )


async def _winning_touch(
    session: AsyncSession, tenant_id: int, viewer_id: int, at: datetime, window: timedelta
) -> tuple[int, int] | None:
    """(share id, forwarder) of the first touch inside the window before ``at`` (first wins)."""
    stmt = (
        select(ContentTouch.share_id, ContentTouch.forwarder_id)
        .join(ContentShare, ContentShare.id == ContentTouch.share_id)
        .where(
            ContentTouch.tenant_id == tenant_id,
            ContentTouch.viewer_id == viewer_id,
            ContentTouch.forwarder_id != viewer_id,
            ContentTouch.first_at <= at,
            ContentTouch.first_at > at - window,
            (ContentShare.revoked_at.is_(None)) | (ContentShare.revoked_at > at),
        )
        .order_by(ContentTouch.first_at, ContentTouch.id)
        .limit(1)
    )
    found = (await session.execute(stmt)).first()
    return (int(found[0]), int(found[1])) if found else None


async def credit(
    session: AsyncSession,
    tenant_id: int,
    kind: str,
    subject: str,
    viewer_id: int,
    at: datetime,
    rewards: Rewards,
    *,
    via: Share | None = None,
    live_id: int | None = None,
) -> Credit | None:
    """Credit ``kind``/``subject`` to the winning forwarder, once; None when nobody earns it
    (no touch in the window, the viewer's own share, or already credited)."""
    if via is not None:
        if via.forwarder_id == viewer_id or via.revoked:
            return None
        share_id, forwarder = via.id, via.forwarder_id
    else:
        found = await _winning_touch(session, tenant_id, viewer_id, at, rewards.window)
        if found is None:
            return None
        share_id, forwarder = found
    share = await session.get(ContentShare, share_id)
    points = int(rewards.points.get(kind, 0))
    stmt = insert_ignore(
        session,
        ContentCredit.__table__,
        [
            {
                "tenant_id": tenant_id,
                "kind": kind,
                "subject": subject,
                "share_id": share_id,
                "item_id": share.item_id if share else None,
                "live_id": live_id,
                "forwarder_id": forwarder,
                "viewer_id": viewer_id,
                "points": points,
                "happened_at": at,
                "created_at": utcnow(),
            }
        ],
        index_elements=["tenant_id", "kind", "subject"],
    ).returning(ContentCredit.__table__.c.id)
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        return None
    if points:
        await _reward(session, tenant_id, forwarder, points, f"content_{kind}", subject)
    return Credit(kind, subject, forwarder, viewer_id, share_id, points)


async def _reward(
    session: AsyncSession, tenant_id: int, forwarder: int, points: int, source_kind: str, subject: str
) -> None:
    """Ordering points to the forwarder's store when he has one, else to himself; the ledger row
    is unique on (tenant, source_kind, source_id), so a credit posts once."""
    member = await session.get(Member, forwarder)
    if member is not None and member.store_id is not None:
        account = await ledger.account_for(session, tenant_id, ORDERING, store_id=member.store_id)
    else:
        account = await ledger.account_for(session, tenant_id, ORDERING, member_id=forwarder)
    note = f"内容转发奖励 {source_kind.removeprefix('content_')}"
    await ledger.post(
        session, tenant_id, ledger.Posting(account, points, ledger.EARN, source_kind, subject, note)
    )
