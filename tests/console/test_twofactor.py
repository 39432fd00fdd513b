"""The optional second factor through the WeChat simulator over real HTTP: an operator binds his
WeChat by scanning a QR jiubot made (qrcode.create at the simulator, the scan comes back as a
signed and encrypted callback), then signing in needs the password AND a scan by that same
WeChat; someone else's scan does not count, and the confirmation is used once."""

from __future__ import annotations

import asyncio
import re
import socket
import time

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.app import create_app
from bot.console import accounts
from bot.console.feature import console_routes
from bot.console.models import AuditEntry, Operator
from bot.db import session_scope
from bot.handlers import basic, notifications
from bot.wiring import Feature
from bot.wiring.features import WECHAT
from tests.conftest import OA_AES_KEY, OA_APPID, OA_TOKEN
from tests.console.console_app import PASSWORD
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import SimConfig
from wechat_sim.model import App

OA_SECRET = "console-2fa-oa-secret-01"
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _start(app: web.Application, port: int = 0) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, "http://{}:{}".format(*runner.addresses[0][:2])


def _texts(sim, person: str, since: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        e.payload.get("content", "")
        for e in sim.conversation(person, OA_APPID, since)
        if e.direction == "out"
    ]


def _last(sim, person: str) -> int:  # type: ignore[no-untyped-def]
    entries = sim.conversation(person, OA_APPID)
    return entries[-1].seq if entries else 0


async def _seen(sim, person: str, since: int, text: str, seconds: float = 8.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(text in t for t in _texts(sim, person, since)):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_bind_then_sign_in_with_a_wechat_scan(make_settings):
    bot_port = _free_port()
    oa = App(OA_APPID, OA_SECRET, token=OA_TOKEN, aes_key=OA_AES_KEY, mode="safe",
             callback_url=f"http://127.0.0.1:{bot_port}/wechat/{OA_APPID}")  # fmt: skip
    sim_app = create_sim_app(SimConfig(apps=[oa]))
    sim_runner, sim_url = await _start(sim_app)
    sim = sim_app[SIM_STATE]
    settings = make_settings(oa_secret=OA_SECRET, wechat_api_base=sim_url, wechat_retry_backoff_seconds=0.01)
    app = create_app(
        settings,
        routers=[notifications.router, basic.router],
        features=[WECHAT, Feature("console", routes=console_routes())],
        background=False,
    )
    bot_runner, bot_url = await _start(app, bot_port)
    services = app[keys.SERVICES]
    tenant = next(a.tenant_id for a in services.registry.all() if a.appid == OA_APPID)
    async with session_scope(services.sessions) as session:
        boss = await accounts.create(session, tenant, username="boss", password=PASSWORD, role="hq_admin")
    sim.ensure_person("alice", "王经理")
    sim.ensure_person("mallory", "陌生人")
    http = aiohttp.ClientSession(base_url=bot_url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:

        async def sign_in_password() -> aiohttp.ClientResponse:
            page = await (await http.get("/console/login")).text()
            return await http.post(
                "/console/login",
                data={"_csrf": CSRF.search(page).group(1), "username": "boss", "password": PASSWORD},
                allow_redirects=False,
            )

        # 1. bind: the signed-in operator asks for a QR and scans it with his WeChat
        assert (await sign_in_password()).status == 303
        account = await (await http.get("/console/account")).text()
        started = await http.post("/console/account/wechat", data={"_csrf": CSRF.search(account).group(1)})
        page = await started.text()
        assert started.status == 200 and 'data-testid="bind-qr"' in page and "data:image/svg+xml" in page
        nonce = NONCE.search(page).group(1)
        ticket = sim.find_qr("op2fa:" + nonce, OA_APPID)
        assert ticket is not None  # jiubot asked the (simulated) WeChat for this QR
        status = await (await http.get(f"/console/account/wechat/status?n={nonce}")).json()
        assert status == {"state": "pending"}
        await sim.scan("alice", ticket.ticket)  # a first scan follows: welcome, then our text as a push
        assert await _seen(sim, "alice", 0, "微信已绑定")
        assert (await (await http.get(f"/console/account/wechat/status?n={nonce}")).json())[
            "state"
        ] == "scanned"
        done = await http.post(
            "/console/account/wechat/confirm",
            data={"_csrf": CSRF.search(page).group(1), "nonce": nonce},
            allow_redirects=False,
        )
        assert done.status == 303 and done.headers["Location"].endswith("done=wechat_bound")
        async with session_scope(services.sessions) as session:
            row = await session.get(Operator, boss.id)
            assert row.wechat_openid == sim.openid("alice", OA_APPID)

        # 2. sign out; the password alone no longer signs in
        home = await (await http.get("/console/")).text()
        await http.post("/console/logout", data={"_csrf": CSRF.search(home).group(1)}, allow_redirects=False)
        challenged = await sign_in_password()
        page = await challenged.text()
        assert challenged.status == 200 and 'data-testid="login-qr"' in page
        assert (await http.get("/console/", allow_redirects=False)).status == 303  # not signed in yet
        nonce = NONCE.search(page).group(1)
        csrf = CSRF.search(page).group(1)
        ticket = sim.find_qr("op2fa:" + nonce, OA_APPID)

        # someone else's WeChat does not confirm
        seq = _last(sim, "mallory")
        await sim.scan("mallory", ticket.ticket)
        assert await _seen(sim, "mallory", seq, "未绑定此运营后台账号")
        assert (await (await http.get(f"/console/login/wechat/status?n={nonce}")).json())[
            "state"
        ] == "pending"
        early = await http.post(
            "/console/login/wechat", data={"_csrf": csrf, "nonce": nonce}, allow_redirects=False
        )
        assert early.status == 401 and "扫码验证未通过" in await early.text()

        # the bound WeChat does
        seq = _last(sim, "alice")
        await sim.scan("alice", ticket.ticket)
        assert await _seen(sim, "alice", seq, "已确认登录运营后台")
        finished = await http.post(
            "/console/login/wechat",
            data={"_csrf": csrf, "nonce": nonce, "next": "/console/"},
            allow_redirects=False,
        )
        assert finished.status == 303 and finished.headers["Location"] == "/console/"
        assert (await http.get("/console/")).status == 200
        replay = await http.post(
            "/console/login/wechat", data={"_csrf": csrf, "nonce": nonce}, allow_redirects=False
        )
        assert replay.status in (401, 403)  # used once (and the old session id is gone)
        async with session_scope(services.sessions) as session:
            logins = (
                await session.scalars(
                    select(AuditEntry.after).where(AuditEntry.action == "login").order_by(AuditEntry.id)
                )
            ).all()
            actions = set((await session.scalars(select(AuditEntry.action))).all())
        assert logins == ["", '{"second_factor":"wechat"}']
        assert "operator.bind_wechat" in actions
    finally:
        await http.close()
        await bot_runner.cleanup()
        await sim_runner.cleanup()


async def test_without_wechat_a_bound_operator_is_refused_not_let_in(console_app):
    c = await console_app()  # no outbound WeChat client in this app
    boss = await c.operator("boss")
    async with session_scope(c.services.sessions) as session:
        await accounts.change(session, c.tenant_id, boss.id, boss.version, wechat_openid="bound-openid-0001")
    resp = await c.login("boss")
    assert resp.status == 503 and "暂不可用" in await resp.text()
    assert (await c.client.get("/console/", allow_redirects=False)).status == 303
    await c.operator("other")
    c.client.session.cookie_jar.clear()
    assert (await c.login("other")).status == 303
    page = await (await c.client.get("/console/account")).text()
    bind = await c.client.post("/console/account/wechat", data={"_csrf": CSRF.search(page).group(1)})
    assert bind.status == 503 and "暂不可用" in await bind.text()
