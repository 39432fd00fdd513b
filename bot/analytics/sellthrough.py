"""Sell-through (动销): consumer scans are bottles opened in the market, set against bottles
ordered, per SKU x region x distributor x week; slow-moving alerts per store; and a simple
regional transfer (区域调拨) suggestion. Everything here reads the daily rollups only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.analytics.interface import SellThrough, SlowMoving, Transfer
from bot.analytics.models import DailyRollup, SlowMovingAlert
from bot.analytics.rollups import SHANGHAI
from bot.db import insert_ignore_statement


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(week: str) -> date:
    """Monday of an ISO week ``YYYY-Www``; ValueError when it is not one."""
    year, _, number = week.partition("-W")
    return date.fromisocalendar(int(year), int(number), 1)


async def sell_through(
    session: AsyncSession, tenant_id: int, *, first: date, weeks: int = 1, region_code: str | None = None
) -> list[SellThrough]:
    d = DailyRollup
    rows = await session.execute(
        select(
            d.day, d.sku, d.region_code, d.distributor_code, d.name, func.sum(d.quantity), func.sum(d.events)
        )
        .where(
            d.tenant_id == tenant_id,
            d.day >= first,
            d.day < first + timedelta(weeks=weeks),
            d.name.in_(("order_line", "scan")),
            d.sku != "",
            *([d.region_code == region_code] if region_code else []),
        )
        .group_by(d.day, d.sku, d.region_code, d.distributor_code, d.name)
    )
    cells: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for day, sku, region, distributor, name, quantity, events in rows:
        cell = cells[(week_of(day), sku, region, distributor)]
        if name == "order_line":
            cell[0] += int(quantity or 0)
        else:
            cell[1] += int(events or 0)
    return [SellThrough(w, s, r, d_, o, sc) for (w, s, r, d_), (o, sc) in sorted(cells.items())]


@dataclass
class _Cell:
    """A store's SKU over the look-back period."""

    region: str = ""
    ordered: int = 0
    scanned: int = 0
    order_days: int = 0
    first_order: date | None = None
    last_order: date | None = None
    last_scan: date | None = None


async def _per_store(
    session: AsyncSession, tenant_id: int, since: date, until: date
) -> dict[tuple[int, str], _Cell]:
    d = DailyRollup
    rows = await session.execute(
        select(
            d.store_id,
            d.sku,
            d.name,
            d.region_code,
            func.sum(d.quantity),
            func.sum(d.events),
            func.min(d.day),
            func.max(d.day),
            func.count(func.distinct(d.day)),
        )
        .where(
            d.tenant_id == tenant_id,
            d.day >= since,
            d.day <= until,
            d.store_id != 0,
            d.sku != "",
            d.name.in_(("order_line", "scan")),
        )
        .group_by(d.store_id, d.sku, d.name, d.region_code)
    )
    out: dict[tuple[int, str], _Cell] = defaultdict(_Cell)
    for store_id, sku, name, region, quantity, events, first, last, days in rows:
        cell = out[(store_id, sku)]
        cell.region = cell.region or region
        if name == "order_line":
            cell.ordered += int(quantity or 0)
            cell.first_order = min(first, cell.first_order or first)
            cell.last_order = max(last, cell.last_order or last)
            cell.order_days += int(days)
        else:
            cell.scanned += int(events or 0)
            cell.last_scan = max(last, cell.last_scan or last)
    return out


async def slow_moving(
    session: AsyncSession, tenant_id: int, *, today: date, weeks: int = 4, lookback_weeks: int = 13
) -> list[SlowMoving]:
    """Store x SKU ordered in the last ``lookback_weeks`` (first order at least ``weeks`` ago)
    with no consumer scan in the last ``weeks`` weeks."""
    quiet_since = today - timedelta(weeks=weeks)
    cells = await _per_store(session, tenant_id, today - timedelta(weeks=lookback_weeks), today)
    out = []
    for (store_id, sku), c in sorted(cells.items()):
        if not c.ordered or c.first_order is None or c.last_order is None or c.first_order > quiet_since:
            continue
        if c.last_scan is not None and c.last_scan > quiet_since:
            continue
        out.append(SlowMoving(store_id, sku, c.ordered, c.scanned, c.last_order))
    return out


async def raise_slow_moving_alerts(
    session: AsyncSession, tenant_id: int, *, today: date, weeks: int = 4
) -> list[SlowMoving]:
    """Record this week's slow-moving alerts (once per store, SKU and week); returns them."""
    found = await slow_moving(session, tenant_id, today=today, weeks=weeks)
    if found:
        await session.execute(
            insert_ignore_statement(
                session, SlowMovingAlert.__table__, index_elements=["tenant_id", "store_id", "sku", "week"]
            ),
            [
                {
                    "tenant_id": tenant_id,
                    "store_id": s.store_id,
                    "sku": s.sku,
                    "week": week_of(today),
                    "ordered": s.ordered,
                    "scanned": s.scanned,
                    "last_ordered_on": s.last_ordered_on,
                    "created_at": datetime.now(SHANGHAI),
                }
                for s in found
            ],
        )
    return found


async def transfer_suggestions(
    session: AsyncSession, tenant_id: int, *, today: date, weeks: int = 4, lookback_weeks: int = 13
) -> list[Transfer]:
    """Slow-moving stock of a store, offered to stores of the same region that keep reordering the
    same SKU (ordered on 2+ days) and sell it through (scans >= 80% of orders)."""
    cells = await _per_store(session, tenant_id, today - timedelta(weeks=lookback_weeks), today)
    slow = await slow_moving(session, tenant_id, today=today, weeks=weeks, lookback_weeks=lookback_weeks)
    out = []
    for s in slow:
        region = cells[(s.store_id, s.sku)].region
        surplus = s.ordered - s.scanned
        takers = sorted(
            (
                (store_id, c)
                for (store_id, sku), c in cells.items()
                if sku == s.sku
                and store_id != s.store_id
                and c.region == region
                and c.order_days >= 2
                and c.scanned >= 0.8 * c.ordered
            ),
            key=lambda t: (-t[1].scanned, t[0]),
        )
        for store_id, c in takers:
            if surplus <= 0:
                break
            quantity = min(surplus, max(1, c.ordered // max(1, c.order_days)))
            out.append(Transfer(s.sku, s.store_id, store_id, quantity, region))
            surplus -= quantity
    return out
