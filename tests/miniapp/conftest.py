"""jiubot with the outbound extension and the mini-program routes, against the simulator."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot import keys
from bot.app import create_app
from bot.db import session_scope
from bot.miniapp.routes import add_auth_routes
from bot.services import Services
from bot.tenancy import repository as tenancy_repo
from bot.wiring.features import WECHAT
from tests.wechat.test_outbound_sim import MP, MP_SECRET, OA, OA_SECRET, start_sim

TOKEN = "simToken12345"


@dataclass
class MpStack:
    client: object  # aiohttp TestClient
    sim: object
    services: Services

    async def login(self, person_id: str, **extra) -> dict:
        code = self.sim.wx_login(person_id, MP)
        resp = await self.client.post("/mp/api/login", json={"code": code, "appid": MP, **extra})
        assert resp.status == 200, await resp.text()
        return await resp.json()


@pytest.fixture
async def mp_stack(aiohttp_server, aiohttp_client, make_settings) -> MpStack:
    base, sim = await start_sim(aiohttp_server)
    settings = make_settings(
        oa_appid=OA,
        oa_secret=OA_SECRET,
        oa_token=TOKEN,
        oa_mode="plain",
        oa_aes_key="",
        wechat_api_base=base,
        wechat_retry_backoff_seconds=0.01,
    )
    # only what the mini-program API needs (create_app's default features include it)
    app = create_app(settings, features=[WECHAT], background=False)
    add_auth_routes(app)
    client = await aiohttp_client(app)
    services = app[keys.SERVICES]
    async with session_scope(services.sessions) as session:
        tenant = (await tenancy_repo.list_apps(session))[0].tenant_id
        await tenancy_repo.upsert_app(
            session, tenant, MP, kind="mp", secret=MP_SECRET, token=TOKEN, mode="plain"
        )
    await services.registry.reload()
    return MpStack(client, sim, services)
