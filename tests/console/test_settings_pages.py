"""Tenant settings on both databases: HQ admin saves loyalty knobs (bad input refused beside the
field, nothing written; a double submit saves once), a second admin editing the same version is
told (409) and overwrites nothing; a region manager reads but cannot save; a distributor has no
settings page."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.console.models import AuditEntry
from bot.db import session_scope
from bot.membership import loyalty_config
from tests.console.test_web import _tree

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="([^"]*)"')
INPUT = re.compile(r'<input name="([a-z_]+)" inputmode="numeric" maxlength="7" value="([^"]*)"')


async def _form(c) -> dict[str, str]:  # type: ignore[no-untyped-def]
    text = await (await c.client.get("/console/settings")).text()
    data = dict(INPUT.findall(text))
    data.update(
        _csrf=CSRF.search(text).group(1),
        token=TOKEN.search(text).group(1),
        version=VERSION.search(text).group(1),
        require_activation="1",
        diversion_enabled="1",
        first_scan_coupon_campaign="",
    )
    return data


async def _config(c):  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return await loyalty_config.load(session, c.tenant_id)


async def _audits(c) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        q = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "settings.update")
        return int((await session.execute(q)).scalar_one())


async def test_save_once_and_detect_a_concurrent_edit(console_app):
    c = await console_app()
    await c.operator("boss")
    await c.operator("boss2")
    assert (await c.login("boss")).status == 303
    form = await _form(c)
    assert form["version"] == "0" and form["scan_points_default"] == "10"
    for bad, message in (
        ({"scan_points_default": "-5"}, "0–100,000"),
        ({"daily_scan_cap": "80", "monthly_scan_cap": "60"}, "每日扫码上限不能大于每月上限"),
        ({"first_scan_coupon_campaign": "券 活动"}, "活动编号只能包含"),
    ):
        resp = await c.client.post("/console/settings", data={**form, **bad})
        assert resp.status == 400 and message in await resp.text(), bad
    assert (await _config(c)).scan_points_default == 10 and await _audits(c) == 0

    ok = await c.client.post(
        "/console/settings", data={**form, "scan_points_default": "15"}, allow_redirects=False
    )
    assert ok.status == 303 and "settings_saved" in ok.headers["Location"]
    again = await c.client.post(
        "/console/settings", data={**form, "scan_points_default": "15"}, allow_redirects=False
    )
    assert "already_saved" in again.headers["Location"]
    config = await _config(c)
    assert config.scan_points_default == 15 and config.flags_block_scans is False and await _audits(c) == 1

    first = await _form(c)  # boss opens version v1 ...
    c.client.session.cookie_jar.clear()
    assert (await c.login("boss2")).status == 303
    second = await _form(c)  # ... and so does boss2, who saves first
    assert first["version"] == second["version"] != "0"
    assert (
        await c.client.post(
            "/console/settings", data={**second, "daily_scan_cap": "5"}, allow_redirects=False
        )
    ).status == 303
    c.client.session.cookie_jar.clear()
    assert (await c.login("boss")).status == 303
    csrf = (await _form(c))["_csrf"]
    stale = await c.client.post(
        "/console/settings", data={**first, "_csrf": csrf, "scan_points_default": "99"}
    )
    assert stale.status == 409 and "已被他人修改" in await stale.text()
    config = await _config(c)
    assert (config.scan_points_default, config.daily_scan_cap) == (15, 5) and await _audits(c) == 2


async def test_region_manager_reads_only(console_app):
    c = await console_app()
    await _tree(c)
    await c.operator("sw", "region_manager", "region", 1)
    assert (await c.login("sw")).status == 303
    text = await (await c.client.get("/console/settings")).text()
    assert "只能查看设置" in text and 'data-testid="settings-submit"' not in text
    csrf = CSRF.search(text).group(1)
    resp = await c.client.post(
        "/console/settings",
        data={"_csrf": csrf, "token": "x" * 22, "version": "0", "scan_points_default": "99"},
    )
    assert resp.status == 403 and (await _config(c)).scan_points_default == 10 and await _audits(c) == 0
