"""Profiles and tiers recomputed from facts (SQLite and PostgreSQL): RFM, affinity, lifecycle,
tier rules per region, a history row for every tier change and none when nothing changed."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import pytest

from bot.automation import profiling
from bot.automation.clock import SHANGHAI
from bot.automation.errors import InvalidDefinition
from bot.automation.models import Profile, TierChange
from bot.db import session_scope
from tests.automation.world import World

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=SHANGHAI)
RULES = (
    "tiers:\n  - {name: 核心, min_monetary_fen: 500000, min_frequency: 4, max_recency_days: 30}\n"
    "  - {name: 潜力}\n"
)


@pytest.fixture
async def world(db_url):
    w = await World(db_url).setup()
    yield w
    await w.close()


async def test_tiers_change_with_history_and_region_rules(world):
    owner = await world.store("A")
    await world.store("B", region="north")
    for k in range(20):
        await world.order("A", T0 - timedelta(days=7 * k), sku="FT")
        await world.order("B", T0 - timedelta(days=7 * k))
    async with session_scope(world.sessions) as session:
        await profiling.set_tier_rules(session, world.tenant_id, RULES)
        await profiling.set_tier_rules(session, world.tenant_id, "tiers:\n  - {name: 战略}\n", "north")
        with pytest.raises(InvalidDefinition):
            await profiling.set_tier_rules(session, world.tenant_id, "tiers: nope")
    reports = []
    for day in (0, 10, 40, 41):
        async with session_scope(world.sessions) as session:
            reports.append(await profiling.refresh(session, world.tenant_id, T0 + timedelta(days=day)))
    assert [r.tier_changes for r in reports] == [2, 0, 1, 0]
    changes = sorted((c.store_code, c.from_tier, c.to_tier) for c in await world.rows(TierChange))
    assert changes == [("A", "", "核心"), ("A", "核心", "潜力"), ("B", "", "战略")]
    a = (await world.rows(Profile, Profile.subject == "store:A"))[0]
    assert (a.lifecycle, a.recency_days, a.frequency, a.member_id) == ("lapsing", 41, 20, owner)
    assert a.top_aroma == "酱香" and orjson.loads(a.affinity)["aroma"] == {"酱香": 1.0}
    assert len(a.rfm) == 3


async def test_audience_preview_and_campaign_recipients(world):
    from bot.automation import campaigns
    from bot.automation.audience import Audience
    from bot.automation.audience import preview as audience_preview
    from bot.automation.models import CampaignRecipient

    lapsed = await world.store("L1")
    await world.store("L2", following=False)  # in the audience, not reachable
    out = await world.store("L3", opted_out=True)  # never in an audience
    await world.store("A1")  # active
    for code in ("L1", "L2", "L3"):
        await world.order(code, T0 - timedelta(days=45), sku="FT")
    await world.order("A1", T0 - timedelta(days=2), sku="FT")
    async with session_scope(world.sessions) as session:
        await profiling.refresh(session, world.tenant_id, T0)
        who = Audience.parse("kind=store lifecycle=lapsing,dormant aroma=酱香 min_idle=30")
        p = await audience_preview(session, world.tenant_id, who, world.oa)
        cid = await campaigns.create(session, world.tenant_id, "回归", "好久不见")
        total = await campaigns.materialise(
            session, world.tenant_id, cid, world.oa, audience=who, holdout_share=0
        )
    assert (p.total, p.reachable, p.sample) == (2, 1, ("store:L1",))
    assert total == 1
    assert [r.member_id for r in await world.rows(CampaignRecipient)] == [lapsed]
    assert out is not None
    with pytest.raises(InvalidDefinition):
        Audience.parse("lifecycle")
    with pytest.raises(InvalidDefinition):
        Audience.parse("kind=robot")
