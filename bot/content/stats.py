"""Figures: per item and per forwarder (views, unique viewers, follows, scans, orders, rewards),
leaderboards per region and per item, and a forwarder's own summary for chat."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.content.models import ContentCredit, ContentDailyViewer, ContentItem, ContentShare, ContentView
from bot.membership.models import Member

FIELDS = ("views", "unique_viewers", "follows", "scans", "coupons", "orders", "rewards", "read_seconds")


def _blank() -> dict[str, int]:
    return dict.fromkeys(FIELDS, 0)


async def _grouped(
    session: AsyncSession, tenant_id: int, by: InstrumentedAttribute[int]
) -> dict[int, dict[str, int]]:
    """``by``: ContentShare.item_id or ContentShare.forwarder_id."""
    out: dict[int, dict[str, int]] = {}
    views = (
        select(by, func.count(), func.coalesce(func.sum(ContentView.read_seconds), 0))
        .join(ContentShare, ContentShare.id == ContentView.share_id)
        .where(ContentView.tenant_id == tenant_id, ContentView.counted.is_(True))
        .group_by(by)
    )
    for key, n, seconds in (await session.execute(views)).all():
        row = out.setdefault(int(key), _blank())
        row["views"], row["read_seconds"] = int(n), int(seconds)
    uniques = (
        select(by, func.count(func.distinct(ContentDailyViewer.viewer_id)))
        .join(ContentShare, ContentShare.id == ContentDailyViewer.share_id)
        .where(ContentDailyViewer.tenant_id == tenant_id)
        .group_by(by)
    )
    for key, n in (await session.execute(uniques)).all():
        out.setdefault(int(key), _blank())["unique_viewers"] = int(n)
    credits = (
        select(by, ContentCredit.kind, func.count(), func.coalesce(func.sum(ContentCredit.points), 0))
        .join(ContentShare, ContentShare.id == ContentCredit.share_id)
        .where(ContentCredit.tenant_id == tenant_id)
        .group_by(by, ContentCredit.kind)
    )
    names = {"follow": "follows", "scan": "scans", "coupon": "coupons", "order": "orders"}
    for key, kind, n, points in (await session.execute(credits)).all():
        row = out.setdefault(int(key), _blank())
        if kind in names:
            row[names[kind]] += int(n)
        row["rewards"] += int(points)
    return out


async def per_item(session: AsyncSession, tenant_id: int) -> list[dict]:
    grouped = await _grouped(session, tenant_id, ContentShare.item_id)
    titles = dict(
        (
            await session.execute(
                select(ContentItem.id, ContentItem.title).where(ContentItem.tenant_id == tenant_id)
            )
        ).all()
    )
    return [{"item_id": k, "title": titles.get(k, ""), **v} for k, v in sorted(grouped.items())]


async def per_forwarder(session: AsyncSession, tenant_id: int) -> list[dict]:
    grouped = await _grouped(session, tenant_id, ContentShare.forwarder_id)
    regions = dict(
        (
            await session.execute(
                select(Member.id, Member.region_code).where(Member.id.in_(list(grouped) or [0]))
            )
        ).all()
    )
    return [{"forwarder_id": k, "region": regions.get(k) or "", **v} for k, v in sorted(grouped.items())]


async def of_forwarder(session: AsyncSession, tenant_id: int, member_id: int) -> dict[str, int]:
    for row in await per_forwarder(session, tenant_id):
        if row["forwarder_id"] == member_id:
            return {k: row[k] for k in FIELDS}
    return _blank()


async def leaderboard(
    session: AsyncSession,
    tenant_id: int,
    *,
    region: str | None = None,
    item_id: int | None = None,
    top: int = 10,
) -> list[dict]:
    """Forwarders ranked by rewards then unique viewers, within a region or for one item."""
    if item_id is not None:
        rows = []
        grouped = await _grouped_item_forwarder(session, tenant_id, item_id)
        for forwarder, row in grouped.items():
            rows.append({"forwarder_id": forwarder, **row})
    else:
        rows = await per_forwarder(session, tenant_id)
        if region is not None:
            rows = [r for r in rows if r["region"] == region]
    rows.sort(key=lambda r: (-r["rewards"], -r["unique_viewers"], r["forwarder_id"]))
    return rows[:top]


async def _grouped_item_forwarder(
    session: AsyncSession, tenant_id: int, item_id: int
) -> dict[int, dict[str, int]]:
    grouped = await _grouped(session, tenant_id, ContentShare.id)
    shares = dict(
        (
            await session.execute(
                select(ContentShare.id, ContentShare.forwarder_id).where(
                    ContentShare.tenant_id == tenant_id, ContentShare.item_id == item_id
                )
            )
        ).all()
    )
    return {shares[k]: v for k, v in grouped.items() if k in shares}
