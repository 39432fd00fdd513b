"""The weekly private-domain report (《私域运营报告》): its figures, per tenant, region or
distributor, each with last week's value and the change.

Behaviour figures (views, carts, content, chat turns) come from the daily rollups; figures
that jiubot records in its own tables (followers, messages, scans, orders, points, alerts,
pushes) are counted there for the week, with indexed range reads. Weeks are ISO weeks in
Asia/Shanghai. A figure jiubot does not record yet is ``None`` (shown as "—").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, column, distinct, func, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

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


@dataclass(frozen=True, slots=True)
class Scope:
    kind: str = "tenant"  # tenant | region | distributor
    code: str = ""


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float | None
    previous: float | None
    unit: str = ""  # "" count | fen | pct | ms

    @property
    def change(self) -> float | None:
        """Week-over-week change as a fraction (None when last week was 0 or unknown)."""
        if self.value is None or not self.previous:
            return None
        return (self.value - self.previous) / self.previous


@dataclass(frozen=True, slots=True)
class DailySeries:
    days: tuple[date, ...]
    scans: tuple[int, ...]
    orders: tuple[int, ...]
    views: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Figures:
    tenant_id: int
    week: str
    scope: Scope
    start: date
    metrics: tuple[Metric, ...]
    daily: DailySeries
    top_skus: tuple[tuple[str, int, int], ...]  # sku, ordered, scanned
    unreachable: tuple[tuple[str, int], ...] = ()  # pushes not delivered, by reason

    def get(self, key: str) -> Metric:
        return next(m for m in self.metrics if m.key == key)

    def as_json(self) -> dict[str, object]:
        return {
            "tenant_id": self.tenant_id,
            "week": self.week,
            "scope": self.scope.kind,
            "scope_code": self.scope.code,
            "start": self.start.isoformat(),
            "metrics": {
                m.key: {"value": m.value, "previous": m.previous, "change": m.change, "unit": m.unit}
                for m in self.metrics
            },
            "daily": {
                "days": [d.isoformat() for d in self.daily.days],
                "scans": list(self.daily.scans),
                "orders": list(self.daily.orders),
                "views": list(self.daily.views),
            },
            "top_skus": [list(t) for t in self.top_skus],
            "unreachable": dict(self.unreachable),
        }


def week_bounds(week: str) -> tuple[datetime, datetime]:
    start = datetime.combine(week_start(week), time(0), SHANGHAI)
    return start.astimezone(UTC), (start + timedelta(weeks=1)).astimezone(UTC)


def previous_week(week: str) -> str:
    return week_of(week_start(week) - timedelta(weeks=1))


def last_full_week(now: datetime) -> str:
    return week_of(now.astimezone(SHANGHAI).date() - timedelta(weeks=1))


class _Week:
    """Counts of one week for one scope."""

    def __init__(self, session: AsyncSession, tenant_id: int, week: str, scope: Scope) -> None:
        self.session, self.tenant_id, self.scope = session, tenant_id, scope
        self.start, self.end = week_bounds(week)
        self.first_day = week_start(week)

    # scope filters ---------------------------------------------------------------------------
    def members_in_scope(self) -> Select[tuple[int]]:
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

    def member_filter(self, col):  # type: ignore[no-untyped-def]
        return True if self.scope.kind == "tenant" else col.in_(self.members_in_scope())

    async def scalar(self, query) -> float:  # type: ignore[no-untyped-def]
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

    def _messages(self):  # type: ignore[no-untyped-def]
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

    def _orders(self, *where):  # type: ignore[no-untyped-def]
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

    def _scans(self):  # type: ignore[no-untyped-def]
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


Figure = Callable[[_Week], Awaitable[float | None]]


def _ratio(a: str, b: str) -> Callable[[dict[str, float | None]], float | None]:
    def compute(values: dict[str, float | None]) -> float | None:
        top, bottom = values.get(a), values.get(b)
        return None if top is None or not bottom else top / bottom

    return compute


# (key, unit, how): the report's metrics in display order
FIGURES: tuple[tuple[str, str, Figure], ...] = (
    ("new_followers", "", _Week.new_followers),
    ("unfollows", "", _Week.unfollows),
    ("active_members", "", _Week.active_members),
    ("messages", "", _Week.messages),
    ("chat_turns", "", lambda w: w.rollup("chat_turn")),
    ("orders", "", _Week.orders),
    ("chat_orders", "", _Week.chat_orders),
    ("sales_fen", "fen", _Week.sales_fen),
    ("reorder_rate", "pct", _Week.reorder_rate),
    ("scans", "", _Week.scans),
    ("unique_scanners", "", _Week.unique_scanners),
    ("new_members_from_scans", "", _Week.new_members_from_scans),
    ("product_views", "", lambda w: w.rollup("product_view")),
    ("product_dwell_ms", "ms", lambda w: w.rollup("product_view", "dwell_ms")),
    ("add_to_cart", "", lambda w: w.rollup("add_to_cart")),
    ("quotes", "", lambda w: w.rollup("quote")),
    ("content_views", "", lambda w: w.rollup("content_view")),
    ("shares", "", lambda w: w.rollup("share")),
    ("coupons_claimed", "", lambda w: w.rollup("coupon_claimed")),
    ("coupons_used", "", lambda w: w.rollup("coupon_used")),
    ("tier_changes", "", _Week.tier_changes),
    ("fraud_flags", "", _Week.fraud_flags),
    ("diversion_alerts", "", _Week.diversion_alerts),
    ("slow_moving_alerts", "", _Week.slow_moving),
    ("points_issued", "", lambda w: w.points(+1)),
    ("points_redeemed", "", lambda w: w.points(-1)),
    ("points_outstanding", "", _Week.points_outstanding),
    ("reply_p95_ms", "ms", _Week.reply_p95_ms),
    ("pushes_delivered", "", lambda w: w.pushes(True)),
    ("pushes_unreachable", "", lambda w: w.pushes(False)),
)
DERIVED: tuple[tuple[str, str, Callable[[dict[str, float | None]], float | None]], ...] = (
    ("net_growth", "", lambda v: (v["new_followers"] or 0) - (v["unfollows"] or 0)),
    ("chat_order_share", "pct", _ratio("chat_orders", "orders")),
    ("average_order_fen", "fen", _ratio("sales_fen", "orders")),
    ("view_to_cart", "pct", _ratio("add_to_cart", "product_views")),
    ("sell_through", "pct", lambda v: None),  # filled from the SKU table below
)


async def _values(session: AsyncSession, tenant_id: int, week: str, scope: Scope) -> dict[str, float | None]:
    w = _Week(session, tenant_id, week, scope)
    values: dict[str, float | None] = {}
    for key, _, how in FIGURES:
        values[key] = await how(w)
    for key, _, derive in DERIVED:
        values[key] = derive(values)
    return values


async def _skus(session: AsyncSession, tenant_id: int, week: str, scope: Scope) -> list[tuple[str, int, int]]:
    d = DailyRollup
    first = week_start(week)
    where = [d.tenant_id == tenant_id, d.day >= first, d.day < first + timedelta(weeks=1), d.sku != ""]
    if scope.kind == "region":
        where.append(d.region_code == scope.code)
    elif scope.kind == "distributor":
        where.append(d.distributor_code == scope.code)
    rows = await session.execute(
        select(
            d.sku,
            func.coalesce(func.sum(d.quantity).filter(d.name == "order_line"), 0),
            func.coalesce(func.sum(d.events).filter(d.name == "scan"), 0),
        )
        .where(*where, d.name.in_(("order_line", "scan")))
        .group_by(d.sku)
    )
    return sorted(((s, int(o), int(n)) for s, o, n in rows), key=lambda t: (-t[1] - t[2], t[0]))[:10]


async def _daily(session: AsyncSession, tenant_id: int, week: str, scope: Scope) -> DailySeries:
    first = week_start(week)
    days = tuple(first + timedelta(days=n) for n in range(7))
    d = DailyRollup
    where = [d.tenant_id == tenant_id, d.day >= first, d.day < first + timedelta(weeks=1)]
    if scope.kind == "region":
        where.append(d.region_code == scope.code)
    elif scope.kind == "distributor":
        where.append(d.distributor_code == scope.code)
    rows = await session.execute(
        select(d.day, d.name, func.sum(d.events))
        .where(*where, d.name.in_(("scan", "order", "product_view")))
        .group_by(d.day, d.name)
    )
    by: dict[tuple[date, str], int] = {(day, name): int(n) for day, name, n in rows}
    return DailySeries(
        days,
        tuple(by.get((day, "scan"), 0) for day in days),
        tuple(by.get((day, "order"), 0) for day in days),
        tuple(by.get((day, "product_view"), 0) for day in days),
    )


async def weekly_figures(session: AsyncSession, tenant_id: int, week: str, scope: Scope = Scope()) -> Figures:
    """Every figure of ``week`` and of the week before, for ``scope``."""
    this = await _values(session, tenant_id, week, scope)
    last = await _values(session, tenant_id, previous_week(week), scope)
    skus = await _skus(session, tenant_id, week, scope)
    last_skus = await _skus(session, tenant_id, previous_week(week), scope)
    for values, rows in ((this, skus), (last, last_skus)):
        ordered = sum(o for _, o, _ in rows)
        values["sell_through"] = (sum(n for _, _, n in rows) / ordered) if ordered else None
    units = {key: unit for key, unit, _ in (*FIGURES, *DERIVED)}
    order = [key for key, _, _ in FIGURES[:2]] + ["net_growth"] + [key for key, _, _ in FIGURES[2:]]
    order += [key for key, _, _ in DERIVED if key != "net_growth"]
    metrics = tuple(Metric(k, this[k], last[k], units[k]) for k in order)
    return Figures(
        tenant_id,
        week,
        scope,
        week_start(week),
        metrics,
        await _daily(session, tenant_id, week, scope),
        tuple(skus),
    )
