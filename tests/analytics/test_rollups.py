"""Property: for any stream of events, the daily rollups equal a recomputation from the raw rows,
also after a re-run and after late events re-roll a past day; other tenants are untouched."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.analytics import repository
from bot.analytics.interface import Event
from bot.analytics.models import AnalyticsEvent, DailyRollup
from bot.analytics.rollups import SHANGHAI, rollup_day
from bot.db import create_engine, session_factory, session_scope
from bot.tenancy.repository import get_or_create_tenant

_tenants = itertools.count(1)
# 2026-12-01 00:00 Shanghai is 2026-11-30 16:00 UTC; the stream spans three local days
BASE = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)

event = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["product_view", "add_to_cart", "scan", "order_line"]),
        "minute": st.one_of(st.integers(0, 3 * 24 * 60 - 1), st.sampled_from([0, 1439, 1440, 2879, 2880])),
        "member": st.one_of(st.none(), st.integers(1, 5)),
        "store": st.one_of(st.none(), st.integers(1, 3)),
        "region": st.sampled_from(["", "EAST", "WEST"]),
        "dist": st.sampled_from(["", "D1"]),
        "sku": st.sampled_from(["", "A", "B"]),
        "qty": st.integers(0, 12),
        "fen": st.integers(0, 50_000),
        "dwell": st.integers(0, 90_000),
    }
)


def _events(tenant: int, raw: list[dict], offset: int) -> list[Event]:
    return [
        Event(
            tenant_id=tenant,
            event_id=f"p:{offset + i}",
            name=e["name"],
            occurred_at=int((BASE + timedelta(minutes=e["minute"], seconds=i % 60)).timestamp() * 1000),
            member_id=e["member"],
            store_id=e["store"],
            sku=e["sku"],
            quantity=e["qty"],
            amount_fen=e["fen"],
            dwell_ms=e["dwell"],
            region_code=e["region"],
            distributor_code=e["dist"],
        )
        for i, e in enumerate(raw)
    ]


def _recompute(rows: list[AnalyticsEvent]) -> dict[tuple, tuple[int, int, int, int, int]]:
    groups: dict[tuple, list[AnalyticsEvent]] = defaultdict(list)
    for r in rows:
        key = (
            r.occurred_at.astimezone(SHANGHAI).date(),
            r.name,
            r.region_code,
            r.distributor_code,
            r.store_id or 0,
            r.sku,
        )
        groups[key].append(r)
    return {
        key: (
            len(rs),
            len({r.member_id for r in rs if r.member_id is not None}),
            sum(r.quantity for r in rs),
            sum(r.amount_fen for r in rs),
            sum(r.dwell_ms for r in rs),
        )
        for key, rs in groups.items()
    }


async def _rollups(session, tenant: int) -> dict[tuple, tuple[int, int, int, int, int]]:
    rows = (await session.scalars(select(DailyRollup).where(DailyRollup.tenant_id == tenant))).all()
    return {
        (r.day, r.name, r.region_code, r.distributor_code, r.store_id, r.sku): (
            r.events,
            r.members,
            r.quantity,
            r.amount_fen,
            r.dwell_ms,
        )
        for r in rows
    }


DAYS = [date(2026, 12, 1) + timedelta(days=n) for n in range(3)]


async def _run(url: str, first: list[dict], late: list[dict]) -> None:
    engine = create_engine(url, pool_size=4)
    sessions = session_factory(engine)
    try:
        async with session_scope(sessions) as session:
            tenant = (await get_or_create_tenant(session, f"r{next(_tenants)}", "r")).id
            other = (await get_or_create_tenant(session, f"r{next(_tenants)}", "r")).id
            received = datetime.now(UTC)
            await repository.store_events(session, _events(tenant, first, 0), received_at=received)
            await repository.store_events(session, _events(other, first[:3], 0), received_at=received)
        for day in DAYS:
            await rollup_day(sessions, day, tenant_id=other)
            await rollup_day(sessions, day)
            await rollup_day(sessions, day)  # a re-run changes nothing
        async with session_scope(sessions) as session:
            before_other = await _rollups(session, other)
            raw = (
                await session.scalars(select(AnalyticsEvent).where(AnalyticsEvent.tenant_id == tenant))
            ).all()
            assert await _rollups(session, tenant) == _recompute(list(raw))
        # late events arrive (and some duplicates); the affected days are rolled up again
        async with session_scope(sessions) as session:
            await repository.store_events(
                session, _events(tenant, first[:2] + late, 0), received_at=datetime.now(UTC)
            )
        for day in DAYS:
            await rollup_day(sessions, day, tenant_id=tenant)
        async with session_scope(sessions) as session:
            raw = (
                await session.scalars(select(AnalyticsEvent).where(AnalyticsEvent.tenant_id == tenant))
            ).all()
            assert await _rollups(session, tenant) == _recompute(list(raw))
            assert await _rollups(session, other) == before_other
    finally:
        await engine.dispose()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(event, max_size=40), late=st.lists(event, max_size=10))
def test_rollups_equal_a_recomputation_from_raw_rows(db_url, first, late):
    asyncio.run(_run(db_url, first, late))
