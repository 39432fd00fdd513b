"""The README's first command: `jiubot demo` starts, a newcomer opens the printed console URL,
follows the account in headless Chromium and gets the welcome and the menu; a second run keeps
the data."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
from playwright.async_api import async_playwright, expect

from tests.conftest import REDIS_URL

JIUBOT = str(Path(sys.executable).with_name("jiubot"))
ARTIFACTS = Path(__file__).with_name("artifacts")
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    def __init__(self, cwd: Path, redis_prefix: str) -> None:
        self.cwd = cwd
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIUBOT_")}
        env.update(JIUBOT_REDIS_URL=REDIS_URL, JIUBOT_REDIS_PREFIX=redis_prefix)
        self.log = open(cwd / "demo-stderr.log", "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [JIUBOT, "demo", "--port", str(self.port), "--stores", "20"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.console_url = ""
        self.scene = ""
        self.lines: list[str] = []
        deadline = time.time() + 120
        assert self.proc.stdout is not None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise AssertionError(f"demo exited: {(cwd / 'demo-stderr.log').read_text()[-2000:]}")
                continue
            found = re.search(r"chat console \(open this\):\s+(\S+)", line)
            if found:
                self.console_url = found.group(1)
            scene = re.search(r"scan the QR scene (bind:\S+)", line)
            if scene:
                self.scene = scene.group(1)
            if "Ctrl-C stops" in line:
                break
        assert self.console_url, "the demo never printed its console URL"
        # the rest of stdout (the SMS the demo prints) is collected in the background
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    async def sms_code(self, wait: float = 20) -> str:
        deadline = time.time() + wait
        while time.time() < deadline:
            for line in reversed(self.lines):
                found = re.search(r"短信 -> \d+: .*?(\d{6})", line)
                if found:
                    return found.group(1)
            await asyncio.sleep(0.2)
        raise AssertionError(f"no SMS printed: {self.lines[-5:]}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._reader.join(timeout=5)
            self.proc.stdout.close()  # type: ignore[union-attr]
            self.log.close()
        return self.proc.returncode


async def test_newcomer_follows_in_the_console_and_gets_welcome_and_menu(tmp_path, redis_prefix):
    ARTIFACTS.mkdir(exist_ok=True)
    demo = Demo(tmp_path, redis_prefix)
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{demo.port}/readyz") as resp:
            assert resp.status == 200
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = await browser.new_page(viewport={"width": 1000, "height": 840}, locale="zh-CN")
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(demo.console_url)
                await expect(page.get_by_test_id("person-select")).to_contain_text("李女士")
                await page.select_option("#person-select", "consumer-li")
                await page.click("#follow-btn")
                chat = page.get_by_test_id("chat")
                await expect(chat).to_contain_text("欢迎关注", timeout=15_000)
                await expect(page.locator("#menubar")).to_be_visible()
                await expect(page.locator("#menu-buttons button", has_text="订货")).to_be_visible()
                await expect(page.locator("#menu-buttons button", has_text="我的订单")).to_be_visible()
                await page.click("#to-keyboard")
                await page.get_by_test_id("text-input").fill("帮助")
                await page.get_by_test_id("send-btn").click()
                await expect(chat).to_contain_text("再来一单", timeout=15_000)
                await page.screenshot(path=str(ARTIFACTS / "demo_console.png"), full_page=True)

                # the store owner scans his store's binding QR, confirms with the SMS code, orders
                assert demo.scene.startswith("bind:")
                await page.select_option("#person-select", "boss-zhang")
                await page.fill("#scan-input", demo.scene)
                await page.locator("#scan-form button").click()
                await expect(chat).to_contain_text("验证码已发送", timeout=20_000)
                code = await demo.sms_code()
                await page.click("#to-keyboard")
                await page.get_by_test_id("text-input").fill(code)
                await page.get_by_test_id("send-btn").click()
                await expect(chat).to_contain_text("绑定成功", timeout=15_000)
                await page.get_by_test_id("text-input").fill("飞天 2箱 普五3件")
                await page.get_by_test_id("send-btn").click()
                await expect(chat).to_contain_text("订单报价", timeout=30_000)  # prices, promotions, total
                await page.screenshot(path=str(ARTIFACTS / "demo_store_owner.png"), full_page=True)
                assert errors == []
            finally:
                await browser.close()
    finally:
        assert demo.stop() == 0

    # a second run keeps the data: the simulated person is still a follower, jiubot knows the member
    again = Demo(tmp_path, redis_prefix)
    try:
        state_url = f"{again.console_url.rsplit('/_sim/', 1)[0]}/_sim/api/state"
        async with aiohttp.ClientSession() as http, http.get(state_url) as resp:
            state = await resp.text()
        assert "consumer-li" in state
    finally:
        assert again.stop() == 0
    assert (tmp_path / "var" / "jiubot.sqlite3").exists()
    assert (tmp_path / "var" / "core.sqlite3").exists()
