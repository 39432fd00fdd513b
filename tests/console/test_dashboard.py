"""The dashboard's numbers on both databases: per Shanghai calendar day, scoped to the reader's
subtree, and kept for a minute per scope (then recomputed)."""

from __future__ import annotations

from datetime import timedelta

from bot.console import dashboard
from bot.console.policy import TENANT_SCOPE, Actor, Scope
from bot.db import session_scope
from bot.membership import batches
from bot.membership.code_models import CodeRedemption
from tests.console.test_web import _tree


async def _scans(c, region: str, when, count: int, first_serial: int) -> None:  # type: ignore[no-untyped-def]
    member = await c.member(f"dash-{region}-openid-00000001")
    async with session_scope(c.services.sessions) as session:
        batch = await batches.create_batch(
            session,
            c.tenant_id,
            brand="黔酒",
            sku=f"D-{region}-{first_serial}",
            product_name="酱香",
            size=1000,
        )
        for n in range(count):
            session.add(
                CodeRedemption(
                    tenant_id=c.tenant_id,
                    batch_id=batch.id,
                    serial=first_serial + n,
                    member_id=member,
                    channel="mp",
                    scanned_at=when,
                    region_code=region,
                )
            )


async def test_counts_per_day_and_per_scope(console_app):
    c = await console_app()
    await _tree(c)
    now = c.clock()
    start = dashboard.day_start(now)
    await _scans(c, "SW", now, 3, 1)
    await _scans(c, "EC", now, 2, 1)
    await _scans(c, "SW", start - timedelta(seconds=1), 4, 100)  # yesterday, one second before midnight
    await _scans(c, "SW", start - timedelta(days=7), 5, 200)  # outside the week
    hq = Actor(1, c.tenant_id, "hq_admin", TENANT_SCOPE)
    sw = Actor(2, c.tenant_id, "region_manager", Scope("region", 1, "/r1/"))
    async with session_scope(c.services.sessions) as session:
        board = await dashboard.load(session, hq, now)
        region = await dashboard.load(session, sw, now)
    assert board.scans_today == 5 and [d.count for d in board.scans_week][-2:] == [4, 5]
    assert sum(d.count for d in board.scans_week) == 9
    assert region.scans_today == 3 and [d.count for d in region.scans_week][-2:] == [4, 3]
    assert dashboard.from_json(dashboard.to_json(board)) == board


async def test_the_page_keeps_its_numbers_for_a_minute(console_app, redis_client):
    c = await console_app()
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    first = await (await c.client.get("/console/")).text()
    assert 'data-testid="stat-members">0<' in first
    await c.member("dash-new-member-openid-001")
    cached = await (await c.client.get("/console/")).text()
    assert 'data-testid="stat-members">0<' in cached  # within the minute: the same numbers
    await redis_client.delete(c.services.keys("console", "dashboard", c.tenant_id, "/"))  # the minute is over
    fresh = await (await c.client.get("/console/")).text()
    assert 'data-testid="stat-members">1<' in fresh
