"""The store page on both databases, with the WeChat simulator over real HTTP: the store's owner
and staff (nobody else's), an owner binding QR made at the (simulated) WeChat for a token of this
store (once per form, even submitted twice), bad input refused beside the field with nothing
written, revoking every live code; another region's store is a 404 and stays untouched."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.console import org
from bot.console.models import AuditEntry
from bot.db import session_scope
from bot.membership.models import Member, Store
from bot.ordering import binding
from bot.ordering.errors import ChatOrderingError
from bot.ordering.models import BindToken
from bot.wiring.features import WECHAT
from tests.conftest import OA_AES_KEY, OA_APPID, OA_TOKEN
from tests.console.test_twofactor import OA_SECRET, _start
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import SimConfig
from wechat_sim.model import App

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
QR_TOKEN = re.compile(
    r'data-testid="qr-form">\s*<input[^>]*><input type="hidden" name="token" value="([^"]+)"'
)
REVOKE_TOKEN = re.compile(
    r'data-testid="revoke-form">\s*<input[^>]*><input type="hidden" name="token" value="([^"]+)"'
)


@pytest.fixture
async def sim():  # type: ignore[no-untyped-def]
    app = create_sim_app(SimConfig(apps=[App(OA_APPID, OA_SECRET, token=OA_TOKEN, aes_key=OA_AES_KEY)]))
    runner, url = await _start(app)
    yield app[SIM_STATE], url
    await runner.cleanup()


async def _world(c) -> dict[str, int]:  # type: ignore[no-untyped-def]
    specs = [
        org.NodeSpec("region", 1, "SW", "西南营销中心", "/r1/", None),
        org.NodeSpec("region", 2, "EC", "华东营销中心", "/r2/", None),
        org.NodeSpec("distributor", 11, "D-CD-01", "成都经销商", "/r1/d11/", ("region", 1)),
        org.NodeSpec("distributor", 21, "D-SH-01", "上海经销商", "/r2/d21/", ("region", 2)),
        org.NodeSpec("store", 111, "S-CD-1", "春熙路烟酒", "/r1/d11/s111/", ("distributor", 11), "成都"),
        org.NodeSpec("store", 211, "S-SH-1", "南京路名酒", "/r2/d21/s211/", ("distributor", 21), "上海"),
    ]
    ids = {}
    async with session_scope(c.services.sessions) as session:
        await org.apply_tree(session, c.tenant_id, specs, now=c.clock())
        for code in ("S-CD-1", "S-SH-1"):
            store = Store(tenant_id=c.tenant_id, code=code, name=code)
            session.add(store)
            await session.flush()
            for n, role in enumerate(("store_owner", "store_staff", "consumer")):
                m = Member(tenant_id=c.tenant_id, role=role, phone=f"13{store.id:03d}00{n:04d}",
                           store_id=store.id if role != "consumer" else None)  # fmt: skip
                session.add(m)
                await session.flush()
                ids[f"{code}:{role}"] = m.id
    return ids


async def _count(c, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return int(
            (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


async def test_owner_qr_staff_list_and_revoke(console_app, sim):
    state, url = sim
    c = await console_app(
        extra_features=[WECHAT], oa_secret=OA_SECRET, wechat_api_base=url, wechat_retry_backoff_seconds=0.01
    )
    ids = await _world(c)
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    page = await c.client.get("/console/stores/111")
    text = await page.text()
    assert page.status == 200 and "春熙路烟酒" in text
    assert f"#{ids['S-CD-1:store_owner']}" in text and f"#{ids['S-CD-1:store_staff']}" in text
    assert f"#{ids['S-CD-1:consumer']}" not in text and f"#{ids['S-SH-1:store_owner']}" not in text
    csrf, token = CSRF.search(text).group(1), QR_TOKEN.search(text).group(1)

    bad = await c.client.post("/console/stores/111/qr", data={"_csrf": csrf, "token": token, "days": "90"})
    assert bad.status == 400 and "有效期须为 1–30 天" in await bad.text()
    assert (
        await _count(c, BindToken) == 0 and await _count(c, AuditEntry, AuditEntry.action == "store.qr") == 0
    )

    ok = await c.client.post("/console/stores/111/qr", data={"_csrf": csrf, "token": token, "days": "7"})
    shown = await ok.text()
    assert ok.status == 200 and 'data-testid="binding-qr"' in shown and "data:image/svg+xml;base64," in shown
    async with session_scope(c.services.sessions) as session:
        row = (await session.execute(select(BindToken))).scalar_one()
    assert (row.kind, row.core_store_id, row.created_by) == ("owner", 111, "console:boss")
    assert state.find_qr(binding.SCENE_PREFIX + row.token, OA_APPID) is not None  # asked WeChat for it
    again = await c.client.post(
        "/console/stores/111/qr", data={"_csrf": csrf, "token": token, "days": "7"}, allow_redirects=False
    )
    assert again.status == 303 and "already_issued" in again.headers["Location"]
    assert (
        await _count(c, BindToken) == 1 and await _count(c, AuditEntry, AuditEntry.action == "store.qr") == 1
    )

    text = await (await c.client.get("/console/stores/111")).text()
    assert "店主绑定码" in text and "撤销全部绑定码（1）" in text
    revoke_token = REVOKE_TOKEN.search(text).group(1)
    done = await c.client.post(
        "/console/stores/111/revoke", data={"_csrf": csrf, "token": revoke_token}, allow_redirects=False
    )
    assert done.status == 303 and "done=revoked" in done.headers["Location"]
    async with session_scope(c.services.sessions) as session:
        with pytest.raises(ChatOrderingError):
            await binding.read_token(session, row.token)
        entry = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "store.revoke"))
        ).scalar_one()
    assert '"revoked":1' in entry.after and entry.target_id == "S-CD-1"


async def test_another_regions_store_is_a_404_and_untouched(console_app):
    c = await console_app()  # no WeChat wired: the QR form answers "unavailable", writes nothing
    await _world(c)
    async with session_scope(c.services.sessions) as session:
        token = await binding.create_token(session, c.tenant_id, binding.OWNER_TOKEN, 211, created_by="cli",
                                           ttl_seconds=None)  # fmt: skip
    await c.operator("dist", "distributor", "distributor", 11)
    assert (await c.login("dist")).status == 303
    listing = await (await c.client.get("/console/stores")).text()
    assert "S-CD-1" in listing and "S-SH-1" not in listing
    text = await (await c.client.get("/console/stores/111")).text()
    csrf, revoke_token = CSRF.search(text).group(1), REVOKE_TOKEN.search(text).group(1)
    other = await c.client.get("/console/stores/211")
    assert other.status == 404 and "不在您的管辖范围" in await other.text()
    post = await c.client.post("/console/stores/211/revoke", data={"_csrf": csrf, "token": revoke_token})
    assert post.status == 404
    async with session_scope(c.services.sessions) as session:
        assert (await binding.read_token(session, token)).core_store_id == 211  # still live
    qr = await c.client.post(
        "/console/stores/111/qr", data={"_csrf": csrf, "token": revoke_token, "days": "7"}
    )
    assert qr.status == 503 and "微信接口暂不可用" in await qr.text()
    assert await _count(c, AuditEntry, AuditEntry.action.like("store.%")) == 0
    assert await _count(c, BindToken) == 1
