"""The README's quick start, walked as each persona in headless Chromium against the real
``jiubot demo`` (a subprocess on a fresh folder and a free port):

* the consumer opens a bottle code from the console's phone (the simulator's in-WeChat browser,
  OAuth through the simulator), confirms her age, is credited; she claims a coupon from the
  store's coupon QR;
* the distributor sees his stores and, later, the order the store owner placed; his scan of the
  consumer's bottle is warned as a repeat;
* the store owner binds his store with the SMS code read from the phone's notification, orders
  in free text, confirms, tracks and reorders;
* operator commands work in a second terminal next to the demo; a second demo on the same folder
  or the same port is refused with a clear message;
* a second run on the same folder keeps everything.

A screenshot per step goes to tests/e2e/artifacts/demo/.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.conftest import REDIS_URL
from tests.e2e.demo_process import JIUBOT, Demo, clean_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).with_name("artifacts") / "demo"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OA = "wxdemooa00000001"


class Walk:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.chat = page.get_by_test_id("chat")
        self.frame = page.frame_locator("#webview-frame")
        self.step = 0

    async def shot(self, name: str) -> None:
        self.step += 1
        await self.page.screenshot(path=str(ARTIFACTS / f"{self.step:02d}_{name}.png"))

    async def be(self, person: str) -> None:
        if await self.page.locator("#webview").is_visible():
            await self.page.click("#webview-close")
        await self.page.select_option("#person-select", person)
        # the conversation is reloaded: wait for its first answer (the account's menu comes with it)
        await expect(self.page.locator("#menubar")).to_be_visible(timeout=10_000)

    async def say(self, text: str, expect_text: str, wait_ms: float = 20_000) -> None:
        for _ in range(50):  # the menu bar may come up with a poll: switch to the keyboard
            if await self.page.get_by_test_id("text-input").is_visible():
                break
            if await self.page.locator("#to-keyboard").is_visible():
                await self.page.click("#to-keyboard")
            await self.page.wait_for_timeout(100)
        replies = self.chat.locator(".msg.out")
        before = await replies.count()
        await self.page.get_by_test_id("text-input").fill(text)
        await self.page.get_by_test_id("send-btn").click()
        await self.page.wait_for_function(
            "n => document.querySelectorAll('#chat .msg.out').length > n", arg=before, timeout=wait_ms
        )
        await expect(replies.last).to_contain_text(expect_text, timeout=wait_ms)

    async def scan_printed(self, url: str) -> None:
        await self.page.locator(f'#printed-list .printed-item[data-url="{url}"] button').click()
        await expect(self.page.get_by_test_id("webview")).to_be_visible()


async def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``jiubot ARGS`` in a newcomer's shell (no JIUBOT_ variables but ``env``) in ``cwd``."""
    return await asyncio.to_thread(
        subprocess.run,
        [JIUBOT, *args],
        cwd=cwd,
        env=clean_env(JIUBOT_REDIS_URL=REDIS_URL, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A second terminal in the demo's folder: the demo's var/demo.env supplies the settings."""
    return await run(cwd, *args)


async def test_every_persona_walks_the_demo_and_a_second_run_keeps_it(tmp_path, redis_prefix):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    demo = Demo(tmp_path, redis_prefix)
    try:
        assert demo.scene.startswith("bind:")
        assert len(demo.code_urls) == 3 and all(u.startswith(demo.base + "/c/") for u in demo.code_urls)
        assert demo.coupon_url.startswith(demo.base + "/k/")

        # a second terminal next to the demo: the README's command works as written
        qr = await cli(tmp_path, "store", "qr", "--store", "S0001")
        assert qr.returncode == 0, qr.stderr
        assert re.search(r"scene\s+bind:", qr.stdout)
        bad_sku = await cli(
            tmp_path,
            "codes",
            "batch",
            "create",
            "--brand",
            "x",
            "--sku",
            "NO-SUCH",
            "--name",
            "y",
            "--size",
            "5",
        )
        assert bad_sku.returncode == 2 and "unknown SKU 'NO-SUCH'" in bad_sku.stderr
        listed = await cli(tmp_path, "codes", "batch", "list")
        assert listed.returncode == 0 and len(listed.stdout.strip().splitlines()) == 1  # nothing created

        # one demo per folder; a busy port is refused before anything is seeded
        again = await run(tmp_path, "demo", "--port", str(demo.port + 1))
        assert again.returncode == 2 and f"进程 {demo.proc.pid}" in again.stderr, again.stderr
        other = tmp_path / "other"
        busy = await run(tmp_path, "demo", "--port", str(demo.port), "--var", str(other))
        assert busy.returncode == 2 and f"端口 {demo.port} 已被占用" in busy.stderr, busy.stderr
        assert "Traceback" not in busy.stderr and not (other / "core.sqlite3").exists()

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page(viewport={"width": 1000, "height": 860}, locale="zh-CN")
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(demo.console_url)
                walk = Walk(page)
                await expect(page.get_by_test_id("printed")).to_be_visible()

                # consumer: follow, open a bottle code inside the phone, confirm age, credited
                await walk.be("consumer-li")
                await page.click("#follow-btn")
                await expect(walk.chat).to_contain_text("门店绑定二维码", timeout=15_000)
                await walk.shot("consumer_follows")
                await walk.scan_printed(demo.code_urls[0])
                await walk.frame.get_by_role("button", name=re.compile("我已年满18周岁")).click()
                body = walk.frame.locator("body")
                await expect(body).to_contain_text("正品验证通过", timeout=15_000)
                await expect(body).to_contain_text("示例酒业")
                await walk.shot("consumer_scan_credited")
                await walk.be("consumer-li")
                await walk.say("积分", "消费积分：20 分")
                await walk.say("我的门店", "供经销商使用")  # not a distributor: told how to become one
                await walk.say("我的订单", "仅对已绑定的门店开放")  # chat ordering still answers her
                await walk.scan_printed(demo.coupon_url)
                await expect(body).to_contain_text("已领取", timeout=15_000)
                await expect(body).not_to_contain_text("瓶盖防伪码")
                await walk.shot("consumer_store_coupon")
                # the same counter card read with the menu's scanner is a coupon, not a fake bottle
                await walk.be("consumer-li")
                await page.locator("#menu-buttons button", has_text="会员中心").click()
                await page.locator("#submenu button", has_text="扫码验真领积分").click()
                await page.select_option("#scan-dialog-qr", demo.coupon_url)
                await page.click("#scan-dialog-ok")
                await expect(walk.chat.locator(".msg.out").last).to_contain_text("已领取", timeout=15_000)
                await expect(walk.chat).not_to_contain_text("这不是本品牌的防伪码")
                await walk.shot("consumer_menu_scans_store_qr")

                # distributor: his stores; his scan of her bottle is a warned repeat
                await walk.be("distributor-wang")
                await page.click("#follow-btn")
                await expect(walk.chat).to_contain_text("欢迎关注", timeout=15_000)
                await page.wait_for_timeout(300)  # the follow's poll brings the menu bar back
                await walk.say("我的门店", "您负责的门店共")
                await walk.shot("distributor_stores")
                await walk.scan_printed(demo.code_urls[0])
                await expect(body).to_contain_text("重复扫码", timeout=15_000)
                await walk.shot("distributor_repeat_scan_warned")

                # store owner: bind with the SMS code from the phone's notification, order, track
                await walk.be("boss-zhang")
                await page.fill("#scan-input", demo.scene)
                await page.locator("#scan-form button").click()
                await expect(walk.chat).to_contain_text("验证码已发送", timeout=20_000)
                toast = page.get_by_test_id("sms-notification")
                await expect(toast).to_be_visible(timeout=10_000)
                await walk.shot("owner_sms_notification")
                code = re.search(r"\d{6}", await toast.inner_text())
                assert code, await toast.inner_text()
                await walk.say(code.group(0), "绑定成功")
                await walk.shot("owner_bound")
                await walk.say("飞天 2箱 普五3件", "订单报价", wait_ms=30_000)
                await walk.shot("owner_quote")
                await walk.say("确认", "下单成功", wait_ms=30_000)
                placed = await walk.chat.locator(".msg.out").last.inner_text()
                number = re.search(r"订单号：(\S+)", placed)
                assert number, placed
                await walk.shot("owner_placed")
                await walk.say("物流", number.group(1))
                await walk.shot("owner_tracking")
                await walk.say("取消", "")
                await walk.say("再来一单", "再来一单", wait_ms=30_000)
                await walk.shot("owner_reorder")
                await walk.say("取消", "")

                # the distributor now sees that order among his stores' orders
                await walk.be("distributor-wang")
                await walk.say("我的门店", number.group(1))
                await walk.shot("distributor_sees_the_order")
                assert errors == []
            finally:
                await browser.close()
        first_codes = demo.code_urls
    finally:
        assert demo.stop() == 0
    assert not (tmp_path / "var" / "demo.env").exists()

    # a second run on the same folder: same codes, the consumer's points and follow are kept
    second = Demo(tmp_path, redis_prefix)
    try:
        assert [u.split("/c/")[1] for u in second.code_urls] == [u.split("/c/")[1] for u in first_codes]
        assert all(u.startswith(second.base + "/c/") for u in second.code_urls)  # its own port
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{second.base}/readyz") as resp:
                assert resp.status == 200
            act = {"person": "consumer-li", "appid": OA, "action": "text", "text": "积分"}
            async with http.post(f"{second.base}/wxsim/_sim/api/act", json=act) as resp:
                assert resp.status == 200
            query = {"person": "consumer-li", "appid": OA, "since": "0", "wait": "0"}
            async with http.get(f"{second.base}/wxsim/_sim/api/conversation", params=query) as resp:
                entries = (await resp.json())["entries"]
        assert "消费积分：20 分" in str(entries[-1]["payload"])
        assert entries[0]["kind"] == "event"  # the follow from the first run is still there
        listed = await cli(tmp_path, "codes", "batch", "list")
        assert len(listed.stdout.strip().splitlines()) == 1, listed.stdout  # the batch was not made twice
    finally:
        assert second.stop() == 0
