"""wechatpy's own WeChatClient (sync, requests-based; nobody here wrote it) speaks to the simulator
through a requests transport adapter that rewrites WeChat's hosts to the simulator's address."""

from __future__ import annotations

import asyncio

import pytest
import requests
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient, parse_message
from wechatpy.exceptions import WeChatClientException

from tests.wechat_sim.responder import Responder
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import Limits, SimConfig
from wechat_sim.model import App

APPID, SECRET = "wxwechatpytest001", "wechatpy-secret"


class SimulatorAdapter(HTTPAdapter):
    """Sends https://api.weixin.qq.com/... and https://mp.weixin.qq.com/... to the simulator."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base.rstrip("/")

    def send(self, request: requests.PreparedRequest, *args, **kwargs) -> requests.Response:
        for host in ("https://api.weixin.qq.com", "https://mp.weixin.qq.com"):
            if request.url.startswith(host):
                request.url = self.base + request.url[len(host) :]
        return super().send(request, *args, **kwargs)


@pytest.fixture
async def served(aiohttp_server):
    server = await aiohttp_server(
        create_sim_app(SimConfig(apps=[App(APPID, SECRET)], limits=Limits(event_delay=0)))
    )
    return server, server.app[SIM_STATE]


def wechatpy_client(base: str) -> WeChatClient:
    client = WeChatClient(APPID, SECRET)
    adapter = SimulatorAdapter(base)
    client._http.mount("https://api.weixin.qq.com/", adapter)
    client._http.mount("https://mp.weixin.qq.com/", adapter)
    return client


async def test_wechatpy_fetches_a_token_sends_a_kf_message_and_creates_a_qr_code(served):
    server, sim = served
    person = sim.add_person("王老板", "store_owner")
    await sim.follow(person.id, APPID)
    openid = sim.openid(person.id, APPID)
    client = wechatpy_client(str(server.make_url("/")))

    def use_wechatpy():
        token = client.fetch_access_token()
        sent = client.message.send_text(openid, "您的订单已发货，预计明天送达。")
        qr = client.qrcode.create(
            {
                "expire_seconds": 1800,
                "action_name": "QR_STR_SCENE",
                "action_info": {"scene": {"scene_str": "store:88"}},
            }
        )
        image = client._http.get(WeChatClient.qrcode.get_url(qr))  # mp.weixin.qq.com/cgi-bin/showqrcode
        return token, sent, qr, image

    token, sent, qr, image = await asyncio.to_thread(use_wechatpy)

    assert token["expires_in"] == 7200 and client.access_token == token["access_token"]
    assert sent["errcode"] == 0
    assert qr["expire_seconds"] == 1800 and qr["url"].startswith("http://weixin.qq.com/q/")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    [record] = sim.outbound(APPID, openid, "kf")
    assert record.payload == {"content": "您的订单已发货，预计明天送达。"} and record.errcode == 0
    assert sim.token_fetches(APPID) == 1
    assert sim.find_qr(qr["ticket"]).scene == "store:88"


async def test_wechatpy_refreshes_an_invalidated_token_and_sees_window_errors(served):
    server, sim = served
    person = sim.add_person()
    client = wechatpy_client(str(server.make_url("/")))
    await asyncio.to_thread(client.fetch_access_token)
    sim.invalidate_tokens(APPID)
    await sim.follow(person.id, APPID)
    openid = sim.openid(person.id, APPID)

    # 40001 -> wechatpy fetches a new token and retries the call
    await asyncio.to_thread(client.message.send_text, openid, "一")
    assert sim.token_fetches(APPID) == 2
    assert [o.errcode for o in sim.outbound(APPID, openid)] == [0]
    await sim.unfollow(person.id, APPID)
    with pytest.raises(WeChatClientException) as exc:
        await asyncio.to_thread(client.message.send_text, openid, "二")
    assert exc.value.errcode == 45015
    assert " rid: " in exc.value.errmsg


async def test_wechatpy_parses_what_the_simulator_pushes(aiohttp_server, served):
    _, sim = served
    responder = Responder(APPID, "wxsimtoken")
    callback = await aiohttp_server(responder.app())
    sim.update_app(APPID, callback_url=str(callback.make_url("/cb")))
    person = sim.add_person()
    await sim.follow(person.id, APPID, scene=4242)
    await sim.send_text(person.id, APPID, "飞天 2箱")
    follow, text = (parse_message(r.body) for r in responder.received)
    assert follow.type == "event" and follow.event == "subscribe_scan" and follow.scene_id == "4242"
    assert text.type == "text" and text.content == "飞天 2箱" and text.source == sim.openid(person.id, APPID)
