"""Fixtures of the console tests: the app with the console feature (and membership, so members,
ledgers and scans exist), a hand-moved clock, operators, and a signed-in HTTP client."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from bot import keys
from bot.app import create_app
from bot.console import accounts
from bot.console.feature import console_routes
from bot.db import session_scope
from bot.membership import actions
from bot.wiring import Feature
from bot.wiring.features import MEMBERSHIP
from tests.conftest import OA_APPID
from tests.console.clock import FakeClock

PASSWORD = "Console-pass-2026"
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')


@dataclass
class ConsoleApp:
    client: object
    app: object
    clock: FakeClock

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.app[keys.SERVICES]

    @property
    def tenant_id(self) -> int:
        return next(a.tenant_id for a in self.services.registry.all() if a.appid == OA_APPID)

    async def operator(self, username: str, role: str = "hq_admin", scope_kind: str = "tenant", core_id=None):  # type: ignore[no-untyped-def]
        async with session_scope(self.services.sessions) as session:
            return await accounts.create(
                session,
                self.tenant_id,
                username=username,
                password=PASSWORD,
                role=role,
                scope_kind=scope_kind,
                scope_core_id=core_id,
                display_name=username.upper(),
            )

    async def member(self, openid: str, *, phone: str | None = None) -> int:
        async with session_scope(self.services.sessions) as session:
            member_id = await actions.ensure_member(session, self.tenant_id, OA_APPID, openid)
            if phone:
                from sqlalchemy import update

                from bot.membership.models import Member

                await session.execute(update(Member).where(Member.id == member_id).values(phone=phone))
        return member_id

    async def csrf(self, path: str = "/console/login") -> str:
        page = await self.client.get(path)
        found = CSRF.search(await page.text())
        assert found, f"no CSRF field on {path}"
        return found.group(1)

    async def login(self, username: str, password: str = PASSWORD, *, ip: str | None = None):  # type: ignore[no-untyped-def]
        csrf = await self.csrf()
        headers = {"X-Forwarded-For": ip} if ip else {}
        return await self.client.post(
            "/console/login",
            data={"_csrf": csrf, "username": username, "password": password, "next": "/console/"},
            allow_redirects=False,
            headers=headers,
        )


@pytest.fixture
def console_app(aiohttp_client, make_settings, monkeypatch):
    async def build(*, extra_features=(), **overrides) -> ConsoleApp:  # type: ignore[no-untyped-def]
        monkeypatch.setenv("JIUBOT_CODE_KEY", "console-test-code-key-0123456789abcdef")
        monkeypatch.setenv("JIUBOT_CODE_BASE_URL", "https://jb.example.cn")
        clock = FakeClock.real_now()
        app = create_app(
            make_settings(**overrides),
            features=[*extra_features, MEMBERSHIP, Feature("console", routes=console_routes(clock=clock))],
            background=False,
        )
        client = await aiohttp_client(app)
        return ConsoleApp(client, app, clock)

    return build
