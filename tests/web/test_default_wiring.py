"""The composition root's default features include membership: its pages and API answer."""

from __future__ import annotations

from bot.app import create_app
from tests.web.member_app import WECHAT_UA


async def test_default_app_serves_membership(aiohttp_client, make_settings, monkeypatch):
    monkeypatch.setenv("JIUBOT_CODE_KEY", "default-wiring-code-key-0123456789abc")
    client = await aiohttp_client(create_app(make_settings(), background=False))
    outside = await client.get("/c/" + "0" * 32, headers={"User-Agent": "curl/8"})
    assert outside.status == 200 and "请用微信扫一扫" in await outside.text()
    inside = await client.get("/c/" + "0" * 32, headers={"User-Agent": WECHAT_UA})
    assert inside.status == 404 and "防伪码" in await inside.text()
    assert (await client.post("/mp/api/scan", json={"q": "x"})).status == 401
