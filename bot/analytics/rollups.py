"""Daily rollups: one day's events summed per (tenant, name, region, distributor, store, SKU).

A day is a calendar day in Asia/Shanghai. Rolling up a day replaces that day's rows in one
transaction (delete + INSERT ... SELECT), so a re-run for a past day (late events, a fix) is
idempotent; on PostgreSQL a transaction-scoped advisory lock per day serialises two runs of the
same day. Reports and dashboards read ``analytics_daily``, never the raw events.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.analytics.models import AnalyticsEvent, DailyRollup, RollupRun
from bot.db import insert_ignore_statement, is_postgres, rowcount, session_scope

SHANGHAI = ZoneInfo("Asia/Shanghai")


def day_bounds(day: date, tz: ZoneInfo = SHANGHAI) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def local_day(moment: datetime, tz: ZoneInfo = SHANGHAI) -> date:
    return moment.astimezone(tz).date()


async def rollup_day(
    sessions: async_sessionmaker[AsyncSession], day: date, *, tenant_id: int | None = None
) -> int:
    """Replace ``day``'s rollup rows (of one tenant, or all); returns the rows written."""
    start, end = day_bounds(day)
    e = AnalyticsEvent.__table__.c
    where = [e.occurred_at >= start, e.occurred_at < end]
    if tenant_id is not None:
        where.append(e.tenant_id == tenant_id)
    store = func.coalesce(e.store_id, 0)
    grouped = (
        select(
            e.tenant_id,
            literal(day).label("day"),
            e.name,
            e.region_code,
            e.distributor_code,
            store.label("store_id"),
            e.sku,
            func.count().label("events"),
            func.count(func.distinct(e.member_id)).label("members"),
            func.coalesce(func.sum(e.quantity), 0).label("quantity"),
            func.coalesce(func.sum(e.amount_fen), 0).label("amount_fen"),
            func.coalesce(func.sum(e.dwell_ms), 0).label("dwell_ms"),
        )
        .where(*where)
        .group_by(e.tenant_id, e.name, e.region_code, e.distributor_code, store, e.sku)
    )
    d = DailyRollup.__table__
    async with session_scope(sessions) as session:
        if is_postgres(session):
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext('analytics-rollup'), :day)"),
                {"day": day.toordinal()},
            )
        gone = delete(d).where(d.c.day == day)
        if tenant_id is not None:
            gone = gone.where(d.c.tenant_id == tenant_id)
        await session.execute(gone)
        result = await session.execute(
            insert(d).from_select(
                [
                    "tenant_id",
                    "day",
                    "name",
                    "region_code",
                    "distributor_code",
                    "store_id",
                    "sku",
                    "events",
                    "members",
                    "quantity",
                    "amount_fen",
                    "dwell_ms",
                ],
                grouped,
            )
        )
        written = max(rowcount(result), 0)
        tenants = (
            [tenant_id]
            if tenant_id is not None
            else list((await session.scalars(select(d.c.tenant_id).where(d.c.day == day).distinct())).all())
        )
        runs = RollupRun.__table__
        await session.execute(delete(runs).where(runs.c.day == day, runs.c.tenant_id.in_(tenants)))
        if tenants:
            await session.execute(
                insert_ignore_statement(session, runs, index_elements=["tenant_id", "day"]),
                [
                    {"tenant_id": t, "day": day, "rows": written, "finished_at": datetime.now(UTC)}
                    for t in tenants
                ],
            )
    return written
