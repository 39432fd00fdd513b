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
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.analytics import week_engagement
from bot.analytics.interface import Scope
from bot.analytics.models import DailyRollup
from bot.analytics.sellthrough import slow_moving, transfer_suggestions, week_start
from bot.analytics.week_counts import WeekCounts, last_full_week, previous_week, week_bounds
from bot.membership.models import Store

__all__ = ["Figures", "Metric", "Scope", "last_full_week", "week_bounds", "weekly_figures"]


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
class SlowRow:
    store: str  # the store's name (code when it has none)
    sku: str
    ordered: int
    scanned: int
    last_ordered_on: date


@dataclass(frozen=True, slots=True)
class TransferRow:
    sku: str
    from_store: str
    to_store: str
    quantity: int


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
    slow_moving: tuple[SlowRow, ...] = ()
    transfers: tuple[TransferRow, ...] = ()
    unreachable_previous: tuple[tuple[str, int], ...] = ()  # the same, last week

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
            "unreachable_previous": dict(self.unreachable_previous),
            "slow_moving": [
                {
                    "store": r.store,
                    "sku": r.sku,
                    "ordered": r.ordered,
                    "scanned": r.scanned,
                    "last_ordered_on": r.last_ordered_on.isoformat(),
                }
                for r in self.slow_moving
            ],
            "transfers": [
                {"sku": t.sku, "from": t.from_store, "to": t.to_store, "quantity": t.quantity}
                for t in self.transfers
            ],
        }


Figure = Callable[[WeekCounts], Awaitable[float | None]]


def _ratio(a: str, b: str) -> Callable[[dict[str, float | None]], float | None]:
    def compute(values: dict[str, float | None]) -> float | None:
        top, bottom = values.get(a), values.get(b)
        return None if top is None or not bottom else top / bottom

    return compute


# (key, unit, how): the report's metrics in display order
FIGURES: tuple[tuple[str, str, Figure], ...] = (
    ("new_followers", "", WeekCounts.new_followers),
    ("unfollows", "", WeekCounts.unfollows),
    ("active_members", "", WeekCounts.active_members),
    ("messages", "", WeekCounts.messages),
    ("chat_turns", "", lambda w: w.rollup("chat_turn")),
    ("orders", "", WeekCounts.orders),
    ("chat_orders", "", WeekCounts.chat_orders),
    ("sales_fen", "fen", WeekCounts.sales_fen),
    ("reorder_rate", "pct", WeekCounts.reorder_rate),
    ("scans", "", WeekCounts.scans),
    ("unique_scanners", "", WeekCounts.unique_scanners),
    ("new_members_from_scans", "", WeekCounts.new_members_from_scans),
    ("product_views", "", lambda w: w.rollup("product_view")),
    ("product_dwell_ms", "ms", lambda w: w.rollup("product_view", "dwell_ms")),
    ("add_to_cart", "", lambda w: w.rollup("add_to_cart")),
    ("quotes", "", lambda w: w.rollup("quote")),
    ("content_views", "", lambda w: w.rollup("content_view")),
    ("shares", "", lambda w: w.rollup("share")),
    ("forwards", "", lambda w: w.rollup("forward")),
    ("content_orders", "", week_engagement.content_orders),
    ("live_reservations", "", week_engagement.live_reservations),
    ("live_attendance", "", week_engagement.live_attendance),
    ("coupons_claimed", "", lambda w: w.rollup("coupon_claimed")),
    ("coupons_used", "", lambda w: w.rollup("coupon_used")),
    ("win_back_conversions", "", week_engagement.win_back_conversions),
    ("journey_steps", "", lambda w: w.rollup("journey_step")),
    ("tier_changes", "", WeekCounts.tier_changes),
    ("fraud_flags", "", WeekCounts.fraud_flags),
    ("diversion_alerts", "", WeekCounts.diversion_alerts),
    ("slow_moving_alerts", "", WeekCounts.slow_moving),
    ("points_issued", "", lambda w: w.points(+1)),
    ("points_redeemed", "", lambda w: w.points(-1)),
    ("points_outstanding", "", WeekCounts.points_outstanding),
    ("reply_p95_ms", "ms", WeekCounts.reply_p95_ms),
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
    w = WeekCounts(session, tenant_id, week, scope)
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
    counts = WeekCounts(session, tenant_id, week, scope)
    last_counts = WeekCounts(session, tenant_id, previous_week(week), scope)
    slow, transfers = await _stock(session, tenant_id, week, scope)
    return Figures(
        tenant_id,
        week,
        scope,
        week_start(week),
        metrics,
        await _daily(session, tenant_id, week, scope),
        tuple(skus),
        tuple(sorted((await counts.unreachable_reasons()).items())),
        slow,
        transfers,
        tuple(sorted((await last_counts.unreachable_reasons()).items())),
    )


async def _stock(
    session: AsyncSession, tenant_id: int, week: str, scope: Scope
) -> tuple[tuple[SlowRow, ...], tuple[TransferRow, ...]]:
    """Slow-moving stock and transfer suggestions as of the week's Sunday, for the scope's stores."""
    today = week_start(week) + timedelta(days=6)
    slow = await slow_moving(session, tenant_id, today=today)
    moves = await transfer_suggestions(session, tenant_id, today=today)
    wanted = {s.store_id for s in slow} | {t.from_store_id for t in moves} | {t.to_store_id for t in moves}
    stores = {}
    if wanted:
        rows = await session.execute(
            select(Store.id, Store.code, Store.name, Store.region_code, Store.distributor_code).where(
                Store.tenant_id == tenant_id, Store.id.in_(wanted)
            )
        )
        stores = {r.id: r for r in rows}

    def inside(store_id: int) -> bool:
        store = stores.get(store_id)
        if scope.kind == "tenant":
            return True
        if store is None:
            return False
        return (store.region_code if scope.kind == "region" else store.distributor_code) == scope.code

    def name(store_id: int) -> str:
        store = stores.get(store_id)
        return (store.name or store.code) if store is not None else f"#{store_id}"

    return (
        tuple(
            SlowRow(name(s.store_id), s.sku, s.ordered, s.scanned, s.last_ordered_on)
            for s in slow
            if inside(s.store_id)
        ),
        tuple(
            TransferRow(t.sku, name(t.from_store_id), name(t.to_store_id), t.quantity)
            for t in moves
            if inside(t.from_store_id)
        ),
    )
