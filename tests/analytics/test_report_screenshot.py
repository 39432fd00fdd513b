"""Headless Chromium renders the weekly report's H5 page from its pushed link; the PNG lands in
$JIUBOT_SCREENSHOTS (default: <tmp>/jiubot-screenshots) for a human to look at."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.analytics import archive
from bot.analytics.models import WeeklyReport
from bot.analytics.report import Scope
from bot.db import session_scope
from tests.analytics.test_report import END, WEEK, _prepare, _seed
from tests.web.test_scan_screenshots import ARTIFACTS, CHROMIUM_ARGS


@pytest.mark.browser
async def test_the_weekly_report_page_in_chromium(stack, tmp_path):
    from playwright.async_api import async_playwright

    await _seed(stack)
    await _prepare(stack)
    await archive.make_report(
        stack.services.sessions,
        stack.tenant_id,
        WEEK,
        Scope("region", "EAST"),
        archive=tmp_path,
        now=END + timedelta(hours=8),
        with_pdf=False,
    )
    async with session_scope(stack.services.sessions) as session:
        token = (await session.scalars(select(WeeklyReport.token))).one()
    base = str(stack.client.make_url("")).rstrip("/")
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    shot = ARTIFACTS / "weekly_report.png"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
            page = await context.new_page()
            response = await page.goto(f"{base}/r/report/{token}")
            assert response is not None and response.status == 200
            body = await page.inner_text("body")
            kpis = await page.locator(".kpi").count()
            charts = await page.locator("svg").count()
            await page.screenshot(path=str(shot), full_page=True)
            await context.close()
        finally:
            await browser.close()
    assert "私域运营报告" in body and "大区 EAST" in body and "开瓶扫码" in body
    assert kpis >= 20 and charts == 2
    assert await asyncio.to_thread(os.path.getsize, shot) > 20_000
