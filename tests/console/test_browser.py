"""The console in headless Chromium (Debian's): sign in, dashboard, member search, a points
adjustment that shows in the ledger and in the audit log, CSRF refusal, lockout after 5 failures,
and a tablet-width layout. Screenshots of each main page land in tests/console/artifacts/."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.membership import batches
from bot.membership.code_models import CodeRedemption, DiversionAlert
from bot.membership.models import Member
from tests.console.console_app import PASSWORD

ARTIFACTS = Path(__file__).with_name("artifacts")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.browser


async def _seed(c) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A few members and a week of scans, so the pages have something to show."""
    ids = {}
    for n, phone in enumerate(("13800001234", "13900005678", "13700009012", None)):
        ids[f"m{n}"] = await c.member(f"browser-openid-{n:010d}", phone=phone)
    async with session_scope(c.services.sessions) as session:
        batch = await batches.create_batch(
            session,
            c.tenant_id,
            brand="黔酒",
            sku="QJ-53-500",
            product_name="黔酒·酱香典藏 53度 500ml",
            size=100,
        )
        await session.execute(Member.__table__.update().where(Member.id == ids["m1"]).values(tier="gold"))
        now = c.clock()
        serial = 1
        for day, count in enumerate((3, 5, 2, 8, 6, 9, 4)):
            for _ in range(count):
                session.add(
                    CodeRedemption(
                        tenant_id=c.tenant_id,
                        batch_id=batch.id,
                        serial=serial,
                        member_id=ids[f"m{serial % 3}"],
                        channel="mp",
                        scanned_at=now - timedelta(days=6 - day),
                        points=10,
                    )
                )
                serial += 1
        await session.flush()
        first = await session.scalar(select(CodeRedemption).order_by(CodeRedemption.id).limit(1))
        for n, (province, city) in enumerate((("广东", "深圳"), ("广东", "广州"), ("浙江", "杭州"))):
            session.add(
                DiversionAlert(
                    tenant_id=c.tenant_id,
                    redemption_id=first.id + n,
                    batch_id=batch.id,
                    serial=n + 1,
                    region_code="SW",
                    distributor_code="D-CD-01",
                    found_province=province,
                    found_city=city,
                    place_source="gps",
                )
            )
    return ids


async def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    path = ARTIFACTS / f"console_{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert await asyncio.to_thread(os.path.getsize, path) > 5_000


async def _browser(pw):  # type: ignore[no-untyped-def]
    return await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)


async def _sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    await page.goto(base + "/console/")
    await page.fill('input[name="username"]', username)
    await page.fill('input[name="password"]', password)
    await page.click('button[type="submit"]')


async def test_operator_day_in_chromium(console_app):
    from playwright.async_api import async_playwright

    c = await console_app()
    await c.operator("boss")
    await c.operator("ops", "hq_operator")
    ids = await _seed(c)
    base = str(c.client.make_url("")).rstrip("/")
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await _browser(pw)
        try:
            context = await browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
            page = await context.new_page()
            await page.goto(base + "/console/")
            assert "/console/login" in page.url
            await _shot(page, "login")

            await _sign_in(page, base, "boss")
            await page.wait_for_url(base + "/console/")
            assert (await page.inner_text("[data-testid=current-user]")).split() == ["BOSS", "总部管理员"]
            assert await page.inner_text("[data-testid=stat-members]") == "4"
            assert await page.inner_text("[data-testid=stat-scans]") == "4"  # today's bar
            await _shot(page, "dashboard")

            await page.click("text=会员列表")
            await page.fill("[data-testid=member-search]", "5678")
            await page.click("button:has-text('查询')")
            rows = page.locator("[data-testid=members-table] tbody tr")
            assert await rows.count() == 1
            assert "139****5678" in await rows.first.inner_text()
            await _shot(page, "members")

            await page.click("[data-testid=members-table] >> text=查看")
            await page.wait_for_url(f"{base}/console/members/{ids['m1']}")
            await page.fill("[data-testid=adjust-delta]", "200")
            await page.fill("[data-testid=adjust-reason]", "门店开业活动赠送")
            # keep the exact form as sent, to replay it afterwards (a double submit)
            form_action = await page.get_attribute("form[data-once]", "action")
            sent = await page.evaluate(
                "() => new URLSearchParams(new FormData(document.querySelector('form[data-once]')))"
                ".toString()"
            )
            await page.click("[data-testid=adjust-submit]")
            await page.wait_for_url("**done=adjusted")
            assert "积分已调整" in await page.inner_text("[data-testid=flash]")
            assert await page.inner_text("[data-testid=balance]") == "200"
            ledger = await page.inner_text("[data-testid=ledger-table]")
            assert "+200" in ledger and "门店开业活动赠送" in ledger and "后台调整" in ledger
            await _shot(page, "member")

            replay = await page.evaluate(
                """async ([url, body]) => {
                    const r = await fetch(url, {method: "POST", body: body,
                        headers: {"Content-Type": "application/x-www-form-urlencoded"}});
                    return r.url;
                }""",
                [form_action, sent],
            )
            assert replay.endswith("done=already_adjusted")
            await page.reload()
            assert await page.inner_text("[data-testid=balance]") == "200"

            await page.click("text=操作日志")
            await page.fill("[data-testid=audit-search]", str(ids["m1"]))
            await page.click("button:has-text('查询')")
            audit = await page.inner_text("[data-testid=audit-table]")
            assert "调整积分" in audit and "boss" in audit and "门店开业活动赠送" in audit
            assert audit.count("调整积分") == 1
            await _shot(page, "audit")

            await page.click("text=操作员")
            assert "总部运营" in await page.inner_text("[data-testid=operators-table]")
            await _shot(page, "operators")
            for name, path, heading in (
                ("alerts", "/console/alerts", "预警处理"),  # three open diversion alerts
                ("batches", "/console/codes", "瓶码批次"),
                ("stores", "/console/stores", "门店列表"),
                ("account", "/console/account", "账号安全"),
            ):
                await page.goto(base + path)
                assert heading in await page.inner_text("h1")
                await _shot(page, name)

            # a forged form: the page's token replaced -> refused, nothing written
            await page.goto(f"{base}/console/members/{ids['m0']}")
            await page.eval_on_selector(
                'form[data-once] input[name="_csrf"]', "e => e.value = 'forged-token-000000000000'"
            )
            await page.fill("[data-testid=adjust-delta]", "50")
            await page.fill("[data-testid=adjust-reason]", "伪造请求")
            await page.click("[data-testid=adjust-submit]")
            assert "页面已过期" in await page.inner_text("[data-testid=error]")
            await _shot(page, "csrf_refused")
            await page.goto(f"{base}/console/members/{ids['m0']}")
            assert await page.inner_text("[data-testid=balance]") == "0"

            # a tablet: the nav folds away behind a button
            tablet = await browser.new_context(
                viewport={"width": 768, "height": 1024},
                locale="zh-CN",
                storage_state=await context.storage_state(),
            )
            tpage = await tablet.new_page()
            await tpage.goto(base + "/console/")
            assert (
                not await tpage.locator("#sider").is_visible()
                or (await tpage.locator("#sider").bounding_box())["x"] < 0
            )
            await _shot(tpage, "dashboard_tablet")
            await tpage.click("[data-toggle-nav]")
            await tpage.wait_for_timeout(300)
            assert (await tpage.locator("#sider").bounding_box())["x"] >= 0
            await _shot(tpage, "nav_tablet")
            await tablet.close()
            await context.close()
        finally:
            await browser.close()


async def test_lockout_after_five_failures_in_chromium(console_app):
    from playwright.async_api import async_playwright

    c = await console_app()
    await c.operator("boss")
    base = str(c.client.make_url("")).rstrip("/")
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 860}, locale="zh-CN")
            for attempt in range(5):
                await _sign_in(page, base, "boss", f"wrong password {attempt}")
                message = await page.inner_text("[data-testid=login-error]")
                assert ("锁定" in message) == (attempt == 4), (attempt, message)
            await _sign_in(page, base, "boss")  # the right password now: still locked
            assert "锁定 15 分钟" in await page.inner_text("[data-testid=login-error]")
            assert "/console/login" in page.url
            await _shot(page, "lockout")
            c.clock.advance(minutes=16)
            await _sign_in(page, base, "boss")
            await page.wait_for_url(base + "/console/")
        finally:
            await browser.close()
