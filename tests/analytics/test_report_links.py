"""The pushed report link is the recipient's own: opened in WeChat it signs him in silently
(snsapi_base through the simulator, no password) and shows his region's report; forwarded, it
shows nothing to whoever opens it; tampered, expired, revoked, re-pointed at another report or
kept after the recipient left his region, it is refused with a Chinese page (4xx)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from bot import keys
from bot.analytics import links, sources
from bot.analytics.jobs import weekly
from bot.analytics.models import WeeklyReport
from bot.app import create_app
from bot.db import session_scope
from bot.membership.models import Member, MemberIdentity
from bot.ports import RecordingPushNotifier
from bot.wiring.features import ANALYTICS, MEMBERSHIP
from bot.wiring.runtime import text_environment
from tests.analytics.conftest import Stack
from tests.analytics.test_report import END, _seed
from tests.conftest import OA_APPID
from tests.web.member_app import CODE_KEY, WECHAT_UA
from wechat_sim.app import create_sim_app
from wechat_sim.config import SimConfig
from wechat_sim.keys import SIM_STATE
from wechat_sim.model import App

OA_SECRET = "oa-secret-for-sim"
UA = {"User-Agent": WECHAT_UA}
MONDAY = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


@dataclass
class Linked:
    stack: Stack
    sim: TestServer
    manager: int
    manager_person: str
    stranger_person: str
    link: str  # the manager's pushed link, as a local path with its query

    @property
    def client(self):  # type: ignore[no-untyped-def]
        return self.stack.client

    async def sign_in(self, path: str, person: str) -> aiohttp.ClientResponse:
        """Open ``path`` in WeChat as ``person``: the silent OAuth round and back to ``path``."""
        self.client.session.cookie_jar.clear()
        first = await self.client.get(path, headers=UA, allow_redirects=False)
        assert first.status == 302, first.status
        authorize = first.headers["Location"]
        assert "scope=snsapi_base" in authorize
        async with aiohttp.ClientSession() as browser:
            resp = await browser.get(authorize.split("#")[0] + f"&sim_person={person}", allow_redirects=False)
            back = urlsplit(resp.headers["Location"])
        landed = await self.client.get(f"{back.path}?{back.query}", headers=UA, allow_redirects=False)
        assert landed.status == 302 and landed.headers["Location"] == path
        return await self.client.get(path, headers=UA)


@pytest.fixture
async def linked(aiohttp_client, make_settings, monkeypatch) -> Linked:
    sim = TestServer(
        create_sim_app(SimConfig(apps=[App(OA_APPID, OA_SECRET, name="黔酒服务号", group="brand")]))
    )
    await sim.start_server()
    sim_url = str(sim.make_url("")).rstrip("/")
    monkeypatch.setenv("JIUBOT_CODE_KEY", CODE_KEY)
    monkeypatch.setenv("JIUBOT_OAUTH_AUTHORIZE_URL", f"{sim_url}/connect/oauth2/authorize")
    settings = make_settings(wechat_api_base=sim_url, oa_secret=OA_SECRET)
    app = create_app(settings, features=[MEMBERSHIP, ANALYTICS], background=False)
    client = await aiohttp_client(app)
    services = app[keys.SERVICES]
    tenant = next(a.tenant_id for a in services.registry.all() if a.appid == OA_APPID)
    stack = Stack(client, services, tenant)
    await _seed(stack)
    state = sim.app[SIM_STATE]
    manager_person, stranger_person = state.add_person("东区经理"), state.add_person("路人")
    async with session_scope(services.sessions) as session:
        manager = Member(tenant_id=tenant, role="operator", region_code="EAST")
        session.add(manager)
        await session.flush()
        session.add(
            MemberIdentity(
                tenant_id=tenant,
                member_id=manager.id,
                appid=OA_APPID,
                openid=state.openid(manager_person.id, OA_APPID),
                following=True,
            )
        )
        manager_id = manager.id
    runtime = services.analytics
    await sources.emit_new(services.sessions, runtime.stream, now=END)
    await stack.drain()
    notifier = RecordingPushNotifier()
    await weekly(
        services.sessions, runtime, notifier, text_environment(), base_url="https://j.example", now=MONDAY
    )
    (text,) = [p["text"] for r, _, _, p in notifier.notified if r.member_id == manager_id]
    assert "仅限本人在微信中打开，14天内有效" in text
    link = text.split('href="https://j.example')[1].split('"')[0]
    yield Linked(stack, sim, manager_id, manager_person.id, stranger_person.id, link)
    await sim.close()


async def test_the_manager_opens_his_link_in_wechat_without_a_password(linked):
    page = await linked.sign_in(linked.link, linked.manager_person)
    html = await page.text()
    assert page.status == 200 and "私域运营报告" in html and "大区 EAST" in html
    assert page.headers["Cache-Control"] == "private, no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    path, query = linked.link.split("?")
    pdf = await linked.client.get(f"{path}.pdf?{query}", headers=UA)
    assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")


async def test_a_forwarded_link_shows_nothing_to_whoever_opens_it(linked):
    page = await linked.sign_in(linked.link, linked.stranger_person)
    html = await page.text()
    assert page.status == 403 and "仅限接收人本人查看" in html and "开瓶扫码" not in html
    path, query = linked.link.split("?")
    assert (await linked.client.get(f"{path}.pdf?{query}", headers=UA)).status == 403


async def test_outside_wechat_the_link_asks_for_wechat_and_shows_nothing(linked):
    linked.client.session.cookie_jar.clear()
    page = await linked.client.get(linked.link, headers={"User-Agent": "Mozilla/5.0 Chrome/120"})
    html = await page.text()
    assert page.status == 403 and "请在微信中打开" in html and "开瓶扫码" not in html


async def test_tampered_links_are_refused(linked):
    path, query = linked.link.split("?g=")
    member, expires, mac = query.split(".")
    stranger_member = linked.manager + 1000
    for grant in (
        f"{member}.{int(expires) + 86400 * 365}.{mac}",  # a later expiry
        f"{stranger_member}.{expires}.{mac}",  # someone else's member id
        f"{member}.{expires}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}",
    ):
        resp = await linked.client.get(f"{path}?g={grant}", headers=UA, allow_redirects=False)
        assert resp.status == 403 and "链接无效" in await resp.text(), grant
    for grant in ("", "abc", f"{member}.{expires}"):
        resp = await linked.client.get(f"{path}?g={grant}", headers=UA, allow_redirects=False)
        assert resp.status == 403 and "不完整" in await resp.text(), grant
    # the manager's grant on another region's report (the WEST token)
    async with session_scope(linked.stack.services.sessions) as session:
        west = await session.scalar(select(WeeklyReport.token).where(WeeklyReport.scope_code == "WEST"))
    resp = await linked.client.get(f"/r/report/{west}?g={query}", headers=UA, allow_redirects=False)
    assert resp.status == 403 and "开瓶扫码" not in await resp.text()


async def test_an_expired_link_is_gone(linked):
    path = linked.link.split("?")[0]
    services = linked.stack.services
    async with session_scope(services.sessions) as session:
        row = (
            await session.execute(select(WeeklyReport).where(WeeklyReport.scope_code == "EAST"))
        ).scalar_one()
    old = links.issue(
        services.analytics.link_secret,
        report_id=row.id,
        tenant_id=row.tenant_id,
        scope=row.scope,
        code=row.scope_code,
        member_id=linked.manager,
        now=time.time() - (links.LINK_DAYS * 86400 + 60),
    )
    resp = await linked.client.get(f"{path}?g={old}", headers=UA, allow_redirects=False)
    assert resp.status == 410 and "已过期" in await resp.text()


async def test_a_revoked_link_and_a_manager_who_left_the_region_are_refused(linked, monkeypatch, capsys):
    page = await linked.sign_in(linked.link, linked.manager_person)
    assert page.status == 200
    services = linked.stack.services
    async with session_scope(services.sessions) as session:
        member = await session.get(Member, linked.manager)
        member.region_code = "WEST"  # moved to another region
    moved = await linked.client.get(linked.link, headers=UA)
    assert moved.status == 403 and "不再负责" in await moved.text()
    async with session_scope(services.sessions) as session:
        await session.execute(update(Member).where(Member.id == linked.manager).values(region_code="EAST"))
        report_id = await session.scalar(select(WeeklyReport.id).where(WeeklyReport.scope_code == "EAST"))
    assert (await linked.client.get(linked.link, headers=UA)).status == 200  # back in his region
    settings = services.settings
    for name, value in {
        "JIUBOT_DATABASE_URL": settings.database_url,
        "JIUBOT_REDIS_URL": settings.redis_url,
        "JIUBOT_SECRET_KEY": settings.secret_key,
    }.items():
        monkeypatch.setenv(name, value)
    from bot.cli import main

    args = ["report", "revoke", "--report", str(report_id), "--member", str(linked.manager)]
    assert await asyncio.to_thread(main, args) == 0
    assert "revoked 1 link" in capsys.readouterr().out
    revoked = await linked.client.get(linked.link, headers=UA)
    assert revoked.status == 410 and "已被撤回" in await revoked.text()
