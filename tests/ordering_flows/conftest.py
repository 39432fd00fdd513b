"""Chat ordering against a real reference core: the core's demo tenant is seeded once per run
(SQLite file / PostgreSQL template) and cloned per test on the same backend as jiubot's own
database (``db_url``: every test runs on SQLite and on PostgreSQL).

``bot_factory`` starts the core on a real port and jiubot in-process (``aiohttp_client``) with
the ordering router and the core extension; ``Bot`` plays WeChat (plain mode) towards it and
reads the SMS outbox, the cart and the core.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from backend_client import CoreClient
from bot import keys
from bot.app import create_app
from bot.db import session_scope
from bot.handlers import basic, notifications
from bot.handlers import ordering as ordering_handlers
from bot.ordering import binding
from bot.ordering.runtime import OrderingRuntime
from bot.ports import RecordingPushNotifier
from bot.tenancy import repository as tenancy_repo
from bot.wiring.features import CORE
from reference_core.app import create_core_app
from reference_core.config import CoreConfig, LogisticsConfig, TenantConfig, WebhookConfig
from tests.conftest import OA_APPID, OA_TOKEN, PG_DSN, _pg_url
from tests.wechat_client import WeChatPoster, event_xml, text_xml

CORE_KEY = "flows-core-key-0123456789"
HOOK_SECRET = "flows-hook-secret-0123456789"
RUN = uuid.uuid4().hex[:8]
# the seeded stores with known owner phones (reference_core/seed_data.py KNOWN_PHONES)
STORE = {"id": 1, "code": "S0001", "phone": "13800000001"}
STORE2 = {"id": 2, "code": "S0002", "phone": "13800000002"}
_counter = iter(range(1, 10**9))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _seed(url: str) -> None:
    from reference_core.seed import seed_core

    await seed_core(url, tenant="demo", api_key=CORE_KEY, stores=8, orders_per_store=1, random_seed=7)


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def core_seed_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("core-seed") / "core.sqlite3"
    asyncio.run(_seed(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def core_seed_pg() -> Iterator[str]:
    name = f"jo_{RUN}_tpl"
    _admin(f'DROP DATABASE IF EXISTS "{name}"')
    _admin(f'CREATE DATABASE "{name}"')
    asyncio.run(_seed(_pg_url(name)))
    yield name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def core_db(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A seeded core database on the same backend as jiubot's."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "core.sqlite3"
        shutil.copy(request.getfixturevalue("core_seed_sqlite"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("core_seed_pg")
    name = f"jo_{RUN}_{next(_counter)}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class CoreServer:
    def __init__(self, runner: web.AppRunner, url: str, app: web.Application) -> None:
        self.runner = runner
        self.url = url
        self.app = app


async def start_core(
    db: str,
    *,
    port: int | None = None,
    webhook_url: str = "",
    api_key: str = CORE_KEY,
    webhook_secret: str = HOOK_SECRET,
    **logistics: float,
) -> CoreServer:
    tenant = TenantConfig(
        slug="demo", api_keys=(api_key,), webhook_url=webhook_url, webhook_secret=webhook_secret
    )
    config = CoreConfig(
        database_url=db,
        tenants=(tenant,),
        logistics=LogisticsConfig(
            time_scale=logistics.get("time_scale", 1.0), tick_seconds=logistics.get("tick", 0)
        ),
        webhooks=WebhookConfig(enabled=bool(webhook_url), poll_seconds=0.2, backoff_base_seconds=0.2),
        create_tables=False,
    )
    app = create_core_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port or 0)
    await site.start()
    host, bound = runner.addresses[0][:2]
    return CoreServer(runner, f"http://{host}:{bound}", app)


class Bot:
    """jiubot as WeChat and the operator see it."""

    def __init__(
        self, client, app: web.Application, core: CoreServer, notifier: RecordingPushNotifier
    ) -> None:
        self.client = client
        self.app = app
        self.core = core
        self.notifier = notifier
        self.services = app[keys.SERVICES]
        self.poster = WeChatPoster(client, OA_APPID, OA_TOKEN, mode="plain")

    @property
    def runtime(self) -> OrderingRuntime:
        return self.services.ordering

    async def say(self, openid: str, text: str, *, msg_id: str | None = None, **fields: str) -> str | None:
        xml = text_xml(openid, text, msg_id=msg_id)
        for name, value in fields.items():
            xml = xml.replace("</xml>", f"<{name}><![CDATA[{value}]]></{name}></xml>")
        reply = await self.poster.post(xml)
        assert reply.status == 200, reply.body
        return reply.text

    async def event(self, openid: str, event: str, key: str | None = None) -> str | None:
        # WeChat keys events on (sender, CreateTime, event, key): distinct events, distinct seconds
        self._clock = max(getattr(self, "_clock", 0) + 1, int(time.time()))
        reply = await self.poster.post(event_xml(openid, event, key=key, create_time=self._clock))
        assert reply.status == 200, reply.body
        return reply.text

    async def tenant_id(self) -> int:
        async with session_scope(self.services.sessions) as session:
            return (await tenancy_repo.list_apps(session))[0].tenant_id

    async def member_id(self, openid: str) -> int:
        from sqlalchemy import select

        from bot.membership.models import MemberIdentity

        async with session_scope(self.services.sessions) as session:
            return (
                await session.execute(select(MemberIdentity.member_id).where(MemberIdentity.openid == openid))
            ).scalar_one()

    async def owner_token(self, core_store_id: int = STORE["id"], **kw) -> str:
        async with session_scope(self.services.sessions) as session:
            return await binding.create_token(
                session,
                await self.tenant_id(),
                binding.OWNER_TOKEN,
                core_store_id,
                created_by="test",
                ttl_seconds=kw.get("ttl", 3600),
            )

    async def sms_code(self, phone: str) -> str:
        text = await self.runtime.sms.last_text(phone)  # type: ignore[attr-defined]
        assert text, f"no SMS to {phone}"
        digits = "".join(ch for ch in text.split("，")[0] if ch.isdigit())
        assert len(digits) == 6, text
        return digits

    async def bind(self, openid: str, store: dict = STORE) -> str | None:
        token = await self.owner_token(store["id"])
        first = await self.event(openid, "subscribe", f"qrscene_bind:{token}")
        late = self.late(openid)
        assert late and "验证码已发送" in late[-1], (first, late)
        return await self.say(openid, await self.sms_code(store["phone"]))

    def late(self, openid: str) -> list[str]:
        """Replies that went through the notifier (not passive), as text."""
        out = []
        for recipient, reply, _key in self.notifier.sent:
            if recipient.openid == openid:
                out.append(
                    getattr(reply, "content", None) or getattr(reply, "fallback_text", "") or str(reply)
                )
        return out

    def core_client(self, session: aiohttp.ClientSession) -> CoreClient:
        return CoreClient(session, self.core.url, CORE_KEY)

    async def core_orders(self, core_store_id: int = STORE["id"]) -> list:
        async with aiohttp.ClientSession() as session:
            return list(
                (await self.core_client(session).orders.list_for_store(core_store_id, limit=50)).items
            )


def bot_settings(make_settings, core_url: str, **overrides):
    values = {
        "oa_mode": "plain",
        "oa_aes_key": "",
        "core_url": core_url,
        "core_api_key": CORE_KEY,
        "core_webhook_secret": HOOK_SECRET,
        "order_retry_base_seconds": 0.3,
    }
    values.update(overrides)
    return make_settings(**values)


@pytest.fixture
async def bot_factory(make_settings, core_db, aiohttp_client):
    # aiohttp_client last: its apps are closed before the databases are dropped
    cores: list[CoreServer] = []

    async def make(*, core_url: str | None = None, **overrides) -> Bot:
        core = await start_core(core_db)
        cores.append(core)
        notifier = RecordingPushNotifier()
        settings = bot_settings(make_settings, core_url or core.url, **overrides)
        app = create_app(
            settings,
            notifier=notifier,
            routers=[notifications.router, ordering_handlers.router, basic.router],
            features=[CORE],
            background=False,
        )
        client = await aiohttp_client(app)
        return Bot(client, app, core, notifier)

    yield make
    for core in cores:
        await core.runner.cleanup()
