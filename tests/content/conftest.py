"""Fixtures of the content tests: the e2e stack (simulator, reference core, jiubot on real
ports), a published item, and ``Phone``: a simulated person's in-WeChat browser that signs in
through the simulator's snsapi_base OAuth."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.content import library
from bot.db import session_scope
from bot.membership import actions as members
from bot.tenancy import repository as tenancy_repo
from tests.e2e.conftest import stack_factory  # noqa: F401 - fixture
from tests.ordering_flows.conftest import core_db, core_seed_pg, core_seed_sqlite  # noqa: F401 - fixtures
from tests.web.member_app import WECHAT_UA

AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"


@dataclass
class Page:
    status: int
    text: str
    url: str


class Phone:
    """One person's WeChat browser: cookies persist; WeChat's OAuth page is the simulator's."""

    def __init__(self, stack, person: str) -> None:  # type: ignore[no-untyped-def]
        self.stack = stack
        self.person = person
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"User-Agent": WECHAT_UA}
        )

    @property
    def sim_url(self) -> str:
        return self.stack.services.settings.wechat_api_base

    @property
    def public(self) -> str:
        return self.stack.services.settings.public_base_url

    async def open(self, path: str) -> Page:
        url = path if path.startswith("http") else self.stack.url + path
        for _ in range(6):
            async with self.http.get(url, allow_redirects=False) as resp:
                if resp.status not in (301, 302, 303):
                    public = (
                        self.public + url[len(self.stack.url) :] if url.startswith(self.stack.url) else url
                    )
                    return Page(resp.status, (await resp.read()).decode("utf-8", "replace"), public)
                location = resp.headers["Location"]
            if location.startswith(AUTHORIZE):
                query = urlsplit(location.split("#")[0]).query
                location = f"{self.sim_url}/connect/oauth2/authorize?{query}&sim_person={self.person}"
            elif location.startswith("/"):
                location = self.stack.url + location
            elif location.startswith(self.public):  # jiubot's public URL is this test server
                location = self.stack.url + location[len(self.public) :]
            url = location
        raise AssertionError(f"redirect loop at {url}")

    async def post_json(self, path: str, body: dict) -> int:
        async with self.http.post(self.stack.url + path, json=body) as resp:
            return resp.status

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def phones():
    made: list[Phone] = []

    def make(stack, person: str) -> Phone:  # type: ignore[no-untyped-def]
        phone = Phone(stack, person)
        made.append(phone)
        return phone

    yield make
    for phone in made:
        await phone.close()


async def tenant_of(stack) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(stack.services.sessions) as session:
        return (await tenancy_repo.list_apps(session))[0].tenant_id


async def publish(stack, title: str = "酱香型白酒的十二道工序", **kw) -> int:  # type: ignore[no-untyped-def]
    tenant = await tenant_of(stack)
    async with session_scope(stack.services.sessions) as session:
        item = await library.create(
            session,
            tenant,
            kind="article",
            title=title,
            summary="一分钟读懂端午制曲、重阳下沙",
            body="端午制曲，重阳下沙。\n九次蒸煮、八次发酵、七次取酒。",
            tags=["aroma:酱香", "campaign:秋季品鉴"],
            roles=kw.get("roles", ()),
            created_by="hq",
        )
        await library.submit(session, tenant, item.id)
        await library.approve(session, tenant, item.id, by="hq-operator")
    return item.id


async def make_distributor(stack, person: str) -> int:  # type: ignore[no-untyped-def]
    """The person follows the OA and is made a distributor's staff (as ``jiubot demo`` seeds)."""
    await stack.sim.follow(person, stack.services.settings.oa_appid)
    member_id = await stack_member(stack, person)
    async with session_scope(stack.services.sessions) as session:
        await members.assign_role(session, member_id, "distributor_staff", distributor_code="D-CD-01")
    return member_id


async def stack_member(stack, person: str) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from bot.membership.models import MemberIdentity

    openid = stack.openid(person)
    async with session_scope(stack.services.sessions) as session:
        return (
            await session.execute(select(MemberIdentity.member_id).where(MemberIdentity.openid == openid))
        ).scalar_one()
