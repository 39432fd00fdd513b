"""Headless Chromium renders the scan result page: first scan, someone else's repeat scan, and an
invalid code. The PNGs land in $JIUBOT_SCREENSHOTS (default: <tmp>/jiubot-screenshots) for a human
to look at."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import pytest

from bot.db import session_scope
from bot.membership import actions
from tests.conftest import OA_APPID
from tests.web.member_app import WECHAT_UA

ARTIFACTS = Path(os.environ.get("JIUBOT_SCREENSHOTS") or Path(tempfile.gettempdir()) / "jiubot-screenshots")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.browser
async def test_scan_result_pages_in_chromium(member_app):
    from playwright.async_api import async_playwright

    m = await member_app()
    batch = await m.batch()
    code = m.code(batch.id, 88)
    first, second = await m.member("shot-1"), await m.member("shot-2")
    base = str(m.client.make_url("")).rstrip("/")
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    async with session_scope(m.services.sessions) as session:  # the first scanner shared his location
        await actions.record_location(
            session, OA_APPID, "shot-1", latitude=30.66, longitude=104.07, precision=20
        )
    shots = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            for name, member, path in (
                ("first_scan", first, f"/c/{code}"),
                ("repeat_scan", second, f"/c/{code}"),
                ("invalid_code", second, f"/c/{code[:-2]}ZZ"),
            ):
                context = await browser.new_context(
                    user_agent=WECHAT_UA,
                    viewport={"width": 390, "height": 844},
                    device_scale_factor=1,
                    locale="zh-CN",
                )
                cookie = m.cookie(member)
                await context.add_cookies([{"name": k, "value": v, "url": base} for k, v in cookie.items()])
                page = await context.new_page()
                response = await page.goto(base + path)
                assert response is not None
                shots[name] = (response.status, await page.inner_text("body"))
                await page.screenshot(path=str(ARTIFACTS / f"scan_{name}.png"), full_page=True)
                await context.close()
        finally:
            await browser.close()
    status, text = shots["first_scan"]
    assert status == 200 and "正品验证通过" in text and "+10" in text and "积分余额" in text
    status, text = shots["repeat_scan"]
    assert status == 200 and "此码已于" in text and "假冒或回收灌装" in text and "四川省成都" in text
    status, text = shots["invalid_code"]
    assert status == 404 and "无法识别此码" in text
    for name in shots:
        size = await asyncio.to_thread(os.path.getsize, ARTIFACTS / f"scan_{name}.png")
        assert size > 5_000
