"""Coupon campaigns through the reference core over real HTTP, on both databases: HQ creates a
region's campaign (bad input refused beside the field, nothing sent to the core; a double submit,
also concurrent, makes one campaign and one audit entry); a region manager sees HQ's and his own
region's campaigns only, another region's is a 404, and he cannot create one."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.console import org
from bot.console.campaigns import SHANGHAI
from bot.console.models import AuditEntry
from bot.db import session_scope
from tests.ordering_flows.conftest import (  # noqa: F401  (fixtures)
    CORE_KEY,
    core_db,
    core_seed_pg,
    core_seed_sqlite,
    start_core,
)

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
TOKEN = re.compile(
    r'data-testid="campaign-form">\s*<input[^>]*><input type="hidden" name="token" value="([^"]+)"'
)


@pytest.fixture
async def core(core_db):  # noqa: F811
    server = await start_core(core_db)
    yield server
    await server.runner.cleanup()


async def _setup(console_app, core):  # type: ignore[no-untyped-def]
    c = await console_app(core_url=core.url, core_api_key=CORE_KEY)
    regions = sorted(await c.services.core.org.regions(), key=lambda r: r.id)
    specs = [org.NodeSpec("region", r.id, r.code, r.name, f"/r{r.id}/", None) for r in regions]
    async with session_scope(c.services.sessions) as session:
        await org.apply_tree(session, c.tenant_id, specs, now=c.clock())
    return c, [r.id for r in regions]


def _form(c, csrf: str, token: str, **changes: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    today = c.clock().astimezone(SHANGHAI).date()
    data = {
        "_csrf": csrf, "token": token, "name": "双十二满减", "kind": "amount_off", "amount": "20",
        "threshold": "199", "audience": "consumers", "region": "", "starts": today.isoformat(),
        "ends": (today + timedelta(days=10)).isoformat(), "valid_days": "30",
        "valid_until": (today + timedelta(days=60)).isoformat(), "stock": "500", "per_holder": "1",
    }  # fmt: skip
    return {**data, **changes}


async def _audits(c) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return int(
            (
                await session.execute(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.action == "coupon.campaign.create")
                )
            ).scalar_one()
        )


async def _core_count(c) -> int:  # type: ignore[no-untyped-def]
    return len((await c.services.core.coupons.campaigns(limit=100)).items)


async def test_hq_creates_a_regions_campaign_once(console_app, core):
    c, (r1, _r2) = await _setup(console_app, core)
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    text = await (await c.client.get("/console/coupons")).text()
    csrf, token = CSRF.search(text).group(1), TOKEN.search(text).group(1)
    before = await _core_count(c)
    today = c.clock().astimezone(SHANGHAI).date()
    for bad, message in (
        ({"name": "x"}, "活动名称"),
        ({"amount": "abc"}, "金额须为"),
        ({"ends": (today - timedelta(days=1)).isoformat()}, "不能早于开始日期"),
        ({"stock": "0"}, "发放总量"),
        ({"region": "999999"}, "不在您的管辖范围"),
    ):
        resp = await c.client.post("/console/coupons", data=_form(c, csrf, token, **bad))
        assert resp.status == 400 and message in await resp.text(), bad
    assert await _core_count(c) == before and await _audits(c) == 0

    data = _form(c, csrf, token, region=str(r1))
    answers = await asyncio.gather(
        *(c.client.post("/console/coupons", data=data, allow_redirects=False) for _ in range(3))
    )
    assert [r.status for r in answers] == [303] * 3
    assert sum("campaign_created" in r.headers["Location"] for r in answers) == 1
    assert len({r.headers["Location"].split("?")[0] for r in answers}) == 1  # the same campaign
    assert await _core_count(c) == before + 1 and await _audits(c) == 1
    made = (await c.services.core.coupons.campaigns(limit=100)).items
    ours = next(x for x in made if x.name == "双十二满减")
    assert (
        ours.audience_filter.region_ids == (r1,)
        and ours.amount_off_fen == 2000
        and ours.threshold_fen == 19900
    )
    page = await c.client.get(f"/console/coupons/{ours.id}")
    assert page.status == 200 and "满¥199.00减¥20.00" in await page.text()


async def test_a_region_manager_sees_lineage_only_and_cannot_create(console_app, core):
    c, (r1, r2) = await _setup(console_app, core)
    coupons = c.services.core.coupons
    today = c.clock().astimezone(SHANGHAI).date()
    base = _form(c, "", "")
    made = {}
    for name, regions in (("全国券", []), ("一区券", [r1]), ("二区券", [r2])):
        made[name] = await coupons.create_campaign(
            {
                "name": name,
                "kind": "amount_off",
                "amount_off_fen": 1000,
                "threshold_fen": 0,
                "audience": "consumers",
                "audience_filter": {"region_ids": regions},
                "claim_starts_at": f"{base['starts']}T00:00:00+08:00",
                "claim_ends_at": f"{base['ends']}T00:00:00+08:00",
                "valid_days": 10,
                "valid_until": f"{(today + timedelta(days=30)).isoformat()}T00:00:00+08:00",
                "total_stock": 10,
            }
        )
    await c.operator("east", "region_manager", "region", r1)
    assert (await c.login("east")).status == 303
    text = await (await c.client.get("/console/coupons")).text()
    assert "全国券" in text and "一区券" in text and "二区券" not in text
    assert 'data-testid="campaign-form"' not in text
    assert (await c.client.get(f"/console/coupons/{made['一区券'].id}")).status == 200
    other = await c.client.get(f"/console/coupons/{made['二区券'].id}")
    assert other.status == 404 and "不在您的管辖范围" in await other.text()
    csrf = CSRF.search(text).group(1)
    before = await _core_count(c)
    resp = await c.client.post("/console/coupons", data=_form(c, csrf, "t" * 22, region=str(r1)))
    assert resp.status == 403 and await _core_count(c) == before and await _audits(c) == 0
