"""One production-shaped stack per module: a fresh PostgreSQL database migrated with
``jiubot db upgrade``, its own Redis prefix, the WeChat simulator (in this process, safe mode,
its callback URL on nginx) and the README's recipe (tests/production/stack.py).

Seeded for the scan load: a loyalty config whose caps and velocity windows do not refuse it, an
activated batch of bottle codes, and members with mini-program sessions.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio
import redis as sync_redis
from aiohttp import web

from tests.conftest import OA_AES_KEY, OA_TOKEN, REDIS_URL, _admin, _pg_url
from tests.production.stack import ROOT, Recipe
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import Limits, SimConfig
from wechat_sim.model import App
from wechat_sim.simulator import Simulator

OA_APPID = "wxprodtest000001"
OA_SECRET = "prod-oa-secret-0123456789"
MP_APPID = "wxprodtestmp0001"
SECRET_KEY = "prod-secret-key-0123456789abcdef"
CODE_KEY = "prod-bottle-code-master-key-0123456789"
CODE_HOST = "https://jb.example.cn"
HEARTBEAT_SECONDS = 2
SCAN_MEMBERS = 20
CODES = 400


@dataclass
class Prod:
    recipe: Recipe
    sim: Simulator
    db_url: str
    redis_prefix: str
    tenant_id: int
    batch_id: int
    tokens: list[str]  # mini-program session tokens of the scanning members

    @property
    def url(self) -> str:
        return self.recipe.url


async def _seed(db_url: str) -> tuple[int, int, list[str]]:
    from bot.db import create_engine, session_factory, session_scope
    from bot.membership import actions, batches, loyalty_config
    from bot.miniapp.session import MpSession, SessionSigner
    from bot.tenancy.repository import get_or_create_tenant

    engine = create_engine(db_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            tenant = (await get_or_create_tenant(session, "default", "默认品牌")).id
            await loyalty_config.update(
                session,
                tenant,
                daily_scan_cap=10**6,
                monthly_scan_cap=10**6,
                member_velocity=[[60, 10**6]],
                source_velocity=[[60, 10**7]],
            )
            batch = await batches.create_batch(
                session, tenant, brand="黔酒", sku="QJ-53-500", product_name="黔酒·酱香典藏", size=CODES
            )
            await batches.mark_range(session, tenant, batch.id, 1, CODES, "activate")
            members = []
            for i in range(SCAN_MEMBERS):
                member = await actions.ensure_member(session, tenant, MP_APPID, f"prod-scan-{i}")
                await actions.confirm_age(session, member)
                members.append(member)
    finally:
        await engine.dispose()
    signer = SessionSigner(SECRET_KEY, 86400)
    tokens = [
        signer.issue(MpSession(m, tenant, MP_APPID, f"prod-scan-{i}", None)).token
        for i, m in enumerate(members)
    ]
    return tenant, batch.id, tokens


def _run(cmd: list[str], env: dict[str, str]) -> None:
    import subprocess

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    if done.returncode:
        raise RuntimeError(f"{cmd[1:]} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def prod() -> AsyncIterator[Prod]:
    from tests.production.stack import BIN, free_port

    run = uuid.uuid4().hex[:8]
    dbname, prefix = f"jprod_{run}", f"jprod:{run}:"
    db_url = _pg_url(dbname)
    folder = Path(tempfile.mkdtemp(prefix="jiubot-prod-"))
    os.chmod(folder, 0o755)
    sim_port = free_port()
    limits = Limits()
    limits.daily_quotas = {api: 10**9 for api in limits.daily_quotas}
    # the callback URL (on nginx) is set once nginx listens
    oa = App(OA_APPID, OA_SECRET, token=OA_TOKEN, aes_key=OA_AES_KEY, mode="safe", callback_url="")
    sim_app = create_sim_app(SimConfig(apps=[oa], limits=limits, callback_deadline=5.0))
    sim_runner = web.AppRunner(sim_app, access_log=None)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIUBOT_", "PROMETHEUS_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        JIUBOT_DATABASE_URL=db_url,
        JIUBOT_REDIS_URL=REDIS_URL,
        JIUBOT_REDIS_PREFIX=prefix,
        JIUBOT_SECRET_KEY=SECRET_KEY,
        JIUBOT_CODE_KEY=CODE_KEY,
        JIUBOT_CODE_BASE_URL=CODE_HOST,
        JIUBOT_TRUST_FORWARDED_FOR="true",
        JIUBOT_OA_APPID=OA_APPID,
        JIUBOT_OA_SECRET=OA_SECRET,
        JIUBOT_OA_TOKEN=OA_TOKEN,
        JIUBOT_OA_AES_KEY=OA_AES_KEY,
        JIUBOT_OA_MODE="safe",
        JIUBOT_WECHAT_API_BASE=f"http://127.0.0.1:{sim_port}",
        JIUBOT_WECHAT_RETRY_BACKOFF_SECONDS="0.05",
        JIUBOT_SCHEDULER_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
        # a killed worker's owed replies are re-run within seconds, inside the test's patience
        JIUBOT_DEFERRED_LEASE_SECONDS="6",
        JIUBOT_DEFERRED_SWEEP_SECONDS="2",
        JIUBOT_LOG_LEVEL="INFO",  # start-up (gc_heap_frozen) and token fetches are INFO
        JIUBOT_LOG_FORMAT="console",
    )
    recipe = Recipe(folder, env)
    _admin(f'CREATE DATABASE "{dbname}"')
    try:
        await sim_runner.setup()
        await web.TCPSite(sim_runner, "127.0.0.1", sim_port).start()
        _run([str(BIN / "jiubot"), "db", "upgrade"], env)
        tenant, batch, tokens = await _seed(db_url)
        await recipe.launch()
        sim = sim_app[SIM_STATE]
        sim.update_app(OA_APPID, callback_url=f"{recipe.url}/wechat/{OA_APPID}")
        yield Prod(recipe, sim, db_url, prefix, tenant, batch, tokens)
    finally:
        recipe.stop()
        await sim_runner.cleanup()
        _admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        client = sync_redis.Redis.from_url(REDIS_URL)
        stale = list(client.scan_iter(match=prefix + "*", count=1000))
        if stale:
            client.delete(*stale)
        client.close()
        if os.environ.get("JIUBOT_PROD_KEEP"):
            print(f"logs kept in {folder}")
        else:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
