"""Headless Chromium renders the share page (its wx.config accepted by the simulator's JS-SDK,
the share card set to the viewer's own link), the forwarder's poster and the 素材库 page. PNGs
land in $JIUBOT_SCREENSHOTS (default <tmp>/jiubot-screenshots)."""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
import time
from pathlib import Path

import pytest
from aiohttp import web

from bot import keys
from bot.app import create_app
from bot.content import attribution, images, library, storage
from bot.db import session_scope
from bot.membership import actions as members
from bot.web.h5auth import COOKIE, _mac
from bot.wiring.features import CONTENT, MEMBERSHIP, MINIAPP, WECHAT
from tests.conftest import OA_APPID, OA_TOKEN
from tests.ordering_flows.conftest import free_port
from tests.web.member_app import WECHAT_UA
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import SimConfig
from wechat_sim.model import App

ARTIFACTS = Path(os.environ.get("JIUBOT_SCREENSHOTS") or Path(tempfile.gettempdir()) / "jiubot-screenshots")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
SECRET = "shots-oa-secret-0123456789"


def _cover() -> bytes:
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (1600, 1000), (120, 30, 30))
    draw = ImageDraw.Draw(picture)
    for i in range(0, 1600, 80):
        draw.rectangle((i, 600, i + 40, 1000), fill=(190, 140, 60))
    out = io.BytesIO()
    picture.save(out, "JPEG")
    return out.getvalue()


@pytest.mark.browser
async def test_share_page_poster_and_library_in_chromium(make_settings, tmp_path, monkeypatch):
    from playwright.async_api import async_playwright

    sim_app = create_sim_app(SimConfig(apps=[App(OA_APPID, SECRET, token=OA_TOKEN, mode="plain")]))
    sim_runner = web.AppRunner(sim_app, access_log=None)
    await sim_runner.setup()
    await web.TCPSite(sim_runner, "127.0.0.1", 0).start()
    sim_url = "http://{}:{}".format(*sim_runner.addresses[0][:2])
    port = free_port()
    bot_url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("JIUBOT_CONTENT_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("JIUBOT_CONTENT_JSSDK_URL", f"{sim_url}/_sim/static/jweixin.js")
    settings = make_settings(
        oa_appid=OA_APPID,
        oa_secret=SECRET,
        oa_token=OA_TOKEN,
        wechat_api_base=sim_url,
        public_base_url=bot_url,
    )
    app = create_app(settings, features=[WECHAT, MINIAPP, MEMBERSHIP, CONTENT], background=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        services = app[keys.SERVICES]
        sim = sim_app[SIM_STATE]
        tenant = next(a.tenant_id for a in services.registry.all() if a.appid == OA_APPID)
        data, ext = images.sanitise(_cover())
        key = storage.content_key(data, ext)
        await services.content.storage.put(key, data)
        wang, reader = sim.add_person("王经理", "distributor"), sim.add_person("读者")
        async with session_scope(services.sessions) as session:
            item = await library.create(
                session, tenant, kind="article", title="酱香型白酒的十二道工序", summary="端午制曲，重阳下沙",
                body="九次蒸煮、八次发酵、七次取酒。\n一年一个生产周期。", image_key=key, tags=["aroma:酱香"],
            )  # fmt: skip
            await library.submit(session, tenant, item.id)
            await library.approve(session, tenant, item.id, by="hq")
            forwarder = await members.ensure_member(
                session, tenant, OA_APPID, sim.member(wang.id, OA_APPID).openid
            )
            await members.assign_role(session, forwarder, "distributor_staff", distributor_code="D-CD-01")
            viewer = await members.ensure_member(
                session, tenant, OA_APPID, sim.member(reader.id, OA_APPID).openid
            )
            share = await attribution.share_for(session, tenant, item.id, forwarder)
        token = attribution.share_token(services.content.secret, share)

        def cookie(member_id: int) -> dict:
            body = f"{tenant}.{member_id}.{int(time.time()) + 3600}"
            value = f"{body}.{_mac(settings.secret_key, body)}"
            return {"name": COOKIE, "value": value, "url": bot_url}

        await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            try:
                context = await browser.new_context(
                    user_agent=WECHAT_UA, viewport={"width": 390, "height": 844}, locale="zh-CN"
                )
                await context.add_cookies([cookie(viewer)])
                page = await context.new_page()
                response = await page.goto(f"{bot_url}/s/{token}")
                assert response is not None and response.status == 200
                await page.wait_for_function("window.wx && window.wx.configOk !== undefined", timeout=10_000)
                assert await page.evaluate("window.wx.configOk") is True  # the simulator accepted it
                card = await page.evaluate("window.wx.shareCard")
                assert card["title"] == "酱香型白酒的十二道工序" and f"{bot_url}/s/" in card["link"]
                assert card["link"] != f"{bot_url}/s/{token}"  # the reader shares his own link
                assert "端午制曲" in await page.inner_text("body")
                loaded = "[...document.images].every(i => i.complete && i.naturalWidth > 0)"
                await page.wait_for_function(loaded, timeout=5_000)  # the cover and the follow QR
                await page.screenshot(path=str(ARTIFACTS / "content_share.png"), full_page=True)
                await context.close()

                context = await browser.new_context(
                    user_agent=WECHAT_UA, viewport={"width": 390, "height": 844}, locale="zh-CN"
                )
                await context.add_cookies([cookie(forwarder)])
                page = await context.new_page()
                response = await page.goto(f"{bot_url}/content/library")
                assert response is not None and response.status == 200
                text = await page.inner_text("body")
                assert "素材库" in text and "十二道工序" in text and "生成我的专属海报" in text
                await page.screenshot(path=str(ARTIFACTS / "content_library.png"), full_page=True)
                response = await page.goto(f"{bot_url}/s/{token}/poster.png")
                assert response is not None and response.status == 200
                assert response.headers["content-type"] == "image/png"
                poster = await response.body()
                await page.screenshot(path=str(ARTIFACTS / "content_poster.png"))
                await context.close()
            finally:
                await browser.close()
        await asyncio.to_thread((ARTIFACTS / "content_poster_full.png").write_bytes, poster)
        from PIL import Image

        with Image.open(io.BytesIO(poster)) as shown:
            assert shown.size == (750, 1200)
            assert shown.getpixel((100, 300)) != shown.getpixel((100, 1000))  # the cover, then the band
        cached = await services.content.storage.exists(
            __import__("bot.content.poster", fromlist=["cache_key"]).cache_key(
                key, "酱香型白酒的十二道工序", "经销商 D-CD-01", f"{bot_url}/s/{token}"
            )
        )
        assert cached  # drawn once, then served from storage
    finally:
        await runner.cleanup()
        await sim_runner.cleanup()
