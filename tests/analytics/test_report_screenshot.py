"""Headless Chromium (as WeChat's browser, signed in as the region manager it was pushed to)
renders the weekly report's H5 page from his pushed link; the PNG lands in $JIUBOT_SCREENSHOTS
(default: <tmp>/jiubot-screenshots) for a human to look at."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from bot.web.h5auth import COOKIE, _mac
from tests.analytics.test_report_links import linked  # noqa: F401 - the fixture
from tests.web.member_app import WECHAT_UA
from tests.web.test_scan_screenshots import ARTIFACTS, CHROMIUM_ARGS


@pytest.mark.browser
async def test_the_weekly_report_page_in_chromium(linked):  # noqa: F811
    from playwright.async_api import async_playwright

    services = linked.stack.services
    body = f"{linked.stack.tenant_id}.{linked.manager}.{int(time.time()) + 3600}"
    cookie = f"{body}.{_mac(services.settings.secret_key, body)}"
    base = str(linked.client.make_url("")).rstrip("/")
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    shot = ARTIFACTS / "weekly_report.png"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844}, locale="zh-CN", user_agent=WECHAT_UA
            )
            await context.add_cookies([{"name": COOKIE, "value": cookie, "url": base}])
            page = await context.new_page()
            response = await page.goto(f"{base}{linked.link}")
            assert response is not None and response.status == 200
            text = await page.inner_text("body")
            kpis = await page.locator(".kpi").count()
            charts = await page.locator("svg").count()
            await page.screenshot(path=str(shot), full_page=True)
            await context.close()
        finally:
            await browser.close()
    assert "私域运营报告" in text and "大区 EAST" in text and "开瓶扫码" in text
    assert "直播预约" in text and "流失召回成交" in text
    assert kpis >= 20 and charts == 2
    assert await asyncio.to_thread(os.path.getsize, shot) > 20_000
