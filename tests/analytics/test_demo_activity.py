"""The demo's made-up weeks: seeded once, rolled up, and last week's report shows them."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from sqlalchemy import select

from bot.analytics.demo_activity import seed_activity
from bot.analytics.models import WeeklyReport
from bot.db import session_scope


async def test_seeding_twice_stores_once_and_the_report_shows_the_activity(stack, tmp_path):
    await stack.store("DEMO-1", "DEMO-SW", "D-DEMO")
    await stack.member("o-demo-1")
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    for _ in range(2):
        token = await seed_activity(
            stack.services.sessions,
            stack.tenant_id,
            store_id=None,
            region="DEMO-SW",
            archive_dir=tmp_path,
            now=now,
        )
    seeded = await stack.count_events(source="demo")
    assert seeded > 500 and seeded == await stack.count_events()
    async with session_scope(stack.services.sessions) as session:
        report = (await session.execute(select(WeeklyReport).where(WeeklyReport.token == token))).scalar_one()
    figures = orjson.loads(report.figures)
    assert report.week == "2026-W49"
    assert figures["metrics"]["product_views"]["value"] > 0
    assert figures["metrics"]["product_views"]["previous"] > 0
    resp = await stack.client.get(f"/r/report/{token}")
    assert resp.status == 200
