"""Alerts, batches and stores pages on both databases: a region sees only its alerts, resolving
writes the status and an audit entry with the note once (even when two operators submit at the
same moment), another region's alert is a 404, a missing note changes nothing."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from bot.console.models import AuditEntry
from bot.db import session_scope
from bot.membership import batches
from bot.membership.code_models import CodeRedemption, DiversionAlert
from tests.console.test_web import _tree

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


async def _alerts(c) -> dict[str, int]:  # type: ignore[no-untyped-def]
    member = await c.member("alert-member-openid-000001")
    ids = {}
    async with session_scope(c.services.sessions) as session:
        for n, region in enumerate(("SW", "EC")):
            batch = await batches.create_batch(
                session, c.tenant_id, brand="黔酒", sku=f"QJ-{region}", product_name="酱香", size=10
            )
            redemption = CodeRedemption(
                tenant_id=c.tenant_id, batch_id=batch.id, serial=1, member_id=member, channel="mp",
                scanned_at=c.clock(), region_code=region,
            )  # fmt: skip
            session.add(redemption)
            await session.flush()
            alert = DiversionAlert(
                tenant_id=c.tenant_id, redemption_id=redemption.id, batch_id=batch.id, serial=1,
                region_code=region, found_province=("广东", "浙江")[n], place_source="gps",
            )  # fmt: skip
            session.add(alert)
            await session.flush()
            ids[region] = alert.id
    return ids


async def _resolved(c, alert_id: int) -> str:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return (
            await session.execute(select(DiversionAlert.status).where(DiversionAlert.id == alert_id))
        ).scalar_one()


async def test_a_region_resolves_its_own_alerts_once(console_app):
    c = await console_app()
    await _tree(c)
    ids = await _alerts(c)
    await c.operator("sw", "region_manager", "region", 1)
    assert (await c.login("sw")).status == 303
    page = await c.client.get("/console/alerts")
    text = await page.text()
    # (the map names every province; the table and the province list name only his alerts')
    table = text.split('data-testid="alerts-table"')[1].split("</table>")[0]
    bars = text.split('class="hbars"')[1].split("</svg>")[0]
    assert page.status == 200 and "广东" in table and "浙江" not in table
    assert "广东" in bars and "浙江" not in bars
    csrf = CSRF.search(text).group(1)
    other = await c.client.post(
        f"/console/alerts/diversion/{ids['EC']}/resolve", data={"_csrf": csrf, "note": "越权"}
    )
    assert other.status == 404 and await _resolved(c, ids["EC"]) == "open"
    empty = await c.client.post(
        f"/console/alerts/diversion/{ids['SW']}/resolve", data={"_csrf": csrf, "note": ""}
    )
    assert (
        empty.status == 400 and "处理说明" in await empty.text() and await _resolved(c, ids["SW"]) == "open"
    )

    async def submit():  # type: ignore[no-untyped-def]
        return await c.client.post(
            f"/console/alerts/diversion/{ids['SW']}/resolve",
            data={"_csrf": csrf, "note": "已核实为经销商调货"},
            allow_redirects=False,
        )

    first, second = await asyncio.gather(submit(), submit())
    assert sorted([first.status, second.status]) == [303, 409]
    assert await _resolved(c, ids["SW"]) == "resolved"
    async with session_scope(c.services.sessions) as session:
        entries = (
            await session.execute(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "alert.resolve.diversion")
            )
        ).scalar_one()
    assert entries == 1
    log = await (await c.client.get("/console/audit")).text()
    assert "处理窜货预警" in log and "已核实为经销商调货" in log


async def test_hq_sees_batches_stores_and_every_alert(console_app):
    c = await console_app()
    await _tree(c)
    await _alerts(c)
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    alerts = await (await c.client.get("/console/alerts")).text()
    assert "广东" in alerts and "浙江" in alerts
    codes = await c.client.get("/console/codes")
    assert codes.status == 200 and "QJ-SW" in await codes.text()
    assert (await c.client.get("/console/stores")).status == 200
    bad = await c.client.get("/console/alerts?status=weird")
    assert bad.status == 400 and "未知的状态" in await bad.text()
