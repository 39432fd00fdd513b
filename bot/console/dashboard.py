"""The dashboard's numbers for one actor: today's scans, chat orders, new members, open alerts,
outbound reach, and scans of the last 7 days. Every count is filtered by the actor's tenant and
subtree in SQL (``bot.console.scope``); "today" is the Asia/Shanghai calendar day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import scope
from bot.console.policy import Actor
from bot.membership.code_models import CodeRedemption, DiversionAlert, FraudFlag
from bot.membership.models import Member
from bot.messaging.outbound_models import OutboundMessage
from bot.ordering.models import OrderIntent

TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class DayCount:
    label: str  # 12/06
    count: int


@dataclass(frozen=True)
class Dashboard:
    scans_today: int
    chat_orders_today: int
    chat_orders_placed_today: int
    chat_order_fen_today: int
    new_members_today: int
    open_diversion_alerts: int
    open_fraud_flags: int
    outbound_today: dict[str, int]  # status -> count
    scans_week: tuple[DayCount, ...]
    as_of: datetime

    @property
    def outbound_total(self) -> int:
        return sum(self.outbound_today.values())

    @property
    def outbound_delivered_share(self) -> int:
        """Percent of today's outbound messages WeChat accepted."""
        total = self.outbound_total
        return 0 if total == 0 else round(100 * self.outbound_today.get("sent", 0) / total)

    @property
    def week_max(self) -> int:
        return max((d.count for d in self.scans_week), default=0)


def day_start(now: datetime) -> datetime:
    local = now.astimezone(TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _scan_parts(actor: Actor) -> tuple[ColumnElement[bool], ...]:
    """The actor's scans as disjoint conditions, each an index range of its own: HQ's are the
    tenant's; below HQ, those of a batch shipped to a region of the subtree, plus those at a store
    of it that are not already counted by their region. (One ORed filter would make the planner
    read every scan of the tenant and test each.)"""
    tenant = CodeRedemption.tenant_id == actor.tenant_id
    if actor.is_hq:
        return (tenant,)
    regions = scope.codes(actor, "region")
    return (
        and_(tenant, CodeRedemption.region_code.in_(regions)),
        and_(
            tenant,
            CodeRedemption.store_code.in_(scope.codes(actor, "store")),
            or_(CodeRedemption.region_code.is_(None), CodeRedemption.region_code.not_in(regions)),
        ),
    )


def _member_parts(actor: Actor) -> tuple[ColumnElement[bool], ...]:
    """Members, likewise: the tenant's, or the disjoint branches of the scope rule."""
    tenant = Member.tenant_id == actor.tenant_id
    return (tenant,) if actor.is_hq else tuple(and_(tenant, b) for b in scope.member_branches(actor))


async def _count(session: AsyncSession, stmt: Any) -> int:
    return int((await session.execute(stmt)).scalar_one() or 0)


async def load(session: AsyncSession, actor: Actor, now: datetime) -> Dashboard:
    await scope.custom_plans(session)
    start = day_start(now)
    # one pass per part over the week's scans (an index on (tenant, region or store, scanned_at)),
    # a count per day
    days = [(start - timedelta(days=back), start - timedelta(days=back - 1)) for back in range(6, -1, -1)]
    counts = [0] * len(days)
    for part in _scan_parts(actor):
        per_day = (
            await session.execute(
                select(
                    *(
                        func.count().filter(CodeRedemption.scanned_at >= lo, CodeRedemption.scanned_at < hi)
                        for lo, hi in days
                    )
                ).where(part, CodeRedemption.scanned_at >= days[0][0])
            )
        ).one()
        counts = [n + int(m) for n, m in zip(counts, per_day, strict=True)]
    week = [DayCount(f"{lo.month}/{lo.day}", n) for (lo, _hi), n in zip(days, counts, strict=True)]
    scans_today = week[-1].count

    orders = [
        OrderIntent.tenant_id == actor.tenant_id,
        OrderIntent.channel == "chat",
        OrderIntent.created_at >= start,
    ]
    if not actor.is_hq:
        orders.append(OrderIntent.member_id.in_(scope.member_ids(actor)))
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(OrderIntent.status == "placed"),
                func.coalesce(func.sum(OrderIntent.total_fen).filter(OrderIntent.status == "placed"), 0),
            ).where(*orders)
        )
    ).one()

    new_members = 0
    for part in _member_parts(actor):
        new_members += await _count(
            session, select(func.count()).select_from(Member).where(part, Member.created_at >= start)
        )
    diversion = await _count(
        session,
        select(func.count())
        .select_from(DiversionAlert)
        .where(scope.alerts_clause(actor), DiversionAlert.status == "open"),
    )
    flags = [FraudFlag.tenant_id == actor.tenant_id, FraudFlag.status == "open"]
    if not actor.is_hq:
        flags.append(FraudFlag.member_id.in_(scope.member_ids(actor)))
    fraud = await _count(session, select(func.count()).select_from(FraudFlag).where(*flags))

    outbound = [OutboundMessage.tenant_id == actor.tenant_id, OutboundMessage.created_at >= start]
    if not actor.is_hq:
        outbound.append(OutboundMessage.member_id.in_(scope.member_ids(actor)))
    by_status = {
        status: int(n)
        for status, n in (
            await session.execute(
                select(OutboundMessage.status, func.count()).where(*outbound).group_by(OutboundMessage.status)
            )
        ).all()
    }
    return Dashboard(
        scans_today,
        int(row[0]),
        int(row[1]),
        int(row[2] or 0),
        new_members,
        diversion,
        fraud,
        by_status,
        tuple(week),
        now,
    )


def to_json(board: Dashboard) -> bytes:
    return orjson.dumps(board)


def from_json(raw: bytes | str) -> Dashboard:
    doc = orjson.loads(raw)
    doc["scans_week"] = tuple(DayCount(**d) for d in doc["scans_week"])
    doc["as_of"] = datetime.fromisoformat(doc["as_of"])
    return Dashboard(**doc)
