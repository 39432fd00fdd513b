"""The demo's made-up weeks: seeded once, rolled up, and last week's report shows them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

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
    page = await asyncio.to_thread(Path(report.html_path).read_text, encoding="utf-8")
    assert "私域运营报告" in page
    # the report's token alone opens nothing (the pushed links are signed for their recipient)
    assert (await stack.client.get(f"/r/report/{token}")).status == 403
