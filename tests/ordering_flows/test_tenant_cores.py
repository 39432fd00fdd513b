"""Two tenants in one jiubot, each on its own reference core (two servers, two databases, real
HTTP, different API keys and webhook secrets): stores, catalog, orders and webhooks never cross,
and a webhook signed with one tenant's secret is refused on the other's path (issue 16, item 7).

Core B is the same seed as core A with its store 1 renamed, its owner's phone changed and every
product name prefixed "乙·", and it knows only tenant B's API key: a call of tenant B that reached
core A would be refused (401), and one of tenant A that reached core B would show B's names.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from backend_client import CoreClient, signature
from bot.app import create_app
from bot.db import session_scope
from bot.handlers import basic, notifications
from bot.handlers import ordering as ordering_handlers
from bot.miniapp.api import signer_of
from bot.miniapp.session import MpSession
from bot.ordering import binding
from bot.ordering.models import CoreEvent
from bot.ports import RecordingPushNotifier
from bot.tenancy import repository as tenancy_repo
from bot.tenancy.cores import CoreConfig
from bot.wiring.features import CORE
from tests.conftest import _pg_url
from tests.ordering_flows import conftest as flows
from tests.ordering_flows.conftest import (
    HOOK_SECRET,
    STORE,
    Bot,
    bot_settings,
    free_port,
    start_core,
)
from tests.wechat_client import WeChatPoster

KEY_B = "tenant-b-core-key-0123456789"
SECRET_B = "tenant-b-hook-secret-0123456789"
SLUG_B = "brandb"
OA_B, TOKEN_B = "wxtenantb00000001", "tokenb123"
PHONE_B = "13900000001"
OWNER_A = "o_owner_a_000000000000000001"
OWNER_B = "o_owner_b_000000000000000001"


@pytest.fixture
def core_db_b(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second seeded core database on the same backend."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "core-b.sqlite3"
        shutil.copy(request.getfixturevalue("core_seed_sqlite"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("core_seed_pg")
    name = f"jo_{flows.RUN}_b{next(flows._counter)}"
    flows._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    flows._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _sql(url: str, *statements: str) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            results = [await conn.execute(text(s)) for s in statements]
            return [r.all() if r.returns_rows else None for r in results]
    finally:
        await engine.dispose()


class TenantBot(Bot):
    """Bot as tenant B's Official Account sees it (its app, its tenant, its core and key)."""

    def __init__(self, base: Bot, tenant_id: int) -> None:
        super().__init__(base.client, base.app, base.core, base.notifier)
        self.poster = WeChatPoster(base.client, OA_B, TOKEN_B, mode="plain")
        self._tenant = tenant_id

    async def tenant_id(self) -> int:
        return self._tenant

    def core_client(self, session: aiohttp.ClientSession) -> CoreClient:
        return CoreClient(session, self.core.url, KEY_B)


@dataclass
class Pair:
    a: Bot
    b: TenantBot
    db_a: str  # each core's own database
    db_b: str


@pytest.fixture
async def two_tenants(make_settings, core_db, core_db_b, aiohttp_client):
    port = free_port()
    hooks = f"http://127.0.0.1:{port}/core/webhook"
    # core B: its own names, owner phone, key and secret; orders move on by themselves (webhooks)
    await _sql(
        core_db_b,
        f"UPDATE core_stores SET name = '乙牌一号店', owner_phone = '{PHONE_B}' WHERE id = {STORE['id']}",
        "UPDATE core_products SET name = '乙·' || name",
    )
    core_a = await start_core(core_db, webhook_url=f"{hooks}/default", tick=0.1, time_scale=86_400)
    core_b = await start_core(
        core_db_b,
        webhook_url=f"{hooks}/{SLUG_B}",
        api_key=KEY_B,
        webhook_secret=SECRET_B,
        tick=0.1,
        time_scale=86_400,
    )
    notifier = RecordingPushNotifier()
    settings = bot_settings(make_settings, core_a.url, tenant_slug="default")
    app = create_app(
        settings,
        notifier=notifier,
        routers=[notifications.router, ordering_handlers.router, basic.router],
        features=[CORE],
        background=False,
    )
    client = await aiohttp_client(app, server_kwargs={"port": port})
    a = Bot(client, app, core_a, notifier)
    async with session_scope(a.services.sessions) as session:
        tenant_b = await tenancy_repo.get_or_create_tenant(session, SLUG_B, "乙品牌")
        await tenancy_repo.upsert_app(session, tenant_b.id, OA_B, kind="oa", token=TOKEN_B, mode="plain")
        tenant_b_id = tenant_b.id
    await a.services.registry.reload()
    b = TenantBot(a, tenant_b_id)
    # before its own core is set, tenant B is served by the process-wide core (core A)
    assert await a.services.cores.client(tenant_b_id) is a.services.core
    async with session_scope(a.services.sessions) as session:
        await tenancy_repo.set_core(session, tenant_b_id, CoreConfig(core_b.url, KEY_B, SECRET_B))
    a.services.cores.invalidate(tenant_b_id)  # what the TTL does for other processes
    b.core = core_b
    yield Pair(a, b, core_db, core_db_b)
    for core in (core_a, core_b):
        await core.runner.cleanup()


async def _bind(bot: Bot, openid: str, phone: str) -> str | None:
    async with session_scope(bot.services.sessions) as session:
        token = await binding.create_token(
            session,
            await bot.tenant_id(),
            binding.OWNER_TOKEN,
            STORE["id"],
            created_by="test",
            ttl_seconds=600,
        )
    await bot.event(openid, "subscribe", f"qrscene_bind:{token}")
    late = bot.late(openid)
    assert late and "验证码已发送" in late[-1], late
    return await bot.say(openid, await bot.sms_code(phone))


async def _order(bot: Bot, openid: str) -> tuple[str, str]:
    choices = await bot.say(openid, "茅台 2箱 普五3件")
    assert "有好几款" in choices, choices
    quote = await bot.say(openid, "1")
    assert "回复「确认」下单" in quote, quote
    placed = await bot.say(openid, "确认")
    assert "下单成功" in placed, placed
    return choices, quote


async def test_two_tenants_stores_catalog_orders_and_webhooks_never_cross(two_tenants):
    pair = two_tenants
    a, b = pair.a, pair.b
    before_a, before_b = len(await a.core_orders()), len(await b.core_orders())
    # stores: each owner binds to its own core's store 1 (its name, the code to its phone)
    assert "乙牌一号店" not in (await _bind(a, OWNER_A, STORE["phone"]) or "")
    assert "乙牌一号店" in (await _bind(b, OWNER_B, PHONE_B) or "")
    # catalog and orders: B's names come from core B only, each order lands in its own core
    choices_a, quote_a = await _order(a, OWNER_A)
    choices_b, quote_b = await _order(b, OWNER_B)
    assert "乙·" not in choices_a + quote_a and "乙·" in choices_b and "乙·" in quote_b
    assert len(await a.core_orders()) == before_a + 1
    assert len(await b.core_orders()) == before_b + 1
    # webhooks: each core delivers its own events to its tenant's path, signed with its secret
    tenant_a, tenant_b = await a.tenant_id(), await b.tenant_id()
    member_a, member_b = await a.member_id(OWNER_A), await a.member_id(OWNER_B)
    for _ in range(200):
        sent_a, sent_b = await _core_events(pair.db_a), await _core_events(pair.db_b)
        got_a, got_b = await _received(a, tenant_a), await _received(a, tenant_b)
        told = {m for m, _e in _pushed(a)}
        if sent_a and sent_b and got_a >= sent_a and got_b >= sent_b and told >= {member_a, member_b}:
            break
        await asyncio.sleep(0.1)
    assert got_a >= sent_a and got_b >= sent_b  # every event of each core arrived ...
    sent_a, sent_b = await _core_events(pair.db_a), await _core_events(pair.db_b)
    assert got_a <= sent_a and got_b <= sent_b  # ... under its own tenant, none of the other core's
    assert sent_a and sent_b and not sent_a & sent_b
    pushed = _pushed(a)
    assert {e for m, e in pushed if m == member_a} <= sent_a
    assert {e for m, e in pushed if m == member_b} <= sent_b
    assert {m for m, _e in pushed} >= {member_a, member_b}


def _pushed(bot: Bot) -> set[tuple[int, str]]:
    """(member id, core event id) of every order-status push recorded."""
    return {
        (recipient.member_id, key.split(":")[1])
        for recipient, _purpose, key, _values in bot.notifier.notified
        if key.startswith("core-event:")
    }


async def _core_events(core_db: str) -> set[str]:
    """The order events a core recorded for delivery (read from that core's own database)."""
    rows = (
        await _sql(core_db, "SELECT event_id FROM core_webhook_events WHERE type = 'order.status_changed'")
    )[0]
    return {row[0] for row in rows}


async def _received(bot: Bot, tenant_id: int) -> set[str]:
    async with session_scope(bot.services.sessions) as session:
        rows = await session.execute(
            select(CoreEvent.event_id).where(CoreEvent.tenant_id == tenant_id, CoreEvent.state == "done")
        )
        return {r[0] for r in rows}


def _signed(event_id: str, secret: str) -> tuple[bytes, dict[str, str]]:
    data = {
        "order_id": 1,
        "number": "JB-X",
        "store_id": STORE["id"],
        "status": "shipped",
        "previous_status": "allocated",
        "at": "2026-12-06T08:00:00+00:00",
        "location": "上海分拨中心",
        "carrier": "顺丰速运",
        "waybill": "SF1234567890",
        "eta": None,
    }
    body = orjson.dumps(
        {"id": event_id, "type": "order.status_changed", "created_at": data["at"], "data": data}
    )
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Core-Event-Id": event_id,
        "X-Core-Event-Type": "order.status_changed",
        "X-Core-Timestamp": str(ts),
        "X-Core-Signature": signature(secret, ts, body),
    }
    return body, headers


async def _mp(bot: Bot, tenant_id: int, openid: str, path: str) -> dict:
    member_id = await bot.member_id(openid)
    token = signer_of(bot.services).issue(MpSession(member_id, tenant_id, "wxmp", f"mp-{openid}")).token
    resp = await bot.client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_the_mini_program_shows_each_tenant_its_own_core_catalog_and_orders(two_tenants):
    a, b = two_tenants.a, two_tenants.b
    await _bind(a, OWNER_A, STORE["phone"])
    await _bind(b, OWNER_B, PHONE_B)
    await _order(b, OWNER_B)  # one more order in core B than in core A
    tenant_a, tenant_b = await a.tenant_id(), await b.tenant_id()
    names_a = [i["name"] for i in (await _mp(a, tenant_a, OWNER_A, "/mp/api/catalog?limit=50"))["items"]]
    names_b = [i["name"] for i in (await _mp(a, tenant_b, OWNER_B, "/mp/api/catalog?limit=50"))["items"]]
    assert names_a and names_b and all(n.startswith("乙·") for n in names_b)
    assert not any(n.startswith("乙·") for n in names_a)
    orders_a = [o["id"] for o in (await _mp(a, tenant_a, OWNER_A, "/mp/api/orders"))["items"]]
    orders_b = [o["id"] for o in (await _mp(a, tenant_b, OWNER_B, "/mp/api/orders"))["items"]]
    assert orders_a == [o.id for o in await a.core_orders()][:10]
    assert orders_b == [o.id for o in await b.core_orders()][:10] and orders_b != orders_a


async def test_a_webhook_signed_with_the_other_tenants_secret_is_refused_and_changes_nothing(two_tenants):
    a, b = two_tenants.a, two_tenants.b
    ready = await (await a.client.get("/readyz")).json()  # each own core's circuit, by tenant
    assert (
        ready["details"]["core"]["circuit"]
        == ready["details"]["core"]["tenants"][SLUG_B]["circuit"]
        == "closed"
    )
    await _bind(b, OWNER_B, PHONE_B)
    pushes = len(a.notifier.notified)
    # A's secret on B's path, B's secret on A's path, and the legacy path with B's secret
    for path, secret in (
        (f"/core/webhook/{SLUG_B}", HOOK_SECRET),
        ("/core/webhook/default", SECRET_B),
        ("/core/webhook", SECRET_B),
    ):
        body, headers = _signed("evt_cross_1", secret)
        resp = await a.client.post(path, data=body, headers=headers)
        assert resp.status == 401, (path, await resp.text())
        assert (await resp.json())["error"] == "bad_signature"
    # a tenant header is not read at all: the path decides, and the signature must match it
    body, headers = _signed("evt_cross_2", HOOK_SECRET)
    resp = await a.client.post(
        f"/core/webhook/{SLUG_B}", data=body, headers=headers | {"X-Tenant": "default"}
    )
    assert resp.status == 401
    async with session_scope(a.services.sessions) as session:
        ids = {r[0] for r in await session.execute(select(CoreEvent.event_id))}
    assert not ids & {"evt_cross_1", "evt_cross_2"}
    assert len(a.notifier.notified) == pushes
    # the same event, signed with B's own secret on B's path, is taken (and only for B)
    body, headers = _signed("evt_cross_1", SECRET_B)
    resp = await a.client.post(f"/core/webhook/{SLUG_B}", data=body, headers=headers)
    assert resp.status == 200, await resp.text()
    assert await _received(a, await b.tenant_id()) >= {"evt_cross_1"}
    assert "evt_cross_1" not in await _received(a, await a.tenant_id())


async def test_a_tenant_on_the_default_core_cannot_be_addressed_with_the_default_secret(two_tenants):
    a = two_tenants.a
    async with session_scope(a.services.sessions) as session:
        await tenancy_repo.get_or_create_tenant(session, "brandc", "丙品牌")
    body, headers = _signed("evt_c_1", HOOK_SECRET)
    for path in ("/core/webhook/brandc", "/core/webhook/nosuch"):
        resp = await a.client.post(path, data=body, headers=headers)
        assert resp.status == 404 and (await resp.json())["error"] == "unknown_tenant"
    async with session_scope(a.services.sessions) as session:
        assert (
            await session.execute(select(CoreEvent).where(CoreEvent.event_id == "evt_c_1"))
        ).first() is None
