"""The demo's lapsed store (issue 13): the real ``jiubot demo`` seeds a store whose last order is
29 days old and its owner in the simulator; its banner prints ``jiubot journeys tick --at`` two
days on; run in a second terminal, the win-back enrols the store, issues the coupon through the
core, and the message shows in the owner's chat in the console. A second tick sends nothing more.

Screenshots in tests/e2e/artifacts/demo_winback/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from playwright.async_api import async_playwright, expect

from tests.e2e.demo_process import Demo
from tests.e2e.test_demo import CHROMIUM_ARGS, Walk, cli

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).with_name("artifacts") / "demo_winback"


async def test_the_lapsed_store_gets_its_win_back_in_the_chat_after_a_tick(tmp_path, redis_prefix):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    demo = Demo(tmp_path, redis_prefix)
    try:
        banner = "".join(demo.banner)
        found = re.search(r"journeys tick --at (\S+)", banner)
        assert found, banner
        at = datetime.fromisoformat(found.group(1))
        last = re.search(r"win-back: (\S+) last ordered (\d{4}-\d{2}-\d{2})", banner)
        assert last, banner
        store_name = last.group(1)
        assert at - datetime.now(UTC) < timedelta(days=3)  # the store is a day or two short of 30 days
        assert "[boss-lapsed]" in banner

        # nothing is due yet: the minute scheduler (real time) has nothing to do for it
        before = await cli(tmp_path, "journeys", "status", "--json")
        assert before.returncode == 0, before.stderr
        assert all(r["journey"] != "win-back" for r in orjson.loads(before.stdout))

        tick = await cli(tmp_path, "journeys", "tick", "--at", found.group(1))
        assert tick.returncode == 0, tick.stderr
        assert re.search(r"enrolled [1-9]", tick.stdout), tick.stdout
        status = await cli(tmp_path, "journeys", "status", "--json")
        [winback] = [r for r in orjson.loads(status.stdout) if r["journey"] == "win-back"]
        assert winback["enrolled"] == 1 and winback["arms"]["treatment"]["enrolled"] == 1
        assert winback["steps"]["coupon"] == {"done": 1}
        assert winback["steps"]["message"] == {"done": 1} and winback["reached"] == 1
        assert winback["coupons_issued"] == 1

        again = await cli(tmp_path, "journeys", "tick", "--at", found.group(1))
        assert again.returncode == 0 and "steps 0" in again.stdout, again.stdout

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page(viewport={"width": 1000, "height": 860}, locale="zh-CN")
                await page.goto(demo.console_url)
                walk = Walk(page)
                await walk.be("boss-lapsed")
                message = walk.chat.locator(".msg.out", has_text="专属")
                await expect(message).to_have_count(1, timeout=15_000)
                await expect(message).to_contain_text(store_name)
                await expect(message).to_contain_text("门店订货满2000减100")  # the coupon the core issued
                await expect(message).to_contain_text("再来一单")
                await page.screenshot(path=str(ARTIFACTS / "01_lapsed_store_owner_gets_win_back.png"))
            finally:
                await browser.close()
    finally:
        assert demo.stop() == 0
