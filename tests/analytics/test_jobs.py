"""The analytics jobs: scheduled at the right Shanghai times, each fire run once across
processes, and a day's rollup run concurrently still ends equal to its recomputation."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from bot.analytics import repository
from bot.analytics.interface import Event
from bot.analytics.models import DailyRollup
from bot.analytics.rollups import rollup_day
from bot.db import session_scope
from bot.scheduler import Scheduler
from bot.wiring.analytics import jobs


def test_the_weekly_report_fires_monday_0800_in_shanghai(stack):
    scheduler = Scheduler(stack.services.redis, stack.services.keys, "Asia/Shanghai")
    jobs(scheduler, stack.services)
    trigger = scheduler._scheduler.get_job("analytics-weekly-report").trigger
    sunday_noon = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, sunday_noon)
    assert fire.astimezone(UTC) == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # Monday 08:00 +08:00
    rollup = scheduler._scheduler.get_job("analytics-rollup-yesterday").trigger
    assert rollup.get_next_fire_time(None, sunday_noon).astimezone(UTC) == datetime(
        2026, 12, 6, 16, 20, tzinfo=UTC
    )


async def test_a_fire_seen_by_three_processes_runs_once(stack):
    ran = []

    async def job() -> None:
        ran.append(1)
        await asyncio.sleep(0.05)

    schedulers = [Scheduler(stack.services.redis, stack.services.keys, "Asia/Shanghai") for _ in range(3)]
    results = await asyncio.gather(*(s._guarded("analytics-weekly-report", 60, job) for s in schedulers))
    assert sorted(results) == [False, False, True] and ran == [1]


async def test_concurrent_rollups_of_one_day_end_equal_to_one_run(stack):
    day = date(2026, 12, 2)
    at = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    events = [
        Event(
            stack.tenant_id,
            f"c:{n}",
            "scan",
            int((at + timedelta(seconds=n)).timestamp() * 1000),
            member_id=n % 7 + 1,
            sku=f"S{n % 3}",
            quantity=1,
            region_code="EAST",
        )
        for n in range(300)
    ]
    async with session_scope(stack.services.sessions) as session:
        await repository.store_events(session, events, received_at=at)
    await asyncio.gather(*(rollup_day(stack.services.sessions, day) for _ in range(4)))
    async with session_scope(stack.services.sessions) as session:
        rows = (
            await session.execute(
                select(DailyRollup.sku, DailyRollup.events, DailyRollup.members).order_by(DailyRollup.sku)
            )
        ).all()
        total = await session.scalar(select(func.count()).select_from(DailyRollup))
    assert [tuple(r) for r in rows] == [("S0", 100, 7), ("S1", 100, 7), ("S2", 100, 7)]
    assert total == 3
