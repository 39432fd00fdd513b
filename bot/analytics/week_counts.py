"""The weekly report's counts for one week and one scope, read from jiubot's own tables
(followers, messages, orders, scans, points, alerts, pushes) and from the daily rollups."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, column, distinct, func, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.analytics.interface import Scope
from bot.analytics.models import DailyRollup, SlowMovingAlert
from bot.analytics.rollups import SHANGHAI
from bot.analytics.sellthrough import week_of, week_start
from bot.membership.code_models import CodeRedemption, DiversionAlert, FraudFlag
from bot.membership.ledger_models import PointsAccount, PointsLedger
from bot.membership.models import Member, MemberIdentity, Store
from bot.messaging.outbound_models import OutboundMessage
from bot.ordering.models import OrderIntent

# tables of the WeChat boundary, read by name only (that layer sits above this one)
_inbound = table(
    "inbound_messages",
    column("tenant_id"),
    column("openid"),
    column("appid"),
    column("msg_type"),
    column("latency_ms"),
    column("received_at"),
)
_interactions = table("interactions", column("tenant_id"), column("member_id"), column("occurred_at"))


def week_bounds(week: str) -> tuple[datetime, datetime]:
    start = datetime.combine(week_start(week), time(0), SHANGHAI)
    return start.astimezone(UTC), (start + timedelta(weeks=1)).astimezone(UTC)


def previous_week(week: str) -> str:
    return week_of(week_start(week) - timedelta(weeks=1))


def last_full_week(now: datetime) -> str:
    return week_of(now.astimezone(SHANGHAI).date() - timedelta(weeks=1))


class WeekCounts:
    """Counts of one week for one scope."""

    def __init__(self, session: AsyncSession, tenant_id: int, week: str, scope: Scope) -> None:
        self.session, self.tenant_id, self.scope = session, tenant_id, scope
        self.start, self.end = week_bounds(week)
        self.first_day = week_start(week)

    # scope filters ---------------------------------------------------------------------------
    def members_in_scope(self) -> Select[Any]:
        m = Member
        query = select(m.id).where(m.tenant_id == self.tenant_id)
        if self.scope.kind == "region":
            stores = select(Store.id).where(
                Store.tenant_id == self.tenant_id, Store.region_code == self.scope.code
            )
            query = query.where(or_(m.region_code == self.scope.code, m.store_id.in_(stores)))
        elif self.scope.kind == "distributor":
            stores = select(Store.id).where(
                Store.tenant_id == self.tenant_id, Store.distributor_code == self.scope.code
            )
            query = query.where(or_(m.distributor_code == self.scope.code, m.store_id.in_(stores)))
        return query

    def member_filter(self, col: Any) -> Any:
        return True if self.scope.kind == "tenant" else col.in_(self.members_in_scope())

    async def scalar(self, query: Any) -> float:
        return float(await self.session.scalar(query) or 0)

    # figures ---------------------------------------------------------------------------------
    async def new_followers(self) -> float:
        i = MemberIdentity
        return await self.scalar(
            select(func.count()).where(
                i.tenant_id == self.tenant_id,
                i.subscribed_at >= self.start,
                i.subscribed_at < self.end,
                self.member_filter(i.member_id),
            )
        )

    async def unfollows(self) -> float:
        i = MemberIdentity
        return await self.scalar(
            select(func.count()).where(
                i.tenant_id == self.tenant_id,
                i.unsubscribed_at >= self.start,
                i.unsubscribed_at < self.end,
                self.member_filter(i.member_id),
            )
        )

    async def active_members(self) -> float:
        x = _interactions.c
        return await self.scalar(
            select(func.count(distinct(x.member_id))).where(
                x.tenant_id == self.tenant_id,
                x.occurred_at >= self.start,
                x.occurred_at < self.end,
                x.member_id.is_not(None),
                self.member_filter(x.member_id),
            )
        )

    def _messages(self) -> Any:
        x = _inbound.c
        query = select(x.latency_ms).where(
            x.tenant_id == self.tenant_id,
            x.received_at >= self.start,
            x.received_at < self.end,
            x.msg_type != "event",
        )
        if self.scope.kind != "tenant":
            ids = select(MemberIdentity.openid).where(MemberIdentity.member_id.in_(self.members_in_scope()))
            query = query.where(x.openid.in_(ids))
        return query

    async def messages(self) -> float:
        return await self.scalar(select(func.count()).select_from(self._messages().subquery()))

    async def reply_p95_ms(self) -> float | None:
        latencies = sorted((await self.session.scalars(self._messages())).all())
        if not latencies:
            return None
        return float(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))])

    def _orders(self, *where) -> Any:
        o = OrderIntent
        return and_(
            o.tenant_id == self.tenant_id,
            o.status == "placed",
            o.created_at >= self.start,
            o.created_at < self.end,
            self.member_filter(o.member_id),
            *where,
        )

    async def orders(self) -> float:
        return await self.scalar(select(func.count()).where(self._orders()))

    async def chat_orders(self) -> float:
        return await self.scalar(select(func.count()).where(self._orders(OrderIntent.channel == "chat")))

    async def sales_fen(self) -> float:
        return await self.scalar(
            select(func.coalesce(func.sum(OrderIntent.total_fen), 0)).where(self._orders())
        )

    async def reorder_rate(self) -> float | None:
        o = OrderIntent
        buyers = set(
            (await self.session.scalars(select(o.member_id).distinct().where(self._orders()))).all()
        ) - {None}
        if not buyers:
            return None
        before = await self.session.scalars(
            select(o.member_id)
            .distinct()
            .where(
                o.tenant_id == self.tenant_id,
                o.status == "placed",
                o.created_at < self.start,
                o.member_id.in_(buyers),
            )
        )
        return len(set(before.all())) / len(buyers)

    def _scans(self) -> Any:
        r = CodeRedemption
        where = [r.tenant_id == self.tenant_id, r.scanned_at >= self.start, r.scanned_at < self.end]
        if self.scope.kind == "region":
            where.append(r.region_code == self.scope.code)
        elif self.scope.kind == "distributor":
            stores = select(Store.code).where(
                Store.tenant_id == self.tenant_id, Store.distributor_code == self.scope.code
            )
            where.append(r.store_code.in_(stores))
        return and_(*where)

    async def scans(self) -> float:
        return await self.scalar(select(func.count()).where(self._scans()))

    async def unique_scanners(self) -> float:
        return await self.scalar(select(func.count(distinct(CodeRedemption.member_id))).where(self._scans()))

    async def new_members_from_scans(self) -> float:
        r = CodeRedemption
        return await self.scalar(
            select(func.count(distinct(r.member_id)))
            .join(Member, Member.id == r.member_id)
            .where(self._scans(), Member.created_at >= self.start, Member.created_at < self.end)
        )

    async def rollup(self, name: str, field: str = "events") -> float:
        d = DailyRollup
        where = [
            d.tenant_id == self.tenant_id,
            d.day >= self.first_day,
            d.day < self.first_day + timedelta(weeks=1),
            d.name == name,
        ]
        if self.scope.kind == "region":
            where.append(d.region_code == self.scope.code)
        elif self.scope.kind == "distributor":
            where.append(d.distributor_code == self.scope.code)
        return await self.scalar(select(func.coalesce(func.sum(getattr(d, field)), 0)).where(*where))

    async def tier_changes(self) -> float:
        m = Member
        return await self.scalar(
            select(func.count()).where(
                m.tenant_id == self.tenant_id,
                m.tier_updated_at >= self.start,
                m.tier_updated_at < self.end,
                self.member_filter(m.id),
            )
        )

    async def fraud_flags(self) -> float:
        f = FraudFlag
        return await self.scalar(
            select(func.count()).where(
                f.tenant_id == self.tenant_id,
                f.created_at >= self.start,
                f.created_at < self.end,
                self.member_filter(f.member_id),
            )
        )

    async def diversion_alerts(self) -> float:
        a = DiversionAlert
        where = [a.tenant_id == self.tenant_id, a.created_at >= self.start, a.created_at < self.end]
        if self.scope.kind == "region":
            where.append(a.region_code == self.scope.code)
        elif self.scope.kind == "distributor":
            where.append(a.distributor_code == self.scope.code)
        return await self.scalar(select(func.count()).where(*where))

    async def points(self, sign: int) -> float:
        p, acc = PointsLedger, PointsAccount
        query = (
            select(func.coalesce(func.sum(p.delta), 0))
            .join(acc, acc.id == p.account_id)
            .where(
                p.tenant_id == self.tenant_id,
                p.created_at >= self.start,
                p.created_at < self.end,
                p.delta > 0 if sign > 0 else p.delta < 0,
                self.member_filter(acc.member_id),
            )
        )
        return abs(await self.scalar(query))

    async def points_outstanding(self) -> float:
        acc = PointsAccount
        return await self.scalar(
            select(func.coalesce(func.sum(acc.balance), 0)).where(
                acc.tenant_id == self.tenant_id, acc.created_at < self.end, self.member_filter(acc.member_id)
            )
        )

    async def pushes(self, delivered: bool) -> float:
        o = OutboundMessage
        status = o.status == "sent" if delivered else o.status.in_(("undeliverable", "failed", "refused"))
        return await self.scalar(
            select(func.count()).where(
                o.tenant_id == self.tenant_id,
                o.created_at >= self.start,
                o.created_at < self.end,
                status,
                self.member_filter(o.member_id),
            )
        )

    async def unreachable_reasons(self) -> dict[str, int]:
        o = OutboundMessage
        rows = await self.session.execute(
            select(o.reason, func.count())
            .where(
                o.tenant_id == self.tenant_id,
                o.created_at >= self.start,
                o.created_at < self.end,
                o.status.in_(("undeliverable", "failed", "refused")),
                self.member_filter(o.member_id),
            )
            .group_by(o.reason)
        )
        return {reason or "unknown": int(n) for reason, n in rows}

    async def slow_moving(self) -> float:
        s = SlowMovingAlert
        return await self.scalar(
            select(func.count()).where(s.tenant_id == self.tenant_id, s.week == week_of(self.first_day))
        )
