"""Funnels, weekly cohorts and stalls over the member-keyed event rows.

Funnels follow the conventions of 神策 and PostHog: a member reaches step k when the first k
steps happen within the conversion window (1 hour to 30 days) counted from step 1, and

* ``ordered``: in order, other events may come between;
* ``strict``: in order, with no other event of the member between two steps;
* ``any``: all k steps within the window, in any order.

Each member is counted once, at the furthest step any of his attempts reached. Funnels read raw
events of the period (per-member sequences cannot come from daily sums); an index on
``(tenant_id, name, occurred_at)`` serves them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.analytics.interface import CohortRow, Funnel, FunnelStep
from bot.analytics.models import AnalyticsEvent, DailyRollup
from bot.analytics.rollups import SHANGHAI
from bot.membership.models import Member, Store

DEFAULT_STEPS = ("product_view", "add_to_cart", "quote", "order")
MIN_WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(days=30)
ORDERS = ("order", "order_line")


def _check(steps: Sequence[str], window: timedelta, order: str) -> None:
    if not 2 <= len(steps) <= 8:
        raise ValueError("a funnel has 2 to 8 steps")
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise ValueError("the conversion window is 1 hour to 30 days")
    if order not in ("ordered", "strict", "any"):
        raise ValueError("order is ordered, strict or any")


def _reached(
    seq: list[tuple[datetime, str]],
    steps: Sequence[str],
    window: timedelta,
    order: str,
    lo: datetime,
    hi: datetime,
) -> int:
    """How many steps this member's time-ordered events reach, over attempts starting in
    ``[lo, hi)`` (at step 1; in ``any`` order at any step)."""
    best = 0
    for i, (begin, name) in enumerate(seq):
        if not lo <= begin < hi:
            continue
        if order == "any":
            if name not in steps:
                continue
            seen = {n for when, n in seq[i:] if when <= begin + window}
            k = 0
            while k < len(steps) and steps[k] in seen:
                k += 1
        else:
            if name != steps[0]:
                continue
            k = 1
            for when, other in seq[i + 1 :]:
                if when > begin + window or k == len(steps):
                    break
                if other == steps[k]:
                    k += 1
                elif order == "strict":
                    break
        best = max(best, k)
        if best == len(steps):
            break
    return best


def _reached_linear(
    seq: list[tuple[datetime, str]],
    steps: Sequence[str],
    window: timedelta,
    order: str,
    lo: datetime,
    hi: datetime,
) -> int:
    """``_reached`` for ordered and strict funnels in one pass (members with hundreds of events
    over 90 days made the per-start scan quadratic); a property test holds them equal.

    Ordered: ``start[k]`` is the latest start of any chain that got through k steps (a later
    start leaves more of the window), so each event extends the best chain there is."""
    n = len(steps)
    if order == "strict":
        # A strict attempt stops at its first event that is not its next step, so the per-start
        # definition costs at most len(steps) events per start: linear already. (A single running
        # chain is not enough: "v v v c" for v->v->c must restart at the second v, KMP-style.)
        return _reached(seq, steps, window, order, lo, hi)
    start: list[datetime | None] = [None] * (n + 1)
    best = 0
    for when, name in seq:
        for k in range(n - 1, 0, -1):  # high to low: one event moves a chain one step only
            origin = start[k]
            if name == steps[k] and origin is not None and when <= origin + window:
                if start[k + 1] is None or origin > start[k + 1]:  # type: ignore[operator]
                    start[k + 1] = origin
                best = max(best, k + 1)
        if name == steps[0] and lo <= when < hi:
            start[1] = when
            best = max(best, 1)
        if best == n:
            return n
    return best


async def funnel(
    session: AsyncSession,
    tenant_id: int,
    *,
    start: datetime,
    end: datetime,
    steps: Sequence[str] = DEFAULT_STEPS,
    window: timedelta = timedelta(days=7),
    order: str = "ordered",
    sku: str | None = None,
    region_code: str | None = None,
    tier: str | None = None,
) -> Funnel:
    """Members entering step 1 in ``[start, end)`` and how far each got within ``window``.

    With ``sku``, events naming another SKU do not count (events without a SKU, like a quote,
    do), and the ``order`` step is read from order lines of that SKU."""
    _check(steps, window, order)
    names = {("order_line" if (s == "order" and sku) else s) for s in steps}
    wanted = [("order_line" if (s == "order" and sku) else s) for s in steps]
    e = AnalyticsEvent.__table__.c  # Core columns: no ORM row loading for 100,000s of rows
    where = [
        e.tenant_id == tenant_id,
        e.occurred_at >= start,
        e.occurred_at < end + window,
        e.member_id.is_not(None),
    ]
    if order != "strict":
        where.append(e.name.in_(names))
    if sku:
        where.append((e.sku == sku) | (e.sku == ""))
    if region_code:
        where.append(e.region_code == region_code)
    if tier:
        where.append(e.tier == tier)
    connection = await session.connection()
    rows = await connection.execute(
        select(e.member_id, e.occurred_at, e.name).where(*where).order_by(e.occurred_at)
    )
    seqs: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for member_id, when, name in rows:
        seqs[member_id].append((when, name))
    counts = [0] * len(wanted)
    for seq in seqs.values():
        how = _reached if order == "any" else _reached_linear
        for k in range(how(seq, wanted, window, order, start, end)):
            counts[k] += 1
    return Funnel(
        tuple(FunnelStep(s, c) for s, c in zip(steps, counts, strict=True)),
        int(window.total_seconds()),
        order,
    )


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.astimezone(SHANGHAI).isocalendar()
    return f"{year}-W{week:02d}"


def _cohort_rows(
    first_week_start: datetime,
    weeks: int,
    follow: int,
    cohort_of: dict[int, int],
    seen: list[tuple[int, int]],
) -> list[CohortRow]:
    """``seen``: (id, week index since the first week) of each activity."""
    active: dict[tuple[int, int], set[int]] = defaultdict(set)
    for key, week in seen:
        offset = week - cohort_of[key]
        if 1 <= offset <= follow:
            active[(cohort_of[key], offset)].add(key)
    return [
        CohortRow(
            iso_week(first_week_start + timedelta(weeks=w)),
            sum(1 for c in cohort_of.values() if c == w),
            tuple(len(active[(w, k)]) for k in range(1, follow + 1)),
        )
        for w in range(weeks)
    ]


async def weekly_cohorts(
    session: AsyncSession, tenant_id: int, *, first_week_start: datetime, weeks: int, follow: int = 12
) -> list[CohortRow]:
    """New members by the week they joined, and how many were active (any event) in each of the
    ``follow`` weeks after."""
    end = first_week_start + timedelta(weeks=weeks)
    joined = await session.execute(
        select(Member.id, Member.created_at).where(
            Member.tenant_id == tenant_id, Member.created_at >= first_week_start, Member.created_at < end
        )
    )
    week = timedelta(weeks=1)
    cohort_of = {member_id: int((created - first_week_start) / week) for member_id, created in joined}
    seen: list[tuple[int, int]] = []
    if cohort_of:
        e = AnalyticsEvent
        rows = await session.execute(
            select(e.member_id, e.occurred_at)
            .where(
                e.tenant_id == tenant_id,
                e.member_id.in_(list(cohort_of)),
                e.occurred_at >= first_week_start,
                e.occurred_at < end + timedelta(weeks=follow + 1),
            )
            .distinct()
        )
        seen = [
            (member_id, int((when - first_week_start) / week))
            for member_id, when in rows
            if member_id is not None
        ]
    return _cohort_rows(first_week_start, weeks, follow, cohort_of, seen)


async def store_cohorts(
    session: AsyncSession, tenant_id: int, *, first_week_start: datetime, weeks: int, follow: int = 12
) -> list[CohortRow]:
    """New stores by the week they were added, and how many ordered in each of the ``follow``
    weeks after (read from the daily rollups)."""
    end = first_week_start + timedelta(weeks=weeks)
    joined = await session.execute(
        select(Store.id, Store.created_at).where(
            Store.tenant_id == tenant_id, Store.created_at >= first_week_start, Store.created_at < end
        )
    )
    week = timedelta(weeks=1)
    cohort_of = {store_id: int((created - first_week_start) / week) for store_id, created in joined}
    seen: list[tuple[int, int]] = []
    if cohort_of:
        first_day = first_week_start.astimezone(SHANGHAI).date()
        d = DailyRollup
        rows = await session.execute(
            select(d.store_id, d.day)
            .where(
                d.tenant_id == tenant_id,
                d.store_id.in_(list(cohort_of)),
                d.name == "order",
                d.day >= first_day,
                d.day < first_day + timedelta(weeks=weeks + follow + 1),
            )
            .distinct()
        )
        seen = [(store_id, (day - first_day).days // 7) for store_id, day in rows]
    return _cohort_rows(first_week_start, weeks, follow, cohort_of, seen)


# stalls: segment conditions and journey triggers --------------------------------------------------
async def viewed_without_ordering(
    session: AsyncSession, tenant_id: int, *, times: int, now: datetime, days: int = 7, sku: str | None = None
) -> list[int]:
    """Members who viewed products at least ``times`` times in the last ``days`` days (of
    ``sku`` when given) and placed no order in that time."""
    since = now - timedelta(days=days)
    e = AnalyticsEvent
    views = select(e.member_id).where(
        e.tenant_id == tenant_id,
        e.name == "product_view",
        e.occurred_at >= since,
        e.occurred_at < now,
        e.member_id.is_not(None),
        *([e.sku == sku] if sku else []),
    )
    ordered = select(e.member_id).where(
        e.tenant_id == tenant_id,
        e.name.in_(ORDERS),
        e.occurred_at >= since,
        e.occurred_at < now,
        e.member_id.is_not(None),
    )
    rows = await session.scalars(
        views.where(e.member_id.not_in(ordered))
        .group_by(e.member_id)
        .having(func.count() >= times)
        .order_by(e.member_id)
    )
    return [int(m) for m in rows.all() if m is not None]


async def cart_abandoned(
    session: AsyncSession,
    tenant_id: int,
    *,
    now: datetime,
    idle: timedelta = timedelta(hours=24),
    lookback_days: int = 7,
) -> list[tuple[int, str]]:
    """(member, SKU) whose last add to cart is older than ``idle`` and was followed by no order
    and no removal of that SKU (within ``lookback_days``)."""
    since = now - timedelta(days=lookback_days)
    e = AnalyticsEvent
    rows = await session.execute(
        select(e.member_id, e.sku, e.name, func.max(e.occurred_at))
        .where(
            e.tenant_id == tenant_id,
            e.occurred_at >= since,
            e.occurred_at < now,
            e.member_id.is_not(None),
            e.name.in_(("add_to_cart", "remove_from_cart", "order", "order_line")),
        )
        .group_by(e.member_id, e.sku, e.name)
    )
    added: dict[tuple[int, str], datetime] = {}
    closed: dict[tuple[int, str], datetime] = {}
    ordered_any: dict[int, datetime] = {}
    for member_id, sku, name, last in rows:
        if member_id is None:
            continue
        last = last if last.tzinfo else last.replace(tzinfo=UTC)
        if name == "add_to_cart":
            added[(member_id, sku)] = last
        elif name == "order":
            ordered_any[member_id] = max(last, ordered_any.get(member_id, last))
        else:
            closed[(member_id, sku)] = max(last, closed.get((member_id, sku), last))
    out = []
    for (member_id, sku), last in sorted(added.items()):
        if now - last < idle:
            continue
        if closed.get((member_id, sku), datetime.min.replace(tzinfo=UTC)) >= last:
            continue
        if ordered_any.get(member_id, datetime.min.replace(tzinfo=UTC)) >= last:
            continue
        out.append((member_id, sku))
    return out
