"""The page registry: a feature adds a page without touching the layout; the nav shows it only to
roles with its permission; bad registrations are refused; the default app serves the console."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.app import create_app
from bot.console.policy import Reach, reach
from bot.console.registry import ConsolePage, ConsoleRegistry, ConsoleSection


async def _page(request, ctx):  # type: ignore[no-untyped-def]
    return web.Response(text="ok")


def test_nav_follows_permissions_sections_and_order():
    registry = ConsoleRegistry()
    registry.add(ConsolePage("工作台", "/", "home", ("read", "reports"), _page, order=10))
    registry.add(ConsolePage("瓶码批次", "/codes/batches", "codes", ("read", "codes"), _page))
    registry.add(ConsolePage("操作日志", "/audit", "system", ("read", "audit"), _page))
    registry.section(ConsoleSection("live", "直播", 65, "chart"))
    registry.add(ConsolePage("直播间", "/live", "live", ("read", "content"), _page))
    registry.add(ConsolePage("批次详情", "/codes/batches/{id}", "codes", ("read", "codes"), _page, nav=False))

    def for_role(role: str):  # type: ignore[no-untyped-def]
        nav = registry.nav(
            lambda p: reach(role, *p.permission) is not Reach.NONE, "/console/codes/batches/7", "/console"
        )
        return [(g.title, [(i.title, i.href, i.active) for i in g.items]) for g in nav]

    assert for_role("hq_admin") == [
        ("概览", [("工作台", "/console/", False)]),
        ("瓶码与防伪", [("瓶码批次", "/console/codes/batches", True)]),
        ("直播", [("直播间", "/console/live", False)]),
        ("系统", [("操作日志", "/console/audit", False)]),
    ]
    distributor = dict(for_role("distributor"))
    assert "系统" not in distributor  # distributors do not read the audit log
    assert registry.crumbs_for("/codes/batches/7") == ("瓶码与防伪", "瓶码批次")


def test_bad_registrations_are_refused():
    registry = ConsoleRegistry()
    with pytest.raises(ValueError, match="unknown console section"):
        registry.add(ConsolePage("x", "/x", "nowhere", ("read", "members"), _page))
    registry.add(ConsolePage("x", "/x", "home", ("read", "members"), _page))
    with pytest.raises(ValueError, match="twice"):
        registry.add(ConsolePage("y", "/x", "home", ("read", "members"), _page))
    with pytest.raises(ValueError, match="nav"):
        ConsolePage("z", "/z/{id}", "home", ("read", "members"), _page)
    with pytest.raises(ValueError, match="exists"):
        registry.section(ConsoleSection("home", "重复"))


async def test_the_default_app_serves_the_console(aiohttp_client, make_settings, monkeypatch):
    monkeypatch.setenv("JIUBOT_CODE_KEY", "default-wiring-code-key-0123456789abc")
    client = await aiohttp_client(create_app(make_settings(), background=False))
    login = await client.get("/console/login")
    assert login.status == 200 and "运营后台" in await login.text()
    assert "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]
    bare = await client.get("/console", allow_redirects=False)
    assert bare.status == 301 and bare.headers["Location"] == "/console/"
    missing = await client.get("/console/no-such-page")
    assert missing.status == 404 and "未找到" in await missing.text()
    assert missing.headers["Cache-Control"] == "no-store"
