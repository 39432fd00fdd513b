"""The role x resource matrix for the batch, store, campaign, app-menu and settings pages, on
both databases: every role reads a record of its scope (200), writes exactly where the policy lets
it (else 403, and nothing is written), and ids of another tenant typed into URLs are a 404 for
everyone, HQ admin included. (Nav pages are covered by test_matrix.py for every page registered.)"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.console import org
from bot.console.models import AuditEntry
from bot.console.policy import ROLES, Reach, reach
from bot.db import session_scope
from bot.membership import batches
from bot.membership.code_models import CodeRange
from bot.membership.models import Store
from bot.tenancy import repository as tenancy_repo
from tests.conftest import OA_APPID
from tests.console.test_matrix import SCOPES

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def _may(role: str, action: str, kind: str) -> bool:
    return reach(role, action, kind) is not Reach.NONE


async def _world(c) -> dict[str, int]:  # type: ignore[no-untyped-def]
    specs = [
        org.NodeSpec("region", 1, "SW", "西南营销中心", "/r1/", None),
        org.NodeSpec("region", 2, "EC", "华东营销中心", "/r2/", None),
        org.NodeSpec("distributor", 11, "D-CD-01", "成都经销商", "/r1/d11/", ("region", 1)),
        org.NodeSpec("store", 111, "S-CD-1", "春熙路烟酒", "/r1/d11/s111/", ("distributor", 11), "成都"),
    ]
    async with session_scope(c.services.sessions) as session:
        await org.apply_tree(session, c.tenant_id, specs, now=c.clock())
        session.add(Store(tenant_id=c.tenant_id, code="S-CD-1", name="春熙路烟酒"))
        ours = await batches.create_batch(
            session,
            c.tenant_id,
            brand="黔酒",
            sku="QJ",
            product_name="酱香",
            size=100,
            distributor_code="D-CD-01",
        )
        other = await tenancy_repo.get_or_create_tenant(session, "other-brand", "别的品牌")
        await org.apply_tree(
            session, other.id, [org.NodeSpec("store", 999, "S-X", "别家门店", "/s999/", None)], now=c.clock()
        )
        theirs = await batches.create_batch(
            session, other.id, brand="别", sku="X", product_name="别", size=10
        )
    return {"batch": ours.id, "foreign_batch": theirs.id}


async def _count(c, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return int(
            (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


async def test_every_role_on_the_new_pages(console_app):
    c = await console_app()
    ids = await _world(c)
    for n, role in enumerate(ROLES):
        kind, core_id = SCOPES[role]
        await c.operator(f"w-{role}", role, kind, core_id)
        c.client.session.cookie_jar.clear()
        assert (await c.login(f"w-{role}")).status == 303, role
        batch_page = await c.client.get(f"/console/codes/batches/{ids['batch']}")
        assert batch_page.status == 200, role
        csrf = CSRF.search(await batch_page.text()).group(1)
        token = f"matrix-{n}-" + "t" * 16

        before = await _count(c, CodeRange)
        resp = await c.client.post(
            f"/console/codes/batches/{ids['batch']}/ranges",
            data={"_csrf": csrf, "token": token + "r", "action": "activate", "first": "1", "last": "2"},
            allow_redirects=False,
        )
        may = _may(role, "write", "codes")
        assert resp.status == (303 if may else 403), (role, resp.status)
        assert await _count(c, CodeRange) == before + (1 if may else 0), role

        resp = await c.client.post(
            f"/console/codes/batches/{ids['batch']}/generate",
            data={"_csrf": csrf, "token": token + "g", "count": "3"},
            allow_redirects=False,
        )
        assert resp.status == (303 if _may(role, "manage", "codes") else 403), (role, resp.status)

        assert (await c.client.get("/console/stores/111")).status == 200, role
        resp = await c.client.post(
            "/console/stores/111/revoke", data={"_csrf": csrf, "token": token + "s"}, allow_redirects=False
        )
        assert resp.status == (303 if _may(role, "write", "stores") else 403), (role, resp.status)

        settings = {"_csrf": csrf, "token": token + "x", "version": "0", "scan_points_default": "1"}
        resp = await c.client.post("/console/settings", data=settings, allow_redirects=False)
        # a manager's half-filled form is refused (400); everyone else is turned away first
        assert resp.status == (400 if _may(role, "manage", "settings") else 403), (role, resp.status)

        resp = await c.client.post(
            f"/console/apps/{OA_APPID}/menu",
            data={"_csrf": csrf, "token": token + "m", "version": "0", "layout": "button: []"},
        )
        assert resp.status == (400 if _may(role, "manage", "apps") else 403), (role, resp.status)

        resp = await c.client.post("/console/coupons", data={"_csrf": csrf, "token": token + "c"})
        # no core configured here: a coupon manager is told it is unavailable
        assert resp.status == (503 if _may(role, "manage", "coupons") else 403), (role, resp.status)

        # another tenant's ids: 404 for everyone
        assert (await c.client.get(f"/console/codes/batches/{ids['foreign_batch']}")).status == 404, role
        assert (await c.client.get("/console/stores/999")).status == 404, role
        resp = await c.client.post(
            f"/console/codes/batches/{ids['foreign_batch']}/ranges",
            data={
                "_csrf": csrf,
                "token": token + "f",
                "action": "void",
                "first": "1",
                "last": "2",
                "note": "越权",
            },
        )
        assert resp.status in ((404,) if _may(role, "write", "codes") else (403, 404)), (role, resp.status)
    async with session_scope(c.services.sessions) as session:
        foreign = await session.scalar(
            select(func.count()).select_from(CodeRange).where(CodeRange.batch_id == ids["foreign_batch"])
        )
    assert foreign == 0
    writers = [r for r in ROLES if _may(r, "write", "codes")]
    assert await _count(c, AuditEntry, AuditEntry.action == "codes.activate") == len(writers)
