"""Fixtures of the membership page and API tests: the app with the membership extension, a
seeded batch, member cookies and mini-program sessions."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from bot import keys
from bot.app import create_app
from bot.db import session_scope
from bot.membership import actions, batches, regions
from bot.membership.codes import make
from bot.membership.runtime import MembershipRuntime
from bot.miniapp.api import signer_of
from bot.miniapp.session import MpSession
from bot.web.h5auth import COOKIE, _mac
from bot.wiring.features import MEMBERSHIP
from tests.conftest import OA_APPID

CODE_KEY = "test-bottle-code-master-key-0123456789"
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)


@dataclass
class MemberApp:
    client: object
    app: object

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.app[keys.SERVICES]

    @property
    def runtime(self) -> MembershipRuntime:
        return self.services.membership

    @property
    def tenant_id(self) -> int:
        return next(a.tenant_id for a in self.services.registry.all() if a.appid == OA_APPID)

    async def member(self, openid: str, *, adult: bool = True, appid: str = OA_APPID) -> int:
        async with session_scope(self.services.sessions) as session:
            member_id = await actions.ensure_member(session, self.tenant_id, appid, openid)
            if adult:
                await actions.confirm_age(session, member_id)
        return member_id

    def cookie(self, member_id: int) -> dict[str, str]:
        body = f"{self.tenant_id}.{member_id}.{int(time.time()) + 3600}"
        return {COOKIE: f"{body}.{_mac(self.services.settings.secret_key, body)}"}

    def bearer(
        self, member_id: int, openid: str = "mp-openid", appid: str = "wxtestmp00000001"
    ) -> dict[str, str]:
        token = (
            signer_of(self.services).issue(MpSession(member_id, self.tenant_id, appid, openid, None)).token
        )
        return {"Authorization": f"Bearer {token}"}

    async def batch(self, *, size: int = 500, region: str | None = "SW", store: str | None = None):  # type: ignore[no-untyped-def]
        async with session_scope(self.services.sessions) as session:
            if region and await regions.get_region(session, self.tenant_id, region) is None:
                await regions.define_region(
                    session, self.tenant_id, region, "西南大区", provinces=["四川", "贵州"], cities=["重庆"]
                )
            batch = await batches.create_batch(
                session,
                self.tenant_id,
                brand="黔酒",
                sku="QJ-53-500",
                product_name="黔酒·酱香典藏 53度 500ml",
                size=size,
                region_code=region,
                distributor_code="D-CD-01",
            )
            await batches.mark_range(session, self.tenant_id, batch.id, 1, size, "activate", store_code=store)
        return batch

    def code(self, batch_id: int, serial: int) -> str:
        return make(self.runtime.keys, self.tenant_id, batch_id, serial)


@pytest.fixture
def member_app(aiohttp_client, make_settings, monkeypatch):
    async def build(**overrides) -> MemberApp:  # type: ignore[no-untyped-def]
        monkeypatch.setenv("JIUBOT_CODE_KEY", CODE_KEY)
        monkeypatch.setenv("JIUBOT_CODE_BASE_URL", "https://jb.example.cn")
        for name, value in overrides.pop("env", {}).items():
            monkeypatch.setenv(name, value)
        settings = make_settings(**overrides)
        app = create_app(settings, features=[MEMBERSHIP], background=False)
        client = await aiohttp_client(app)
        return MemberApp(client, app)

    return build
