"""营销 > 自动化旅程 in the console: a journey's arms, conversions and uplift after a tick; the
page is in the marketing nav for HQ."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.automation.actions import tick
from bot.automation.clock import SHANGHAI
from tests.automation.world import World

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI)
JOURNEY = """
name: win-back
subject: store
trigger: {lapsed_days: 30}
control: 0.3
steps:
  - {id: message, action: message, template: winback}
"""


async def test_journey_numbers_on_the_console(console_app, db_url):
    c = await console_app()
    world = await World(db_url, tenant_id=c.tenant_id).setup()
    try:
        for i in range(20):
            await world.store(f"J{i:02d}")
            await world.order(f"J{i:02d}", T0 - timedelta(days=31))
        await world.load(JOURNEY)
        await tick(world.deps(), c.tenant_id, T0)
    finally:
        await world.close()
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    page = await c.client.get("/console/journeys")
    text = await page.text()
    assert page.status == 200
    assert 'data-testid="journey-win-back"' in text and "实验组" in text and "对照组" in text
    assert "增量转化率" in text and "95% 置信区间" in text
    home = await (await c.client.get("/console/")).text()
    assert 'href="/console/journeys"' in home
