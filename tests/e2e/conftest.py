"""Three real servers on loopback: the WeChat simulator (callbacks signed and encrypted in safe
mode, WeChat's API for jiubot's pushes), the reference core (seeded demo tenant, webhooks on)
behind a proxy that can slow it down, and jiubot composed as in production (every feature of
``bot.wiring.features.FEATURES``).

Ports are chosen first because the three point at each other (callback URL, webhook URL).
jiubot runs on a plain ``AppRunner`` as in production: aiohttp's test server cancels a handler
when WeChat hangs up, which the real server does not.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from backend_client import CoreClient
from bot import keys
from bot.app import create_app
from bot.db import session_scope
from bot.ordering import binding
from bot.tenancy import repository as tenancy_repo
from tests.conftest import OA_AES_KEY, OA_APPID, OA_TOKEN
from tests.e2e.proxy import SlowProxy
from tests.ordering_flows.conftest import (  # noqa: F401  (fixtures)
    CORE_KEY,
    HOOK_SECRET,
    STORE,
    core_db,
    core_seed_pg,
    core_seed_sqlite,
    free_port,
    start_core,
)
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import SimConfig
from wechat_sim.model import App

OA_SECRET = "e2e-oa-secret-0123456789"
MP_APPID = "wxe2emp000000001"
MP_SECRET = "e2e-mp-secret-0123456789"
TEMPLATE_CONTENT = "{{character_string1.DATA}}\n{{phrase2.DATA}}\n{{thing3.DATA}}\n{{time4.DATA}}"
MP_TEMPLATE_CONTENT = "{{character_string1.DATA}}\n{{phrase2.DATA}}\n{{amount3.DATA}}\n{{thing4.DATA}}"


@dataclass
class Stack:
    sim: Any
    app: web.Application
    core_url: str
    proxy: SlowProxy
    template_id: str
    runners: list[web.AppRunner] = field(default_factory=list)
    url: str = ""
    mp_template_id: str = ""

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.app[keys.SERVICES]

    @property
    def runtime(self):  # type: ignore[no-untyped-def]
        return self.services.ordering

    def openid(self, person: str) -> str:
        return self.sim.openid(person, OA_APPID)

    def entries(self, person: str, since: int = 0) -> list:
        return [e for e in self.sim.conversation(person, OA_APPID, since) if e.direction in ("out", "system")]

    def seq(self, person: str) -> int:
        entries = self.sim.conversation(person, OA_APPID)
        return entries[-1].seq if entries else 0

    async def say(self, person: str, text: str, *, wait_for: str | None = None, **kw: Any) -> list[str]:
        """Send a text as ``person``; the texts they see afterwards (passive reply, pushes)."""
        since = self.seq(person)
        result = await self.sim.send_text(person, OA_APPID, text, **kw)
        assert result.user_error is None, (text, result.reason)
        return await self.seen(person, since, wait_for=wait_for)

    async def seen(
        self, person: str, since: int, *, wait_for: str | None = None, seconds: float = 8.0
    ) -> list[str]:
        deadline = time.monotonic() + seconds
        while True:
            texts = [_text(e) for e in self.entries(person, since)]
            if wait_for is None or any(wait_for in t for t in texts) or time.monotonic() > deadline:
                if wait_for is None:
                    await asyncio.sleep(0.2)  # pushes right behind the passive reply
                    texts = [_text(e) for e in self.entries(person, since)]
                return texts
            await asyncio.sleep(0.05)

    def last_menu(self, person: str) -> dict | None:
        for entry in reversed(self.entries(person)):
            if entry.payload.get("msgtype") == "msgmenu":
                return entry.payload
        return None

    async def binding_qr(self, core_store_id: int = STORE["id"]) -> Any:
        """What ``jiubot store qr`` does: a token and a parametric QR code at the simulator."""
        async with session_scope(self.services.sessions) as session:
            tenant = (await tenancy_repo.list_apps(session))[0].tenant_id
            token = await binding.create_token(
                session, tenant, binding.OWNER_TOKEN, core_store_id, created_by="test", ttl_seconds=86400
            )
        client = self.services.wechat
        return await client.qrcode.create(OA_APPID, binding.SCENE_PREFIX + token, expire_seconds=86400)

    async def bind_owner(self, person: str, store: dict = STORE) -> list[str]:
        qr = await self.binding_qr(store["id"])
        since = self.seq(person)
        await self.sim.scan(person, qr.url)
        await self.seen(person, since, wait_for="验证码已发送")
        code = await self.sms_code(store["phone"])
        return await self.say(person, code, wait_for="绑定成功")

    async def sms_code(self, phone: str) -> str:
        text = await self.runtime.sms.last_text(phone)
        assert text, f"no SMS to {phone}"
        return "".join(ch for ch in text.split("，")[0] if ch.isdigit())

    async def core(self) -> tuple[aiohttp.ClientSession, CoreClient]:
        session = aiohttp.ClientSession()
        return session, CoreClient(session, self.core_url, CORE_KEY)

    async def orders_of(self, core_store_id: int = STORE["id"]) -> list:
        session, client = await self.core()
        async with session:
            return list((await client.orders.list_for_store(core_store_id, limit=50)).items)


def _text(entry: Any) -> str:
    payload = entry.payload
    if payload.get("msgtype") == "msgmenu":
        items = " ".join(f"[{i['id']}]{i['content']}" for i in payload.get("list", []))
        return f"{payload.get('head_content', '')} {items} {payload.get('tail_content', '')}"
    if payload.get("msgtype") == "template":
        return "TEMPLATE " + " ".join(f"{k}={v.get('value')}" for k, v in (payload.get("data") or {}).items())
    return payload.get("content") or payload.get("text") or str(payload)


@pytest.fixture
async def stack_factory(make_settings, core_db):  # noqa: F811 - the fixture imported above
    stacks: list[Stack] = []

    async def make(*, deadline: float = 5.0, **overrides: Any) -> Stack:
        bot_port = free_port()
        bot_url = f"http://127.0.0.1:{bot_port}"
        oa = App(OA_APPID, OA_SECRET, token=OA_TOKEN, aes_key=OA_AES_KEY, mode="safe",
                 callback_url=f"{bot_url}/wechat/{OA_APPID}")  # fmt: skip
        mp = App(MP_APPID, MP_SECRET, kind="mp", token=OA_TOKEN, mode="plain",
                 callback_url=f"{bot_url}/wechat/{MP_APPID}")  # fmt: skip
        sim_app = create_sim_app(SimConfig(apps=[oa, mp], callback_deadline=deadline))
        sim_runner = web.AppRunner(sim_app, access_log=None)
        await sim_runner.setup()
        await web.TCPSite(sim_runner, "127.0.0.1", 0).start()
        sim_url = "http://{}:{}".format(*sim_runner.addresses[0][:2])
        sim = sim_app[SIM_STATE]
        template_id = sim.add_template(OA_APPID, "订单状态通知", TEMPLATE_CONTENT)
        mp_template_id = sim.add_template(MP_APPID, "订单结果通知", MP_TEMPLATE_CONTENT, kind="subscribe")

        core = await start_core(core_db, webhook_url=f"{bot_url}/core/webhook")
        proxy = SlowProxy(core.url)
        proxy_url = await proxy.start()

        values: dict[str, Any] = {
            "oa_appid": OA_APPID,
            "oa_secret": OA_SECRET,
            "oa_token": OA_TOKEN,
            "oa_aes_key": OA_AES_KEY,
            "oa_mode": "safe",
            "wechat_api_base": sim_url,
            "wechat_retry_backoff_seconds": 0.01,
            "core_url": proxy_url,
            "core_api_key": CORE_KEY,
            "core_webhook_secret": HOOK_SECRET,
            "order_template_id": template_id,
            "order_mp_subscribe_template_id": mp_template_id,
            "order_retry_base_seconds": 0.3,
        }
        values.update(overrides)
        settings = make_settings(**values)
        app = create_app(settings, background=False)  # every feature, as `jiubot serve` has them
        bot_runner = web.AppRunner(app, access_log=None)
        await bot_runner.setup()
        await web.TCPSite(bot_runner, "127.0.0.1", bot_port).start()
        services = app[keys.SERVICES]
        async with session_scope(services.sessions) as session:
            tenant = (await tenancy_repo.list_apps(session))[0].tenant_id
            await tenancy_repo.upsert_app(
                session, tenant, MP_APPID, kind="mp", secret=MP_SECRET, token=OA_TOKEN, mode="plain"
            )
        await services.registry.reload()
        stack = Stack(sim, app, core.url, proxy, template_id, [bot_runner, core.runner, sim_runner])
        stack.url = bot_url
        stack.mp_template_id = mp_template_id
        stack.runners.append(proxy.runner)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        for runner in stack.runners:
            await runner.cleanup()
