"""Bottle-code set-up and the alert map in headless Chromium (Debian's): an HQ admin creates a sales
region (a bad province is refused beside its field), then a batch shipped to it, lands on the new
batch's page and generates its printer's file with progress and a download; the alerts page draws
the province map with hover titles and a legend. Screenshots land in tests/console/artifacts/."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.membership.code_models import CodeBatch, SalesRegion
from tests.console.console_app import PASSWORD
from tests.console.test_browser import ARTIFACTS, _browser, _seed, _shot

pytestmark = pytest.mark.browser


async def test_region_batch_and_map_in_chromium(console_app):
    from playwright.async_api import async_playwright

    c = await console_app()
    await c.operator("boss")
    await _seed(c)  # three open diversion alerts: 广东 x2, 浙江
    base = str(c.client.make_url("")).rstrip("/")
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await _browser(pw)
        try:
            context = await browser.new_context(
                viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True
            )
            page = await context.new_page()
            await page.goto(base + "/console/")
            await page.fill('input[name="username"]', "boss")
            await page.fill('input[name="password"]', PASSWORD)
            await page.click('button[type="submit"]')
            await page.wait_for_url(base + "/console/")

            await page.goto(base + "/console/codes/regions")
            await page.click("[data-testid=region-new]")
            await page.fill("[data-testid=region-code]", "SW")
            await page.fill("[data-testid=region-name]", "西南大区")
            await page.fill("[data-testid=region-provinces]", "四川，贵州，巴蜀")
            await page.click("[data-testid=region-submit]")
            assert "省份名称无法识别" in await page.inner_text("[data-testid=field-error]")
            await _shot(page, "region_new_refused")
            await page.fill("[data-testid=region-provinces]", "四川，贵州，云南")
            await page.click("[data-testid=region-submit]")
            await page.wait_for_url("**done=region_created")
            assert "西南大区" in await page.inner_text("[data-testid=regions-table]")
            await _shot(page, "regions")

            await page.goto(base + "/console/codes")
            await page.click("[data-testid=batch-new]")
            await page.fill("[data-testid=batch-brand]", "黔酒")
            await page.fill("[data-testid=batch-sku]", "QJ-53-500")
            await page.fill("[data-testid=batch-name]", "黔酒·酱香典藏 53度 500ml")
            await page.fill("[data-testid=batch-size]", "20000000")
            await page.select_option("[data-testid=batch-region]", "SW")
            await page.click("[data-testid=batch-submit]")
            assert "批次数量须为" in await page.inner_text("[data-testid=field-error]")
            await page.fill("[data-testid=batch-size]", "3000")
            await page.check("[data-testid=batch-activate]")
            await _shot(page, "batch_new")
            await page.click("[data-testid=batch-submit]")
            await page.wait_for_url("**done=batch_created")
            assert "批次已创建" in await page.inner_text("[data-testid=flash]")
            assert "激活" in await page.inner_text("[data-testid=ranges-table]")

            await page.fill("[data-testid=gen-count]", "3000")
            await page.click("[data-testid=gen-submit]")
            await page.wait_for_url("**job=*")
            await page.wait_for_selector("[data-job-links]:not([hidden])", timeout=30_000)
            async with page.expect_download() as info:
                await page.click("[data-testid=download-csv]")
            download = await info.value
            text = await asyncio.to_thread((await download.path()).read_text, encoding="utf-8")
            assert len(text.strip().splitlines()) == 3001  # header + every code
            await _shot(page, "batch_created")
            async with session_scope(c.services.sessions) as session:
                assert await session.scalar(select(func.count()).select_from(SalesRegion)) == 1
                assert await session.scalar(select(func.count()).select_from(CodeBatch)) == 2  # + the seed's

            await page.goto(base + "/console/alerts")
            tile = page.locator("[data-testid=alert-map] g[data-province=广东]")
            assert await tile.get_attribute("data-count") == "2"
            assert await tile.locator("title").text_content() == "广东省：2 条待处理窜货"
            await tile.hover()
            legend = await page.inner_text("[data-testid=alert-map-legend]")
            assert "0" in legend and "2" in legend
            assert "广东" in await page.text_content(".hbars")  # the list stays beside the map
            await _shot(page, "alerts_map")
        finally:
            await browser.close()
