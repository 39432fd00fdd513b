"""营销 > 自动化旅程 in the console: a journey's arms, conversions and uplift after a tick; the
page is in the marketing nav for HQ. Editing: bad YAML refused beside the field in Chinese with
nothing written, a save is a new version (never an overwrite), a concurrent edit is refused
(409), a new journey needs a new name; pause stops enrolments and steps, enable resumes them;
region managers read, distributors have no page."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import pytest
from markupsafe import escape
from playwright.async_api import expect
from sqlalchemy import select

from bot.automation.actions import tick
from bot.automation.clock import SHANGHAI
from bot.automation.models import Enrolment, JourneyVersion, StepRun
from bot.console.models import AuditEntry
from bot.db import session_scope
from tests.automation.world import World
from tests.console.test_browser import ARTIFACTS, _browser, _shot, _sign_in
from tests.console.test_settings_pages import CSRF
from tests.console.test_web import _tree

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


# editing ---------------------------------------------------------------------------------------
FORM = re.compile(r'name="(_csrf|token|base)" value="([^"]*)"')


async def _form(c, path: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    text = await (await c.client.get(path)).text()
    return dict(FORM.findall(text))


async def _versions(c, name: str) -> list[tuple[int, str, bool]]:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        rows = await session.execute(
            select(JourneyVersion.version, JourneyVersion.definition, JourneyVersion.active)
            .where(JourneyVersion.tenant_id == c.tenant_id, JourneyVersion.name == name)
            .order_by(JourneyVersion.version)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def _audits(c) -> list[str]:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        q = select(AuditEntry.action).where(AuditEntry.action.like("journey.%")).order_by(AuditEntry.id)
        return list((await session.execute(q)).scalars())


async def test_hq_edits_a_journey_as_new_versions_and_a_concurrent_edit_is_refused(console_app, db_url):
    c = await console_app()
    world = await World(db_url, tenant_id=c.tenant_id).setup()
    await world.load(JOURNEY)
    await world.close()
    await c.operator("boss")
    await c.operator("boss2")
    assert (await c.login("boss")).status == 303
    form = await _form(c, "/console/journeys/win-back")
    assert form["base"] == "1"

    # bad input: refused beside the field in Chinese, nothing written
    for bad, message in (
        ("name: win-back\nsteps: [", "不是有效的 YAML"),
        (JOURNEY.replace("template: winback", "template: ''"), "步骤「message」：消息需要指定模板"),
        (JOURNEY.replace("control: 0.3", "control: 2"), "对照组比例（control）须在 0 到 1 之间"),
        (JOURNEY.replace("lapsed_days: 30", "lapsed_days: soon"), "数值写得不对"),
        (JOURNEY.replace("name: win-back", "name: other"), "不能在这里修改旅程名称"),
    ):
        resp = await c.client.post("/console/journeys/win-back", data={**form, "definition": bad})
        text = await resp.text()
        assert resp.status == 400 and 'data-testid="field-error"' in text and message in text, bad
        assert str(escape(bad.splitlines()[-1])) in text  # the operator's text is kept in the textarea
    assert len(await _versions(c, "win-back")) == 1 and await _audits(c) == []

    edited = JOURNEY.replace("control: 0.3", "control: 0.2")
    ok = await c.client.post(
        "/console/journeys/win-back", data={**form, "definition": edited}, allow_redirects=False
    )
    assert ok.status == 303 and "journey_saved" in ok.headers["Location"]
    again = await c.client.post(
        "/console/journeys/win-back", data={**form, "definition": edited}, allow_redirects=False
    )
    assert "journey_unchanged" in again.headers["Location"]  # the same form twice: one version
    assert [v for v, _, _ in await _versions(c, "win-back")] == [1, 2]

    first = await _form(c, "/console/journeys/win-back")  # boss opens v2 ...
    c.client.session.cookie_jar.clear()
    assert (await c.login("boss2")).status == 303
    second = await _form(c, "/console/journeys/win-back")  # ... so does boss2, who saves first
    assert first["base"] == second["base"] == "2"
    won = await c.client.post(
        "/console/journeys/win-back",
        data={**second, "definition": edited.replace("control: 0.2", "control: 0.25")},
        allow_redirects=False,
    )
    assert won.status == 303
    c.client.session.cookie_jar.clear()
    assert (await c.login("boss")).status == 303
    csrf = (await _form(c, "/console/journeys/win-back"))["_csrf"]
    stale = await c.client.post(
        "/console/journeys/win-back",
        data={**first, "_csrf": csrf, "definition": edited.replace("control: 0.2", "control: 0.15")},
    )
    assert stale.status == 409 and "已被他人保存了新版本" in await stale.text()
    versions = await _versions(c, "win-back")
    assert [v for v, _, _ in versions] == [1, 2, 3]  # never overwritten
    assert versions[0][1] == JOURNEY and "control: 0.25" in versions[2][1]
    assert await _audits(c) == ["journey.save", "journey.save"]

    # a new journey from the console; its name must be new
    new = JOURNEY.replace("name: win-back", "name: 老店回访")
    form_new = await _form(c, "/console/journeys/new")
    assert form_new["base"] == "0"
    created = await c.client.post(
        "/console/journeys/new", data={**form_new, "definition": new}, allow_redirects=False
    )
    assert created.status == 303 and "journey_saved" in created.headers["Location"]
    dup = await c.client.post(
        "/console/journeys/new", data={**(await _form(c, "/console/journeys/new")), "definition": JOURNEY}
    )
    assert dup.status == 409 and "已有同名旅程" in await dup.text()
    listed = await (await c.client.get("/console/journeys")).text()
    assert "老店回访" in listed and "win-back" in listed and "尚无用户进入该旅程" in listed


async def test_a_paused_journey_neither_enrols_nor_runs_its_steps(console_app, db_url):
    c = await console_app()
    world = await World(db_url, tenant_id=c.tenant_id).setup()
    try:
        await world.load(
            JOURNEY.replace("name: win-back", "name: later").replace("control: 0.3", "control: 0")
            .replace("steps:", "steps:\n  - {id: wait, wait: {days: 1}}")
        )  # fmt: skip
        for i in range(3):
            await world.store(f"P{i}")
            await world.order(f"P{i}", T0 - timedelta(days=31))
        await tick(world.deps(), c.tenant_id, T0)  # "later" enrols all three; they wait a day
        await world.load(JOURNEY.replace("control: 0.3", "control: 0"))  # not ticked yet
        await c.operator("boss")
        assert (await c.login("boss")).status == 303
        csrf = CSRF.search(await (await c.client.get("/console/journeys")).text()).group(1)
        for name in ("win-back", "later"):
            paused = await c.client.post(
                f"/console/journeys/{name}/state", data={"_csrf": csrf, "active": "0"}, allow_redirects=False
            )
            assert paused.status == 303 and "journey_paused" in paused.headers["Location"]
        await world.store("P9")
        await world.order("P9", T0 - timedelta(days=31))
        await tick(world.deps(), c.tenant_id, T0 + timedelta(days=2))
        enrolled = sorted((e.journey, e.subject) for e in await world.rows(Enrolment))
        assert enrolled == [("later", f"store:P{i}") for i in range(3)]  # nobody entered win-back
        assert sorted(r.step for r in await world.rows(StepRun)) == ["wait"] * 3  # nobody moved on
        text = await (await c.client.get("/console/journeys")).text()
        assert text.count("已暂停") >= 2
        enabled = await c.client.post(
            "/console/journeys/later/state", data={"_csrf": csrf, "active": "1"}, allow_redirects=False
        )
        assert "journey_enabled" in enabled.headers["Location"]
        await tick(world.deps(), c.tenant_id, T0 + timedelta(days=2))
        assert len([r for r in await world.rows(StepRun) if r.step == "message"]) == 3
        assert await _audits(c) == ["journey.pause", "journey.pause", "journey.enable"]
    finally:
        await world.close()


async def test_regions_read_the_brands_journeys_and_distributors_do_not(console_app, db_url):
    c = await console_app()
    world = await World(db_url, tenant_id=c.tenant_id).setup()
    await world.load(JOURNEY)
    await world.close()
    await _tree(c)
    await c.operator("sw", "region_manager", "region", 1)
    await c.operator("dist", "distributor", "distributor", 11)
    assert (await c.login("sw")).status == 303
    text = await (await c.client.get("/console/journeys/win-back")).text()
    assert "只能查看旅程定义" in text and 'data-testid="journey-save"' not in text
    form = await _form(c, "/console/journeys/win-back")
    edit = await c.client.post("/console/journeys/win-back", data={**form, "definition": JOURNEY + "\n"})
    switch = await c.client.post(
        "/console/journeys/win-back/state", data={"_csrf": form["_csrf"], "active": "0"}
    )
    assert (edit.status, switch.status) == (403, 403)
    assert [v for v, _, active in await _versions(c, "win-back") if active] == [1]
    c.client.session.cookie_jar.clear()
    assert (await c.login("dist")).status == 303
    assert (await c.client.get("/console/journeys")).status == 403


@pytest.mark.browser
async def test_edit_a_journey_in_chromium(console_app, db_url):
    from playwright.async_api import async_playwright

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
    base = str(c.client.make_url("")).rstrip("/")
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
            await _sign_in(page, base, "boss")
            await page.wait_for_url(base + "/console/")
            await page.click("text=自动化旅程")
            card = page.locator("[data-testid=journey-win-back]")
            await expect(card.locator("[data-testid=journey-state]")).to_have_text("运行中")
            await expect(card.locator("[data-testid=journey-steps]")).to_contain_text("完成")
            await _shot(page, "journeys")

            await card.locator("[data-testid=journey-link]").click()
            await page.wait_for_url(f"{base}/console/journeys/win-back")
            yaml = page.locator("[data-testid=journey-yaml]")
            await yaml.fill(JOURNEY.replace("control: 0.3", "control: 1.5"))
            await page.click("[data-testid=journey-save]")
            await expect(page.locator("[data-testid=field-error]")).to_contain_text(
                "对照组比例（control）须在 0 到 1"
            )
            await expect(yaml).to_have_value(re.compile("control: 1.5"))  # the operator's text is kept
            await _shot(page, "journey_error")
            await yaml.fill(JOURNEY.replace("control: 0.3", "control: 0.2"))
            await page.click("[data-testid=journey-save]")
            await page.wait_for_url("**done=journey_saved")
            await expect(page.locator("[data-testid=journey-versions]")).to_contain_text("v2")
            await expect(page.locator("[data-testid=flash]")).to_contain_text("已保存为新版本")
            await _shot(page, "journey_saved")

            await page.goto(base + "/console/journeys")
            await card.locator("[data-testid=journey-switch]").click()
            await page.wait_for_url("**done=journey_paused")
            await expect(card.locator("[data-testid=journey-state]")).to_have_text("已暂停")
        finally:
            await browser.close()
