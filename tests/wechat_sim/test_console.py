"""The chat console in real headless Chromium (Debian's, through Playwright): create a user,
follow, tap the menu, send a text, tap a customer-service menu item; passive replies and pushed
messages show up, Chinese renders, and a screenshot is kept in tests/wechat_sim/artifacts/."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
import xmltodict
from aiohttp import web
from playwright.async_api import async_playwright, expect
from wechatpy.crypto import WeChatCrypto

from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import SimConfig
from wechat_sim.errors import WxError
from wechat_sim.model import App

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).parent / "artifacts"
APPID, SECRET, TOKEN = "wxconsoletest0001", "console-secret", "consoleToken1"
AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MENU = {
    "button": [
        {"type": "click", "name": "再来一单", "key": "REORDER"},
        {"name": "会员", "sub_button": [{"type": "click", "name": "我的积分", "key": "POINTS"}]},
    ]
}


class TinyBot:
    """A minimal callback app for this test (not jiubot): safe mode, passive replies, one
    customer-service push through the simulator's API."""

    def __init__(self, api_base: str) -> None:
        self.api_base = api_base
        self.crypto = WeChatCrypto(TOKEN, AES, APPID)
        self.session: aiohttp.ClientSession | None = None
        self.tasks: set[asyncio.Task] = set()

    async def api(self, path: str, body: dict) -> dict:
        assert self.session is not None
        async with self.session.get(
            f"{self.api_base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
        ) as resp:
            token = (await resp.json())["access_token"]
        data = json.dumps(body, ensure_ascii=False).encode()
        async with self.session.post(
            f"{self.api_base}{path}", params={"access_token": token}, data=data
        ) as resp:
            return await resp.json()

    async def push_menu_later(self, openid: str) -> None:
        await asyncio.sleep(0.2)
        msgmenu = {
            "head_content": "需要帮您再来一单吗？",
            "list": [{"id": "101", "content": "好的，照旧"}],
            "tail_content": "",
        }
        await self.api(
            "/cgi-bin/message/custom/send", {"touser": openid, "msgtype": "msgmenu", "msgmenu": msgmenu}
        )

    async def callback(self, request: web.Request) -> web.Response:
        q = request.query
        plain = self.crypto.decrypt_message(
            await request.read(), q["msg_signature"], q["timestamp"], q["nonce"]
        )
        msg = xmltodict.parse(plain)["xml"]
        if msg["MsgType"] == "event" and msg["Event"] == "subscribe":
            await self.api("/cgi-bin/menu/create", MENU)
            task = asyncio.create_task(self.push_menu_later(msg["FromUserName"]))
            self.tasks.add(task)
            text = "欢迎关注酒商服务号！点菜单「再来一单」试试。"
        elif msg["MsgType"] == "event" and msg["Event"] == "CLICK":
            text = {"REORDER": "好的，已按上次为您下单：飞天 2箱", "POINTS": "您的积分：1280"}[
                msg["EventKey"]
            ]
        elif msg["MsgType"] == "text":
            text = f"收到：{msg['Content']}"
        else:
            return web.Response(text="success")
        reply = (
            f"<xml><ToUserName><![CDATA[{msg['FromUserName']}]]></ToUserName>"
            f"<FromUserName><![CDATA[{msg['ToUserName']}]]></FromUserName><CreateTime>{msg['CreateTime']}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content></xml>"
        )
        return web.Response(text=self.crypto.encrypt_message(reply, q["nonce"], q["timestamp"]))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/cb", self.callback)

        async def session_ctx(_app):
            async with aiohttp.ClientSession() as self.session:
                yield
                await asyncio.gather(*self.tasks, return_exceptions=True)

        app.cleanup_ctx.append(session_ctx)
        return app


async def test_console_follow_menu_text_and_pushes_render_in_chromium(aiohttp_server, tmp_path):
    sim_server = await aiohttp_server(
        create_sim_app(
            SimConfig(apps=[App(APPID, SECRET, name="酒商服务号", token=TOKEN, aes_key=AES, mode="safe")])
        )
    )
    sim = sim_server.app[SIM_STATE]
    bot_server = await aiohttp_server(TinyBot(str(sim_server.make_url("")).rstrip("/")).app())
    sim.update_app(APPID, callback_url=str(bot_server.make_url("/cb")))

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 840}, locale="zh-CN")
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(str(sim_server.make_url("/_sim/console")))
            await expect(page.get_by_test_id("chat-title")).to_have_text("酒商服务号")

            await page.fill("#person-name", "王老板")
            await page.select_option("#person-role", "store_owner")
            await page.click("#person-create")
            await expect(page.get_by_test_id("person-select")).to_contain_text("王老板 · 门店老板")

            await page.click("#follow-btn")
            chat = page.get_by_test_id("chat")
            await expect(chat).to_contain_text("关注了公众号")
            await expect(chat).to_contain_text("欢迎关注酒商服务号！")
            await expect(chat).to_contain_text("需要帮您再来一单吗？")  # the pushed customer-service msgmenu

            await expect(page.locator("#menubar")).to_be_visible()
            await page.locator("#menu-buttons button", has_text="再来一单").click()
            await expect(chat).to_contain_text("好的，已按上次为您下单：飞天 2箱")
            await page.locator("#menu-buttons button", has_text="会员").click()
            await page.locator("#submenu button", has_text="我的积分").click()
            await expect(chat).to_contain_text("您的积分：1280")

            await page.click("#to-keyboard")
            await page.get_by_test_id("text-input").fill("飞天 2箱 普五 3件")
            await page.get_by_test_id("send-btn").click()
            await expect(chat).to_contain_text("收到：飞天 2箱 普五 3件")

            await page.locator(".menuitem", has_text="好的，照旧").click()
            await expect(chat).to_contain_text("收到：好的，照旧")

            # a subscription notification: the user accepts the popup in the console, the app sends
            live = sim.add_template(APPID, "直播开播提醒", kind="subscribe")
            await page.reload()
            await page.locator("#subscribe-list button", has_text="允许").click()
            await expect(chat).to_contain_text("订阅通知：直播开播提醒✓")
            openid = sim.openid(sim.persons()[0].id, APPID)
            data = {"thing1": {"value": "今晚8点 品鉴直播"}}
            sim.subscribe_send(
                APPID, {"touser": openid, "template_id": live, "data": data}, channel="bizsend"
            )
            shipped = sim.add_template(APPID, "订单发货通知")
            sim.template_send(
                APPID, {"touser": openid, "template_id": shipped, "data": {"thing2": {"value": "飞天 2箱"}}}
            )
            await expect(chat.locator(".card", has_text="订阅通知")).to_contain_text("今晚8点 品鉴直播")
            await expect(chat.locator(".card", has_text="模板消息")).to_contain_text("thing2：飞天 2箱")

            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "console.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            assert errors == []
        finally:
            await browser.close()

    person = sim.persons()[0]
    convo = sim.conversation(person.id, APPID)
    texts = [e.payload.get("content") for e in convo if e.kind in ("reply", "text")]
    assert texts[-2:] == ["好的，照旧", "收到：好的，照旧"]
    await sim.drain()
    finished = [d.message for d in sim.deliveries if d.message.get("Event") == "TEMPLATESENDJOBFINISH"]
    assert len(finished) == 1 and all(
        d.acked
        for d in sim.deliveries
        if d.message["MsgType"] == "event" and d.message["Event"].startswith(("TEMPLATE", "subscribe_msg"))
    )
    tapped = [e for e in convo if e.kind == "text" and e.payload.get("bizmsgmenuid") == "101"]
    assert len(tapped) == 1
    assert [o.msgtype for o in sim.outbound(APPID, channel="kf")] == ["msgmenu"]


async def test_console_shows_delivery_errors(aiohttp_server, unused_tcp_port):
    config = SimConfig(
        apps=[App(APPID, SECRET, name="酒商服务号", callback_url=f"http://127.0.0.1:{unused_tcp_port}/cb")],
        callback_deadline=0.5,
        callback_attempts=1,
    )
    sim_server = await aiohttp_server(create_sim_app(config))
    sim = sim_server.app[SIM_STATE]
    person = sim.add_person("李女士")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 840}, locale="zh-CN")
            await page.goto(str(sim_server.make_url("/_sim/console")) + f"?app={APPID}&person={person.id}")
            chat = page.get_by_test_id("chat")
            await page.click("#follow-btn")
            await expect(chat.locator(".center.error")).to_have_text("该公众号暂时无法提供服务，请稍后再试")
            await page.click("#unfollow-btn")
            await expect(chat).to_contain_text("取消关注")
            await expect(chat).to_contain_text("推送失败（用户不可见）")
            await expect(chat.locator(".center.error")).to_have_count(1)  # unfollowing shows no failure
            # the app answers late through the API: the user has unfollowed, WeChat says 45015
            late = {
                "touser": sim.openid(person.id, APPID),
                "msgtype": "text",
                "text": {"content": "迟到的回复"},
            }
            with pytest.raises(WxError) as refused:
                sim.kf_send(APPID, late)
            assert refused.value.errcode == 45015
            await expect(chat.locator(".deliver-error")).to_contain_text("发送失败 45015")
            await expect(chat.locator(".msg.failed")).to_contain_text("迟到的回复")
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "console_errors.png"))
        finally:
            await browser.close()
