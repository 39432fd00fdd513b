"""The batch, store, campaign, app-menu, region and settings pages in headless Chromium: code
generation with a progress bar the page polls and a CSV download, activating a range, a bad
settings value refused beside its field; screenshots of each page in tests/console/artifacts/."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest

from bot.console import org
from bot.db import session_scope
from bot.membership import batches
from bot.membership.code_models import SalesRegion
from bot.membership.models import Member, Store
from tests.console.test_browser import ARTIFACTS, _browser, _shot, _sign_in

pytestmark = pytest.mark.browser
MENU = """button:
  - {type: click, name: 订货, key: ORDER}
  - name: 会员
    sub_button:
      - {type: click, name: 会员中心, key: MEMBER_CENTER}
"""


async def _seed(c) -> dict[str, int]:  # type: ignore[no-untyped-def]
    specs = [
        org.NodeSpec("region", 1, "SW", "西南营销中心", "/r1/", None),
        org.NodeSpec("distributor", 11, "D-CD-01", "成都经销商", "/r1/d11/", ("region", 1)),
        org.NodeSpec("store", 111, "S-CD-1", "春熙路烟酒", "/r1/d11/s111/", ("distributor", 11), "成都"),
    ]
    async with session_scope(c.services.sessions) as session:
        await org.apply_tree(session, c.tenant_id, specs, now=c.clock())
        session.add(
            SalesRegion(tenant_id=c.tenant_id, code="SW", name="西南大区", provinces="四川,重庆", cities="")
        )
        store = Store(tenant_id=c.tenant_id, code="S-CD-1", name="春熙路烟酒")
        session.add(store)
        await session.flush()
        for role, phone in (("store_owner", "13800001111"), ("store_staff", "13800002222")):
            session.add(Member(tenant_id=c.tenant_id, role=role, phone=phone, store_id=store.id))
        batch = await batches.create_batch(
            session, c.tenant_id, brand="黔酒", sku="QJ-53-500", product_name="黔酒·酱香典藏 53度 500ml",
            size=3000, region_code="SW", distributor_code="D-CD-01",
        )  # fmt: skip
    return {"batch": batch.id}


async def test_codes_stores_campaigns_menu_settings_in_chromium(console_app):
    from playwright.async_api import async_playwright

    c = await console_app()
    await c.operator("boss")
    ids = await _seed(c)
    base = str(c.client.make_url("")).rstrip("/")
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await _browser(pw)
        try:
            context = await browser.new_context(
                viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True
            )
            page = await context.new_page()
            await _sign_in(page, base, "boss")
            await page.wait_for_url(base + "/console/")

            await page.click("text=瓶码批次")
            await page.click(f"[data-testid=batches-table] >> text=#{ids['batch']}")
            await page.wait_for_url(f"{base}/console/codes/batches/{ids['batch']}")
            await page.fill("[data-testid=range-first]", "1")
            await page.fill("[data-testid=range-last]", "1200")
            await page.click("[data-testid=range-submit]")
            await page.wait_for_url("**done=marked_activate")
            assert "1–1200" in await page.inner_text("[data-testid=ranges-table]")

            await page.fill("[data-testid=gen-count]", "2500")
            await page.click("[data-testid=gen-submit]")
            await page.wait_for_url("**job=*")
            await page.wait_for_selector("[data-job-links]:not([hidden])", timeout=30_000)
            assert await page.get_attribute("[data-testid=job-progress]", "value") == "100"
            await _shot(page, "batch")
            async with page.expect_download() as info:
                await page.click("[data-testid=download-csv]")
            download = await info.value
            text = await asyncio.to_thread((await download.path()).read_text, encoding="utf-8")
            rows = list(csv.reader(io.StringIO(text)))
            assert len(rows) == 2501 and rows[1][1] == "1" and rows[-1][1] == "2500"

            await page.goto(base + "/console/codes/regions")
            assert "四川、重庆" in await page.inner_text("[data-testid=regions-table]")
            await _shot(page, "regions")

            await page.goto(base + "/console/stores")
            await page.click("[data-testid=stores-table] >> text=S-CD-1")
            await page.wait_for_url(f"{base}/console/stores/111")
            assert "13800002222" in await page.inner_text("[data-testid=store-members]")
            await _shot(page, "store")

            await page.goto(base + "/console/coupons")
            assert "优惠券活动" in await page.inner_text("h1")
            await _shot(page, "coupons")

            await page.goto(base + "/console/apps")
            await page.click("text=自定义菜单")
            await page.fill("[data-testid=menu-layout]", MENU)
            await page.click("[data-testid=menu-preview]")
            phone = await page.inner_text("[data-testid=menu-phone]")
            assert "订货" in phone and "会员中心" in phone
            await _shot(page, "menu")

            await page.goto(base + "/console/settings")
            await page.fill("[data-testid=s-daily_scan_cap]", "100")
            await page.click("[data-testid=settings-submit]")
            assert "每日扫码上限不能大于每月上限" in await page.inner_text("[data-testid=field-error]")
            await _shot(page, "settings")
            await context.close()
        finally:
            await browser.close()
