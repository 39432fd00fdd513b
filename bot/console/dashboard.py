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


def _scans_clause(actor: Actor) -> ColumnElement[bool]:
    clause = CodeRedemption.tenant_id == actor.tenant_id
    if actor.is_hq:
        return clause
    return and_(
        clause,
        or_(
            CodeRedemption.region_code.in_(scope.codes(actor, "region")),
            CodeRedemption.store_code.in_(scope.codes(actor, "store")),
        ),
    )


def _members_of(actor: Actor) -> Any:
    return select(Member.id).where(scope.members_clause(actor))


async def _count(session: AsyncSession, stmt: Any) -> int:
    return int((await session.execute(stmt)).scalar_one() or 0)


async def load(session: AsyncSession, actor: Actor, now: datetime) -> Dashboard:
    start = day_start(now)
    scans = _scans_clause(actor)
    # one pass over the week's scans (the (tenant_id, scanned_at) index), a count per day
    days = [(start - timedelta(days=back), start - timedelta(days=back - 1)) for back in range(6, -1, -1)]
    counts = (
        await session.execute(
            select(
                *(
                    func.count().filter(CodeRedemption.scanned_at >= lo, CodeRedemption.scanned_at < hi)
                    for lo, hi in days
                )
            ).where(scans, CodeRedemption.scanned_at >= days[0][0])
        )
    ).one()
    week = [DayCount(f"{lo.month}/{lo.day}", int(n)) for (lo, _hi), n in zip(days, counts, strict=True)]
    scans_today = week[-1].count

    orders = [
        OrderIntent.tenant_id == actor.tenant_id,
        OrderIntent.channel == "chat",
        OrderIntent.created_at >= start,
    ]
    if not actor.is_hq:
        orders.append(OrderIntent.member_id.in_(_members_of(actor)))
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(OrderIntent.status == "placed"),
                func.coalesce(func.sum(OrderIntent.total_fen).filter(OrderIntent.status == "placed"), 0),
            ).where(*orders)
        )
    ).one()

    new_members = await _count(
        session,
        select(func.count())
        .select_from(Member)
        .where(scope.members_clause(actor), Member.created_at >= start),
    )
    diversion = await _count(
        session,
        select(func.count())
        .select_from(DiversionAlert)
        .where(scope.alerts_clause(actor), DiversionAlert.status == "open"),
    )
    flags = [FraudFlag.tenant_id == actor.tenant_id, FraudFlag.status == "open"]
    if not actor.is_hq:
        flags.append(FraudFlag.member_id.in_(_members_of(actor)))
    fraud = await _count(session, select(func.count()).select_from(FraudFlag).where(*flags))

    outbound = [OutboundMessage.tenant_id == actor.tenant_id, OutboundMessage.created_at >= start]
    if not actor.is_hq:
        outbound.append(OutboundMessage.member_id.in_(_members_of(actor)))
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
