"""数据 > 私域周报: HQ sees every archived weekly report; a region manager only his region's and
those of the distributors under it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.analytics.models import WeeklyReport
from bot.console.org_models import OrgNode
from bot.db import session_scope
from tests.console.console_app import console_app  # noqa: F401


async def _seed(app, page: str = "") -> list[int]:  # type: ignore[no-untyped-def]
    tenant = app.tenant_id
    async with session_scope(app.services.sessions) as session:
        east = OrgNode(tenant_id=tenant, kind="region", core_id=1, code="EAST", name="华东", path="/r1/")
        west = OrgNode(tenant_id=tenant, kind="region", core_id=2, code="WEST", name="西部", path="/r2/")
        session.add_all([east, west])
        await session.flush()
        session.add(
            OrgNode(
                tenant_id=tenant,
                kind="distributor",
                core_id=3,
                code="D1",
                name="一号",
                path="/r1/d3/",
                parent_id=east.id,
            )
        )
        for n, (scope, code) in enumerate(
            [
                ("tenant", ""),
                ("region", "EAST"),
                ("region", "WEST"),
                ("distributor", "D1"),
                ("distributor", "D9"),
            ]
        ):
            session.add(
                WeeklyReport(
                    tenant_id=tenant,
                    week="2026-W49",
                    scope=scope,
                    scope_code=code,
                    token=f"tok{n:02d}" + "x" * 20,
                    figures="{}",
                    html_path=page,
                    created_at=datetime(2026, 12, 7, 0, 0, tzinfo=UTC),
                )
            )
        await session.flush()
    async with session_scope(app.services.sessions) as session:
        rows = (await session.execute(select(WeeklyReport.token, WeeklyReport.id))).all()
    return [i for _, i in sorted(rows)]


async def test_hq_sees_every_report_a_region_manager_only_his_subtree(console_app):  # noqa: F811
    app = await console_app()
    ids = await _seed(app)
    await app.operator("boss")
    await app.operator("east", role="region_manager", scope_kind="region", core_id=1)
    assert (await app.login("boss")).status == 303
    page = await app.client.get("/console/reports")
    text = await page.text()
    assert page.status == 200 and "私域周报" in text
    assert all(f"/console/reports/{ids[n]}" in text for n in range(5))
    assert "/r/report/" not in text  # the pushed links are for their recipients only
    await app.client.post("/console/logout", data={"_csrf": await app.csrf("/console/reports")})
    app.client.session.cookie_jar.clear()
    assert (await app.login("east")).status == 303
    text = await (await app.client.get("/console/reports")).text()
    shown = {n for n in range(5) if f'/console/reports/{ids[n]}"' in text}
    assert shown == {1, 3}  # EAST and its distributor D1; not the tenant's, WEST's or D9's


async def test_a_report_opens_in_the_console_within_the_operators_scope_only(console_app, tmp_path):  # noqa: F811
    page = tmp_path / "r.html"
    page.write_text(
        "<html><head><style>h1{color:red}</style></head><body><h1>私域运营报告</h1></body></html>"
    )
    app = await console_app()
    ids = await _seed(app, str(page))
    await app.operator("east", role="region_manager", scope_kind="region", core_id=1)
    assert (await app.login("east")).status == 303
    own = await app.client.get(f"/console/reports/{ids[1]}")  # EAST's
    html = await own.text()
    assert own.status == 200 and "私域运营报告" in html
    # the console's CSP forbids inline styles: the same rules come as a stylesheet
    assert "<style>" not in html and f'href="/console/reports/{ids[1]}.css"' in html
    css = await app.client.get(f"/console/reports/{ids[1]}.css")
    assert css.status == 200 and await css.text() == "h1{color:red}"
    for n in (0, 2, 4):  # the tenant's, WEST's, D9's
        assert (await app.client.get(f"/console/reports/{ids[n]}")).status == 404, n
    assert (await app.client.get(f"/console/reports/{ids[1]}.pdf")).status == 404  # no PDF made
    app.client.session.cookie_jar.clear()
    anonymous = await app.client.get(f"/console/reports/{ids[1]}", allow_redirects=False)
    assert anonymous.status in (302, 303) and "私域运营报告" not in await anonymous.text()
