"""WeChat apps and the menu editor on both databases, with the WeChat simulator over real HTTP:
HQ sees the tenant's apps, previews an edited menu (nothing written, nothing sent), a broken one
is refused with WeChat's rules beside the field, a push saves a version and reaches the
(simulated) WeChat; a second operator editing the same version is told (409), nothing is
overwritten; an HQ operator previews but cannot push; a region's operator sees no apps."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.console.models import AuditEntry, MenuLayout
from bot.db import session_scope
from bot.wiring.features import WECHAT
from tests.conftest import OA_AES_KEY, OA_APPID, OA_TOKEN
from tests.console.test_twofactor import OA_SECRET, _start
from tests.console.test_web import _tree
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import SimConfig
from wechat_sim.model import App

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="([^"]*)"')
LAYOUT = """button:
  - {type: click, name: 订货, key: ORDER}
  - {type: click, name: 年货节, key: NEW_YEAR}
"""


@pytest.fixture
async def sim():  # type: ignore[no-untyped-def]
    app = create_sim_app(SimConfig(apps=[App(OA_APPID, OA_SECRET, token=OA_TOKEN, aes_key=OA_AES_KEY)]))
    runner, url = await _start(app)
    yield app[SIM_STATE], url
    await runner.cleanup()


async def _form(c) -> dict[str, str]:  # type: ignore[no-untyped-def]
    text = await (await c.client.get(f"/console/apps/{OA_APPID}/menu")).text()
    return {
        "_csrf": CSRF.search(text).group(1),
        "token": TOKEN.search(text).group(1),
        "version": VERSION.search(text).group(1),
    }


async def _rows(c, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return int(
            (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


async def test_preview_push_and_concurrent_edit(console_app, sim):
    state, url = sim
    c = await console_app(
        extra_features=[WECHAT], oa_secret=OA_SECRET, wechat_api_base=url, wechat_retry_backoff_seconds=0.01
    )
    await c.operator("boss")
    await c.operator("boss2")
    assert (await c.login("boss")).status == 303
    listing = await (await c.client.get("/console/apps")).text()
    assert OA_APPID in listing and "自定义菜单" in listing
    page = await (await c.client.get(f"/console/apps/{OA_APPID}/menu")).text()
    assert "扫码验真领积分" in page  # the shipped layout until someone saves
    form = await _form(c)

    preview = await c.client.post(f"/console/apps/{OA_APPID}/menu/preview", data={**form, "layout": LAYOUT})
    text = await preview.text()
    assert preview.status == 200 and "年货节" in text and 'class="phone-button"' in text
    broken = (
        LAYOUT + "  - {type: click, name: 第四个按钮太多了, key: X}\n  - {type: teleport, name: 坏, key: Y}\n"
    )
    bad = await c.client.post(f"/console/apps/{OA_APPID}/menu", data={**form, "layout": broken})
    text = await bad.text()
    assert bad.status == 400 and "不符合微信的规则" in text and "unsupported type" in text
    assert (
        await _rows(c, MenuLayout) == 0 and await _rows(c, AuditEntry, AuditEntry.action == "menu.push") == 0
    )

    pushed = await c.client.post(
        f"/console/apps/{OA_APPID}/menu", data={**form, "layout": LAYOUT}, allow_redirects=False
    )
    assert pushed.status == 303 and "done=menu_pushed" in pushed.headers["Location"]
    names = [b["name"] for b in state.menu_get(OA_APPID)["menu"]["button"]]
    assert names == ["订货", "年货节"]
    again = await c.client.post(
        f"/console/apps/{OA_APPID}/menu", data={**form, "layout": LAYOUT}, allow_redirects=False
    )
    assert "already_pushed" in again.headers["Location"]
    async with session_scope(c.services.sessions) as session:
        row = (await session.execute(select(MenuLayout))).scalar_one()
    assert row.version == 1 and row.pushed_at is not None and row.updated_by == "boss"

    # two operators open version 1; the first saves, the second is told and overwrites nothing
    first = await _form(c)
    c.client.session.cookie_jar.clear()
    assert (await c.login("boss2")).status == 303
    second = await _form(c)
    assert first["version"] == second["version"] == "1"
    other = LAYOUT.replace("年货节", "中秋礼")
    ok = await c.client.post(
        f"/console/apps/{OA_APPID}/menu", data={**second, "layout": other}, allow_redirects=False
    )
    assert ok.status == 303
    c.client.session.cookie_jar.clear()
    assert (await c.login("boss")).status == 303
    stale = await c.client.post(
        f"/console/apps/{OA_APPID}/menu", data={**first, "_csrf": (await _form(c))["_csrf"], "layout": LAYOUT}
    )
    assert stale.status == 409 and "已被他人修改" in await stale.text()
    async with session_scope(c.services.sessions) as session:
        row = (await session.execute(select(MenuLayout))).scalar_one()
    assert row.version == 2 and "中秋礼" in row.layout
    assert [b["name"] for b in state.menu_get(OA_APPID)["menu"]["button"]] == ["订货", "中秋礼"]
    assert await _rows(c, AuditEntry, AuditEntry.action == "menu.push") == 2


async def test_hq_operator_previews_only_and_regions_see_no_apps(console_app):
    c = await console_app()
    await _tree(c)
    await c.operator("ops", "hq_operator")
    await c.operator("aud", "auditor", "region", 1)
    assert (await c.login("ops")).status == 303
    form = await _form(c)
    page = await (await c.client.get(f"/console/apps/{OA_APPID}/menu")).text()
    assert 'data-testid="menu-preview"' in page and 'data-testid="menu-push"' not in page
    resp = await c.client.post(f"/console/apps/{OA_APPID}/menu", data={**form, "layout": LAYOUT})
    assert resp.status == 403 and await _rows(c, MenuLayout) == 0
    c.client.session.cookie_jar.clear()
    assert (await c.login("aud")).status == 303
    listing = await (await c.client.get("/console/apps")).text()
    assert OA_APPID not in listing and "仅总部可见" in listing
    assert (await c.client.get(f"/console/apps/{OA_APPID}/menu")).status == 404
    assert (await c.client.get("/console/apps/wxnotours0000001/menu")).status in (403, 404)
