"""Fixtures: a simulator on a real loopback port with a manual clock, an OA and a mini-program in
the same open-platform group, and a small client for WeChat's API paths."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.clock import ManualClock
from wechat_sim.config import Limits, SimConfig
from wechat_sim.model import App
from wechat_sim.simulator import Simulator

OA = "wxsimoa000000001"
OA_SECRET = "oa-secret-1"
MP = "wxsimmp000000001"
MP_SECRET = "mp-secret-1"
START = 1_750_000_000.0
RID = re.compile(r" rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$")


class Wx:
    """Calls WeChat's API paths on the simulator the way an SDK does."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    @property
    def sim(self) -> Simulator:
        return self.client.app[SIM_STATE]

    async def token(self, appid: str = OA, secret: str = OA_SECRET) -> str:
        data = await self.get("/cgi-bin/token", grant_type="client_credential", appid=appid, secret=secret)
        assert "access_token" in data, data
        self.tokens[appid] = data["access_token"]
        return data["access_token"]

    async def _token_for(self, appid: str) -> str:
        return self.tokens.get(appid) or await self.token(appid, self.sim.app(appid).secret)

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        resp = await self.client.get(path, params=params)
        assert resp.status == 200
        return await resp.json(content_type=None)

    async def post(self, path: str, body: Any, *, appid: str = OA, token: str | None = None, **params: Any):
        """POST a JSON body (bytes are sent as they are); like an SDK, a cached token that expired
        is fetched again once."""
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        for _ in range(2):
            params["access_token"] = token if token is not None else await self._token_for(appid)
            resp = await self.client.post(path, params=params, data=data)
            assert resp.status == 200
            if resp.content_type == "image/png":
                return await resp.read()
            answer = await resp.json(content_type=None)
            if token is not None or answer.get("errcode") not in (40001, 42001):
                return answer
            self.tokens.pop(appid, None)
        return answer

    async def call(self, path: str, *, appid: str = OA, **params: Any) -> dict[str, Any]:
        """GET with the app's access_token (fetched again once if it expired)."""
        answer = await self.get(path, access_token=await self._token_for(appid), **params)
        if answer.get("errcode") in (40001, 42001):
            self.tokens.pop(appid, None)
            answer = await self.get(path, access_token=await self._token_for(appid), **params)
        return answer


def errcode(data: dict[str, Any]) -> int:
    return int(data.get("errcode", 0))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def limits() -> Limits:
    return Limits(event_delay=0.0)


@pytest.fixture
def apps() -> list[App]:
    return [
        App(OA, OA_SECRET, name="酒商服务号", group="brand"),
        App(MP, MP_SECRET, kind="mp", name="酒商小程序", group="brand"),
    ]


@pytest.fixture
async def wx(aiohttp_client, clock, limits, apps) -> Wx:
    config = SimConfig(apps=apps, clock=clock, limits=limits, callback_deadline=1.0)
    return Wx(await aiohttp_client(create_sim_app(config)))


@pytest.fixture
def sim(wx: Wx) -> Simulator:
    return wx.sim
