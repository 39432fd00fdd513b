"""Every role against every console page, on both databases: a page opens (200) exactly when the
policy gives the role that permission somewhere, else 403, and the nav lists exactly those pages;
points adjustments go through only for roles that write points; a member of another tenant typed
into the URL is a 404 for everyone, HQ admin included."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.console.feature import build_registry
from bot.console.policy import ROLES, Reach, reach
from bot.db import session_scope
from bot.membership import actions
from bot.membership.ledger_models import PointsLedger
from bot.membership.models import Member
from bot.tenancy import repository as tenancy_repo
from tests.console.console_app import TOKEN
from tests.console.test_web import _tree

SCOPES = {
    "hq_admin": ("tenant", None),
    "hq_operator": ("tenant", None),
    "region_manager": ("region", 1),
    "region_operator": ("region", 1),
    "distributor": ("distributor", 11),
    "auditor": ("region", 1),
}
NAV = re.compile(r'class="nav-item[^"]*" href="([^"]+)"')


async def test_every_role_sees_exactly_its_pages_and_writes_only_what_it_may(console_app):
    c = await console_app()
    await _tree(c)
    member = await c.member("matrix-member-openid-00001")
    async with session_scope(c.services.sessions) as session:
        await session.execute(
            Member.__table__.update().where(Member.id == member).values(distributor_code="D-CD-01")
        )
        other_tenant = await tenancy_repo.get_or_create_tenant(session, "other-brand", "别的品牌")
        foreign = await actions.ensure_member(
            session, other_tenant.id, "wxothertenant0001", "foreign-openid-0001"
        )
    pages = [p for p in build_registry().pages if p.nav]
    for role in ROLES:
        kind, core_id = SCOPES[role]
        await c.operator(f"op-{role}", role, kind, core_id)
        c.client.session.cookie_jar.clear()
        assert (await c.login(f"op-{role}")).status == 303, role
        home = await c.client.get("/console/")
        listed = set(NAV.findall(await home.text()))
        for page in pages:
            allowed = reach(role, *page.permission) is not Reach.NONE
            resp = await c.client.get("/console" + page.path, allow_redirects=False)
            assert resp.status == (200 if allowed else 403), (role, page.path, resp.status)
            assert (("/console" + page.path) in listed) == allowed, (role, page.path)
        if reach(role, "read", "members") is not Reach.NONE:
            profile = await c.client.get(f"/console/members/{member}")
            assert profile.status == 200, role  # the distributor's staff member is in every scope here
            text = await profile.text()
            token = TOKEN.search(text)
            assert (token is not None) == (reach(role, "write", "points") is not Reach.NONE), role
            csrf = re.search(r'name="_csrf" value="([^"]+)"', text).group(1)
            before = await _ledger_rows(c)
            resp = await c.client.post(
                f"/console/members/{member}/points",
                data={"_csrf": csrf, "delta": "1", "reason": f"{role} 测试", "token": f"matrix-token-{role}"},
                allow_redirects=False,
            )
            may_write = reach(role, "write", "points") is not Reach.NONE
            assert resp.status == (303 if may_write else 403), (role, resp.status)
            assert await _ledger_rows(c) == before + (1 if may_write else 0), role
            assert (await c.client.get(f"/console/members/{foreign}")).status == 404, role


async def _ledger_rows(c) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return int((await session.execute(select(func.count()).select_from(PointsLedger))).scalar_one())
