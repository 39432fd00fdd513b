"""A campaign to 10,000 store owners through the real CLI (`jiubot campaigns send`) against the
WeChat simulator on PostgreSQL: the first worker process is killed (SIGKILL) mid-campaign, two
new ones finish it together. The simulator counts: nobody gets the message twice; every
recipient ends sent or "unknown" (a request in flight when the worker died: WeChat may have
delivered it, so it is never sent again; at most one per lane of the dead worker, i.e.
``--concurrency``); none is left pending. bench/campaign.py --crash runs the same at 100,000."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.automation import campaigns
from bot.automation.models import Campaign
from bot.config import load_settings
from bot.db import insert_ignore_statement, session_scope
from bot.membership.models import Member, MemberIdentity
from bot.messages import Inbound
from bot.tenancy import repository as tenancy_repo
from bot.wiring.features import WECHAT
from bot.wiring.runtime import open_runtime
from tests.conftest import REDIS_URL
from tests.wechat.test_outbound_sim import OA, OA_SECRET
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import Limits, SimConfig
from wechat_sim.model import App

pytestmark = [pytest.mark.pg_only, pytest.mark.slow]

N = 10_000
LANES = 10
JIUBOT = str(Path(sys.executable).with_name("jiubot"))


async def _run(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        JIUBOT, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def test_a_killed_worker_is_resumed_without_duplicates_or_skips(aiohttp_server, pg_url, redis_prefix):
    limits = Limits()
    limits.kf_rules = {t: (10**6, 48 * 3600.0) for t in limits.kf_rules}
    server = await aiohttp_server(create_sim_app(SimConfig(apps=[App(OA, OA_SECRET)], limits=limits)))
    sim = server.app[SIM_STATE]
    base = str(server.make_url("")).rstrip("/")
    openids = []
    for i in range(N):  # followers who wrote to the account (no callback: the simulator's state only)
        person = sim.add_person(f"老板{i}", "store_owner")
        await sim.follow(person.id, OA)
        await sim.send_text(person.id, OA, "在吗")
        openids.append(sim.openid(person.id, OA))
    env = {
        **os.environ,
        "JIUBOT_DATABASE_URL": pg_url,
        "JIUBOT_REDIS_URL": REDIS_URL,
        "JIUBOT_REDIS_PREFIX": redis_prefix,
        "JIUBOT_OA_APPID": OA,
        "JIUBOT_OA_SECRET": OA_SECRET,
        "JIUBOT_OA_TOKEN": "simToken12345",
        "JIUBOT_OA_MODE": "plain",
        "JIUBOT_OA_AES_KEY": "",
        "JIUBOT_WECHAT_API_BASE": base,
        "JIUBOT_SECRET_KEY": "test-secret-key-0123456789",
        "JIUBOT_LOG_LEVEL": "WARNING",
        "JIUBOT_AUTOMATION_HOLDOUT": "0",
        "JIUBOT_AUTOMATION_QUIET_HOURS": "",  # the test may run at any hour
        "JIUBOT_AUTOMATION_CAP": "5",
    }
    settings = load_settings(
        database_url=pg_url,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        oa_appid=OA,
        oa_secret=OA_SECRET,
        oa_token="simToken12345",
        oa_mode="plain",
        oa_aes_key="",
        wechat_api_base=base,
        secret_key="test-secret-key-0123456789",
        _env_file=None,
    )
    async with open_runtime(settings, [WECHAT]) as runtime:
        services = runtime.services
        async with session_scope(services.sessions) as session:
            tenant = (await tenancy_repo.list_apps(session))[0].tenant_id
            session.add_all([Member(tenant_id=tenant, role="store_owner") for _ in range(N)])
            await session.flush()
            ids = list((await session.execute(select(Member.id).order_by(Member.id))).scalars())
            rows = [
                {"tenant_id": tenant, "member_id": mid, "appid": OA, "openid": oid, "following": True}
                for mid, oid in zip(ids, openids, strict=True)
            ]
            await session.execute(
                insert_ignore_statement(
                    session, MemberIdentity.__table__, index_elements=["appid", "openid"]
                ),
                rows,
            )
        async with session_scope(services.sessions) as session:  # as autovacuum would, after a bulk load
            for table in ("members", "member_identities"):
                await session.execute(text(f"ANALYZE {table}"))
        now = int(time.time())
        for i, oid in enumerate(openids):  # jiubot saw each one's message: its window is open
            await services.reach.note(
                Inbound(OA, "gh_sim", oid, now, "text", msg_id=str(10**9 + i), content="在吗")
            )

        create = await _run(
            env,
            "campaigns",
            "create",
            "--name",
            "双旦",
            "--text",
            "双旦订货会：满10箱送2瓶，回复退订不再接收",
        )
        out, err = await create.communicate()
        assert create.returncode == 0, err.decode()
        assert f"{N} recipients" in out.decode()

        def received() -> Counter[str]:
            return Counter(sim.received_counts(OA, "kf"))

        send = ["campaigns", "send", "--name", "双旦", "--batch", "100", "--concurrency", str(LANES)]
        send += ["--lease", "3", "--quiet"]
        first = await _run(env, *send)
        deadline = time.monotonic() + 300
        while len(sim.store.outbound) < N // 4:
            assert time.monotonic() < deadline and first.returncode is None, (
                "the first worker made no progress"
            )
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        at_kill = sum(received().values())
        assert at_kill < N  # killed mid-campaign
        resumed = [await _run(env, *send) for _ in range(2)]
        results = await asyncio.gather(*(p.communicate() for p in resumed))
        assert [p.returncode for p in resumed] == [0, 0], [e.decode()[-2000:] for _, e in results]

        async with session_scope(services.sessions) as session:
            cid = (await session.execute(select(Campaign.id))).scalar_one()
            progress = await campaigns.progress(session, cid)
        got = received()
        assert max(got.values()) == 1  # 0 duplicates
        assert progress.pending == progress.claimed == 0
        # "unknown": the killed worker's rows whose message the outbound log had claimed but not
        # closed; WeChat may or may not have received them, so they are never sent again. They
        # can only come from the killed worker's last batch.
        assert progress.sent + progress.unknown == N and progress.unknown <= LANES
        assert progress.sent <= sum(got.values()) <= progress.sent + progress.unknown
        assert progress.unreachable == progress.suppressed == 0
        print(
            f"\ncrash: killed after {at_kill} sends; sent {progress.sent}, unknown {progress.unknown}, "
            f"received {sum(got.values())} of {N}"
        )
