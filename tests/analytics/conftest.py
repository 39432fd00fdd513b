"""jiubot with the analytics feature over a real database and Redis; helpers to seed members,
stores and sessions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot import keys
from bot.analytics.models import AnalyticsEvent
from bot.app import create_app
from bot.db import session_scope
from bot.membership import actions as members
from bot.membership.models import Member, Store
from bot.miniapp.api import signer_of
from bot.miniapp.session import MpSession
from bot.services import Services
from bot.tenancy import repository as tenancy_repo
from bot.wiring.features import ANALYTICS

MP_APPID = "wxmp0000analytic"


@dataclass
class Stack:
    client: object  # aiohttp TestClient
    services: Services
    tenant_id: int

    async def member(self, openid: str, *, store_code: str | None = None, tier: str = "basic") -> int:
        async with session_scope(self.services.sessions) as session:
            member_id = await members.ensure_member(session, self.tenant_id, MP_APPID, openid)
            row = await session.get(Member, member_id)
            assert row is not None
            row.tier = tier
            if store_code:
                store = (
                    await session.execute(
                        select(Store).where(Store.tenant_id == self.tenant_id, Store.code == store_code)
                    )
                ).scalar_one()
                row.store_id = store.id
        return member_id

    async def store(self, code: str, region: str, distributor: str) -> int:
        async with session_scope(self.services.sessions) as session:
            store = Store(
                tenant_id=self.tenant_id,
                code=code,
                name=f"门店{code}",
                region_code=region,
                distributor_code=distributor,
            )
            session.add(store)
            await session.flush()
            return store.id

    def token(self, member_id: int, openid: str) -> str:
        signer = signer_of(self.services)
        return signer.issue(MpSession(member_id, self.tenant_id, MP_APPID, openid)).token

    async def post_events(self, token: str, events: list[dict]) -> tuple[int, dict]:
        resp = await self.client.post(
            "/mp/api/events", json={"events": events}, headers={"Authorization": f"Bearer {token}"}
        )
        return resp.status, await resp.json()

    async def drain(self) -> int:
        runtime = self.services.analytics
        assert runtime is not None
        return await runtime.stream.drain(self.services.sessions)

    async def count_events(self, **where: object) -> int:
        async with session_scope(self.services.sessions) as session:
            query = select(func.count()).select_from(AnalyticsEvent)
            for column, value in where.items():
                query = query.where(getattr(AnalyticsEvent, column) == value)
            return int(await session.scalar(query) or 0)


@pytest.fixture
async def stack(aiohttp_client, make_settings) -> Stack:
    settings = make_settings()
    app = create_app(settings, features=[ANALYTICS], background=False)
    client = await aiohttp_client(app)
    services = app[keys.SERVICES]
    async with session_scope(services.sessions) as session:
        tenant = (await tenancy_repo.list_apps(session))[0].tenant_id
    return Stack(client, services, tenant)
