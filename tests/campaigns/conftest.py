"""Campaigns over real HTTP: the reference core on a port, jiubot in-process with the CORE,
REGIONAL and ORDERING features; store members are made and bound directly in jiubot's
database (binding itself is tested in tests/ordering_flows and tests/sms)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from backend_client import CoreClient
from bot import keys
from bot.app import create_app
from bot.db import session_scope
from bot.handlers import basic, notifications
from bot.membership.actions import assign_role, ensure_member
from bot.miniapp.session import MpSession, SessionSigner
from bot.ordering import binding
from bot.ordering.binding import CoreStore
from bot.ports import RecordingPushNotifier
from bot.tenancy import repository as tenancy_repo
from bot.wiring.features import CORE, ORDERING, REGIONAL
from tests.conftest import OA_APPID, OA_TOKEN
from tests.ordering_flows.conftest import (  # noqa: F401 - fixtures
    CORE_KEY,
    RUN,
    CoreServer,
    _admin,
    _pg_url,
    bot_settings,
    core_db,
    core_seed_pg,
    core_seed_sqlite,
    start_core,
)
from tests.wechat_client import WeChatPoster, text_xml

MP_APPID = "wxminiprogram0001"


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Buyer:
    openid: str
    member_id: int
    core_store_id: int
    token: str  # a mini-program session token of the same member


class Shop:
    """jiubot + core as a test drives them."""

    def __init__(self, client, app, core: CoreServer, notifier: RecordingPushNotifier) -> None:
        self.client = client
        self.app = app
        self.core = core
        self.notifier = notifier
        self.services = app[keys.SERVICES]
        self.poster = WeChatPoster(client, OA_APPID, OA_TOKEN, mode="plain")
        self.http = aiohttp.ClientSession()
        self.api = CoreClient(self.http, core.url, CORE_KEY)

    async def close(self) -> None:
        await self.http.close()

    async def tenant_id(self) -> int:
        async with session_scope(self.services.sessions) as session:
            return (await tenancy_repo.list_apps(session))[0].tenant_id

    async def buyers(self, count: int, stores: list) -> list[Buyer]:
        """``count`` members, member i bound to ``stores[i % len(stores)]`` (owner first, staff after)."""
        tenant = await self.tenant_id()
        signer = SessionSigner(self.services.settings.secret_key, 3600)
        out = []
        async with session_scope(self.services.sessions) as session:
            for i in range(count):
                store = stores[i % len(stores)]
                openid = f"o_buyer_{i:05d}"
                member = await ensure_member(session, tenant, OA_APPID, openid)
                core_store = CoreStore(store.id, store.code, store.name, store.owner_phone)
                if i < len(stores):
                    await binding.bind_owner(session, tenant, member, core_store)
                else:
                    link = await binding.repo.link_by_core_id(session, tenant, store.id)
                    await assign_role(session, member, "store_staff", store_id=link.store_id)
                token = signer.issue(MpSession(member, tenant, MP_APPID, f"mp_{openid}")).token
                out.append(Buyer(openid, member, store.id, token))
        return out

    async def say(self, openid: str, text: str, *, msg_id: str) -> str | None:
        reply = await self.poster.post(text_xml(openid, text, msg_id=msg_id))
        assert reply.status == 200, reply.body
        return reply.text

    async def mp(self, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.client.request(method, path, json=body, headers=headers) as resp:
            return resp.status, await resp.json()

    async def promotion(self, kind: str, rules: dict, *, minutes: float = 60, **extra) -> int:
        now = datetime.now(UTC)
        body = {
            "kind": kind,
            "name": extra.pop("name", f"测试{kind}"),
            "starts_at": iso(extra.pop("starts_at", now - timedelta(minutes=1))),
            "ends_at": iso(extra.pop("ends_at", now + timedelta(minutes=minutes))),
            "rules": rules,
            **extra,
        }
        return (await self.api.promotions.create(body)).id


@pytest.fixture
async def shop_factory(make_settings, aiohttp_client):
    made: list[tuple[Shop, CoreServer]] = []

    async def make(core_database: str, **overrides) -> Shop:
        core = await start_core(core_database, tick=0.2)
        settings = bot_settings(make_settings, core.url, **overrides)
        notifier = RecordingPushNotifier()
        app = create_app(
            settings,
            notifier=notifier,
            routers=[notifications.router, basic.router],
            features=[CORE, REGIONAL, ORDERING],
            background=False,
        )
        shop = Shop(await aiohttp_client(app), app, core, notifier)
        made.append((shop, core))
        return shop

    yield make
    for shop, core in made:
        await shop.close()
        await core.runner.cleanup()


@pytest.fixture
def core_many_stores_pg() -> Iterator[str]:
    """A PostgreSQL core seeded with many stores (the rush), made per test."""
    from reference_core.seed import seed_core

    name = f"jo_rush_{datetime.now(UTC).strftime('%H%M%S%f')}"
    _admin(f'CREATE DATABASE "{name}"')
    asyncio.run(
        seed_core(_pg_url(name), tenant="demo", api_key=CORE_KEY, stores=RUSH_STORES, orders_per_store=0)
    )
    yield _pg_url(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


RUSH_STORES = 100


async def _seed_fresh(url: str) -> None:
    from reference_core.seed import seed_core

    await seed_core(url, tenant="demo", api_key=CORE_KEY, stores=8, orders_per_store=0, random_seed=7)


@pytest.fixture(scope="session")
def core_fresh_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("core-fresh") / "core.sqlite3"
    asyncio.run(_seed_fresh(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def core_fresh_pg() -> Iterator[str]:
    name = f"jo_{RUN}_fresh_tpl"
    _admin(f'DROP DATABASE IF EXISTS "{name}"')
    _admin(f'CREATE DATABASE "{name}"')
    asyncio.run(_seed_fresh(_pg_url(name)))
    yield name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_fresh = iter(range(1, 10**9))


@pytest.fixture
def core_fresh_db(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A core whose 8 stores have never ordered (new customers), on jiubot's backend."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "core-fresh.sqlite3"
        shutil.copy(request.getfixturevalue("core_fresh_sqlite"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("core_fresh_pg")
    name = f"jo_{RUN}_fresh_{next(_fresh)}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
