"""Session expiry in headless Chromium (Debian's): after 30 idle minutes, or 12 hours however busy,
the next click lands on the sign-in page with a Chinese notice, and signing in again returns to
the page that click asked for (query string included). The console's clock is moved by hand (the
session store takes it by parameter); the browser and the server are real."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from tests.console.console_app import PASSWORD
from tests.console.test_browser import ARTIFACTS, _browser, _seed, _shot

pytestmark = pytest.mark.browser


async def _fill_sign_in(page, username: str = "boss") -> None:  # type: ignore[no-untyped-def]
    await page.fill('input[name="username"]', username)
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('button[type="submit"]')


async def test_idle_and_absolute_expiry_in_chromium(console_app):
    from playwright.async_api import async_playwright

    c = await console_app()
    await c.operator("boss")
    await _seed(c)
    base = str(c.client.make_url("")).rstrip("/")
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await _browser(pw)
        try:
            context = await browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
            page = await context.new_page()
            await page.goto(base + "/console/")
            await _fill_sign_in(page)
            await page.wait_for_url(base + "/console/")

            # idle: 29 minutes is still signed in; 31 more and the next click (a search) is refused
            await page.click("text=会员列表")
            await page.wait_for_url(base + "/console/members")
            c.clock.advance(minutes=29)
            await page.reload()
            assert "会员列表" in await page.inner_text("h1")
            c.clock.advance(minutes=31)
            await page.fill("[data-testid=member-search]", "5678")
            await page.click("button:has-text('查询')")
            await page.wait_for_url("**/console/login?**")
            assert "why=expired" in page.url
            assert await page.inner_text("[data-testid=login-error]") == "登录已过期，请重新登录。"
            await _shot(page, "session_expired_idle")
            await _fill_sign_in(page)
            await page.wait_for_url(re.compile(r"/console/members\?q=5678(&|$)"))
            rows = page.locator("[data-testid=members-table] tbody tr")
            assert await rows.count() == 1 and "139****5678" in await rows.first.inner_text()

            # absolute: busy every 25 minutes, the session still ends 12 hours after sign-in
            signed_in_at = c.clock()
            while c.clock() - signed_in_at < timedelta(hours=12) - timedelta(minutes=25):
                c.clock.advance(minutes=25)
                await page.goto(base + "/console/")
                assert page.url == base + "/console/", c.clock() - signed_in_at
            c.clock.advance(minutes=25)
            await page.click("text=操作日志")
            await page.wait_for_url("**/console/login?**")
            assert await page.inner_text("[data-testid=login-error]") == "登录已过期，请重新登录。"
            await _shot(page, "session_expired_absolute")
            await _fill_sign_in(page)
            await page.wait_for_url(base + "/console/audit")
            assert "操作日志" in await page.inner_text("h1")
        finally:
            await browser.close()
