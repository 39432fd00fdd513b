"""The regional console pages in headless Chromium, with screenshots kept in
tests/console/artifacts/: a region manager creates a flash sale (campaigns list and form), pauses
it, announces it to its stores (the send's progress page), and publishes his region's storefront
with its preview."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import orjson
import pytest

from tests.campaigns.test_campaigns import _setup
from tests.campaigns.test_console_pages import _world
from tests.console.test_browser import ARTIFACTS, _browser, _shot, _sign_in

pytestmark = pytest.mark.browser


async def test_regional_campaigns_and_storefront_in_chromium(make_settings, aiohttp_client, core_db) -> None:
    from playwright.async_api import async_playwright

    shop, console, core, regions = await _world(make_settings, aiohttp_client, core_db)
    try:
        sku, stores = await _setup(shop, stores=4)
        region = next(r for r in regions if r.id == stores[0].region_id)
        await console.operator("east", "region_manager", "region", region.id)
        base = str(console.client.make_url("")).rstrip("/")
        await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
        now = datetime.now()
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
                page = await context.new_page()
                await _sign_in(page, base, "east")
                await page.wait_for_url(base + "/console/")
                await page.goto(base + "/console/campaigns")
                form = "[data-testid=create-form]"
                await page.select_option(f"{form} select[name=kind]", "flash_sale")
                await page.select_option(f"{form} select[name=region]", region.code)
                await page.fill(f"{form} input[name=name]", "东区周末秒杀")
                await page.fill(f"{form} input[name=sku]", sku)
                await page.fill(
                    f"{form} input[name=starts_at]", (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
                )
                await page.fill(
                    f"{form} input[name=ends_at]", (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
                )
                await page.fill(f"{form} input[name=price]", "12.50")
                await page.fill(f"{form} input[name=stock]", "30")
                await page.fill(f"{form} input[name=per_store_limit]", "3")
                await _shot(page, "regional_campaign_form")
                await page.click(f"{form} button[type=submit]")
                await page.wait_for_url("**done=campaign_created")
                table = await page.inner_text("[data-testid=campaigns-table]")
                assert "东区周末秒杀" in table and "进行中" in table
                await _shot(page, "regional_campaigns")

                await page.click("[data-testid=campaigns-table] >> text=暂停")
                await page.wait_for_url("**done=campaign_paused")
                assert "已暂停" in await page.inner_text("[data-testid=campaigns-table]")
                await _shot(page, "regional_campaign_paused")
                (paused,) = [
                    p for p in (await shop.api.promotions.list(limit=50)).items if p.name == "东区周末秒杀"
                ]
                assert paused.status == "paused"

                # 通知门店: confirmed in the browser's dialog, then the send's progress page
                page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
                await page.click(f"[data-testid=announce-{paused.id}]")
                await page.wait_for_url("**/console/campaign-sends?announced=*")
                assert "已创建活动通知" in await page.inner_text("[data-testid=announced]")
                assert f"区域活动#{paused.id} 东区周末秒杀" in await page.content()
                await _shot(page, "regional_campaign_announced")

                layout = {
                    "banners": [{"image": "https://cdn.example/east-weekend.jpg", "link": ""}],
                    "featured": [sku],
                }
                await page.goto(f"{base}/console/storefronts?region={region.code}")
                await page.fill("textarea[name=layout]", orjson.dumps(layout).decode())
                await page.click("[data-testid=publish-form] button[type=submit]")
                await page.wait_for_url("**done=storefront_published")
                preview = await page.inner_text("[data-testid=preview]")
                assert sku in preview or "east-weekend" in await page.content()
                await _shot(page, "regional_storefront")
            finally:
                await browser.close()
    finally:
        await shop.close()
        await core.runner.cleanup()
