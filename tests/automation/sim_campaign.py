"""A campaign world against the WeChat simulator over real HTTP: followers who wrote to the
account (their customer-service window is open in the simulator and in jiubot's reach budget),
members and identities in the database, jiubot's runtime with the WeChat feature. Shared by the
campaign tests (tests/automation/test_sending.py, test_mass_send.py)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import select

from bot.automation.interface import Deps, Policy
from bot.automation.quiet import QuietHours
from bot.config import load_settings
from bot.db import insert_ignore_statement, session_scope
from bot.membership.models import Member, MemberIdentity
from bot.messages import Inbound
from bot.tenancy import repository as tenancy_repo
from bot.wiring.automation import campaign_channel
from bot.wiring.features import WECHAT
from bot.wiring.runtime import Runtime, open_runtime, text_environment
from tests.conftest import REDIS_URL
from tests.wechat.test_outbound_sim import OA, OA_SECRET
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import Limits, SimConfig
from wechat_sim.model import App
from wechat_sim.simulator import Simulator


@dataclass
class SimCampaign:
    sim: Simulator
    runtime: Runtime
    tenant_id: int
    members: list[int]
    openids: list[str]

    @property
    def channel(self):  # type: ignore[no-untyped-def]
        return campaign_channel(self.runtime.services, self.runtime.mux)

    def deps(self, cap: int = 5) -> Deps:
        return Deps(
            sessions=self.runtime.services.sessions,
            texts=text_environment(),
            notifier=self.runtime.services.notifier,
            coupons=None,
            oa_appids=lambda: [OA],
            policy=Policy(holdout=0, quiet=QuietHours.parse(""), cap=cap, cap_days=7),
        )

    def received(self, kind: str = "kf") -> Counter[str]:
        return Counter(o.openid for o in self.sim.outbound(OA, None, kind) if o.errcode == 0)


@asynccontextmanager
async def sim_campaign(
    aiohttp_server, db_url: str, redis_prefix: str, n: int, *, wrote: int | None = None
) -> AsyncIterator[SimCampaign]:
    """``n`` followers; the first ``wrote`` (default all) wrote to the account."""
    limits = Limits()
    limits.kf_rules = {t: (10**6, 48 * 3600.0) for t in limits.kf_rules}
    server = await aiohttp_server(create_sim_app(SimConfig(apps=[App(OA, OA_SECRET)], limits=limits)))
    sim = server.app[SIM_STATE]
    base = str(server.make_url("")).rstrip("/")
    openids = []
    wrote = n if wrote is None else wrote
    for i in range(n):
        person = sim.add_person(f"老板{i}", "store_owner")
        await sim.follow(person.id, OA)
        if i < wrote:
            await sim.send_text(person.id, OA, "在吗")
        openids.append(sim.openid(person.id, OA))
    settings = load_settings(
        database_url=db_url,
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
            session.add_all([Member(tenant_id=tenant, role="store_owner") for _ in range(n)])
            await session.flush()
            ids = list((await session.execute(select(Member.id).order_by(Member.id))).scalars())
            rows = [
                {"tenant_id": tenant, "member_id": mid, "appid": OA, "openid": oid, "following": True}
                for mid, oid in zip(ids, openids, strict=True)
            ]
            stmt = insert_ignore_statement(
                session, MemberIdentity.__table__, index_elements=["appid", "openid"]
            )
            await session.execute(stmt, rows)
        now = int(time.time())
        assert services.reach is not None
        for i, oid in enumerate(openids[:wrote]):  # jiubot saw each one's message: its window is open
            await services.reach.note(
                Inbound(OA, "gh_sim", oid, now, "text", msg_id=str(10**9 + i), content="在吗")
            )
        yield SimCampaign(sim, runtime, tenant, ids, openids)
