"""The console over HTTP on both databases and real Redis: sign-in with rotation, security
headers, CSRF refusal, lockout per account and per address, session expiry, points adjustment
(ledger + audit, once per form token), scope (another region's member is a 404) and grants."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.console import org
from bot.console.models import AuditEntry, Operator
from bot.console.sessions import COOKIE
from bot.db import session_scope
from bot.membership.ledger_models import PointsLedger
from bot.membership.models import Member
from tests.console.console_app import PASSWORD, TOKEN


def _cookie(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.cookies[COOKIE].value


async def _count(c, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return int(
            (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


async def test_sign_in_rotates_the_session_and_pages_carry_security_headers(console_app):
    c = await console_app()
    await c.operator("boss")
    first = await c.client.get("/console/", allow_redirects=False)
    assert first.status == 303 and first.headers["Location"].startswith("/console/login?next=")
    page = await c.client.get("/console/login")
    before = _cookie(page)
    bad = await c.login("boss", "wrong password 1")
    assert bad.status == 401 and "用户名或密码错误" in await bad.text()
    unknown = await c.login("nobody", PASSWORD)
    assert unknown.status == 401 and "用户名或密码错误" in await unknown.text()  # same answer
    ok = await c.login("boss")
    assert ok.status == 303 and ok.headers["Location"] == "/console/"
    assert _cookie(ok) != before  # a new id at sign-in: no fixation
    assert "HttpOnly" in ok.headers["Set-Cookie"] and "SameSite=Lax" in ok.headers["Set-Cookie"]
    home = await c.client.get("/console/")
    assert home.status == 200
    text = await home.text()
    assert "工作台" in text and "总部管理员" in text and "今日扫码" in text
    csp = home.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert home.headers["X-Content-Type-Options"] == "nosniff"
    assert home.headers["Cache-Control"] == "no-store"
    assert home.headers["Referrer-Policy"] == "same-origin"
    css = await c.client.get("/console/static/console.css")
    assert css.status == 200 and "public" in css.headers["Cache-Control"]
    assert await _count(c, AuditEntry, AuditEntry.action == "login") == 1
    assert await _count(c, AuditEntry, AuditEntry.action == "login.failed") == 1  # unknown names: not logged


async def test_post_without_a_valid_csrf_token_is_refused_and_writes_nothing(console_app):
    c = await console_app()
    await c.operator("boss")
    member = await c.member("csrf-openid-000000000001")
    assert (await c.login("boss")).status == 303
    profile = await c.client.get(f"/console/members/{member}")
    token = TOKEN.search(await profile.text()).group(1)
    body = {"delta": "100", "reason": "补发", "token": token}
    missing = await c.client.post(f"/console/members/{member}/points", data=body, allow_redirects=False)
    assert missing.status == 403 and "页面已过期" in await missing.text()
    forged = await c.client.post(
        f"/console/members/{member}/points", data={**body, "_csrf": "x" * 43}, allow_redirects=False
    )
    assert forged.status == 403
    assert (
        await _count(c, PointsLedger) == 0
        and await _count(c, AuditEntry, AuditEntry.action == "points.adjust") == 0
    )
    # the header form (fetch) passes
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', await profile.text()).group(1)
    fetched = await c.client.post(
        f"/console/members/{member}/points", data=body, headers={"X-CSRF-Token": csrf}, allow_redirects=False
    )
    assert fetched.status == 303
    assert await _count(c, PointsLedger) == 1
    # sign-in form too: a login POST without the token is refused
    refused = await c.client.post("/console/login", data={"username": "boss", "password": PASSWORD})
    assert refused.status == 403


async def test_five_failures_lock_the_account_for_fifteen_minutes(console_app):
    c = await console_app()
    await c.operator("boss")
    for attempt in range(5):
        resp = await c.login("boss", f"wrong password {attempt}")
        assert resp.status == (429 if attempt == 4 else 401)
    assert "锁定 15 分钟" in await resp.text()
    again = await c.login("boss")  # the right password does not open a locked account
    assert again.status == 429
    assert await _count(c, AuditEntry, AuditEntry.action == "login") == 0
    c.clock.advance(minutes=15, seconds=1)
    assert (await c.login("boss")).status == 303
    assert await _count(c, AuditEntry, AuditEntry.action == "login.locked") == 1


async def test_five_failures_from_one_address_lock_that_address(console_app):
    c = await console_app()
    await c.operator("boss")
    for n in range(5):
        await c.login(f"guess{n}", "whatever pass 1")  # different unknown accounts
    resp = await c.login("boss")
    assert resp.status == 429 and "锁定" in await resp.text()
    async with session_scope(c.services.sessions) as session:
        row = (await session.execute(select(Operator).where(Operator.username == "boss"))).scalar_one()
    assert row.locked_until is None  # the account itself is not locked: the address is


async def test_idle_and_absolute_session_expiry(console_app):
    c = await console_app()
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    c.clock.advance(minutes=29)
    assert (await c.client.get("/console/")).status == 200
    c.clock.advance(minutes=31)
    idle = await c.client.get("/console/", allow_redirects=False)
    assert idle.status == 303 and "why=expired" in idle.headers["Location"]
    assert (await c.login("boss")).status == 303
    for _ in range(36):  # busy every 20 minutes for 12 hours
        c.clock.advance(minutes=20)
        last = await c.client.get("/console/", allow_redirects=False)
    assert last.status == 303 and "why=expired" in last.headers["Location"]


async def test_points_adjustment_posts_once_per_form_and_is_audited(console_app):
    c = await console_app()
    await c.operator("boss")
    member = await c.member("adjust-openid-0000000001", phone="13800001234")
    assert (await c.login("boss")).status == 303
    profile = await c.client.get(f"/console/members/{member}")
    text = await profile.text()
    token = TOKEN.search(text).group(1)
    csrf = re.search(r'name="_csrf" value="([^"]+)"', text).group(1)
    body = {"_csrf": csrf, "delta": "120", "reason": "线下品鉴会补发", "token": token}
    first = await c.client.post(f"/console/members/{member}/points", data=body, allow_redirects=False)
    second = await c.client.post(f"/console/members/{member}/points", data=body, allow_redirects=False)
    assert first.status == second.status == 303
    assert first.headers["Location"].endswith("done=adjusted")
    assert second.headers["Location"].endswith("done=already_adjusted")
    assert await _count(c, PointsLedger) == 1
    assert await _count(c, AuditEntry, AuditEntry.action == "points.adjust") == 1
    shown = await (await c.client.get(first.headers["Location"])).text()
    assert "积分已调整" in shown and "+120" in shown and "线下品鉴会补发" in shown
    log = await (await c.client.get("/console/audit?q=boss")).text()
    assert "调整积分" in log and "线下品鉴会补发" in log
    # too much taken away: refused beside the field, nothing written
    new_token = TOKEN.search(shown).group(1)
    over = await c.client.post(
        f"/console/members/{member}/points",
        data={"_csrf": csrf, "delta": "-500", "reason": "误发收回", "token": new_token},
    )
    assert over.status == 409 and "余额不足" in await over.text()
    bad = await c.client.post(
        f"/console/members/{member}/points",
        data={"_csrf": csrf, "delta": "abc", "reason": "x", "token": new_token},
    )
    assert bad.status == 400 and "请输入整数积分" in await bad.text()
    assert await _count(c, PointsLedger) == 1
    assert await _count(c, AuditEntry, AuditEntry.action == "points.adjust") == 1


async def _tree(c) -> None:  # type: ignore[no-untyped-def]
    specs = [
        org.NodeSpec("region", 1, "SW", "西南营销中心", "/r1/", None),
        org.NodeSpec("region", 2, "EC", "华东营销中心", "/r2/", None),
        org.NodeSpec("distributor", 11, "D-CD-01", "成都经销商", "/r1/d11/", ("region", 1)),
    ]
    async with session_scope(c.services.sessions) as session:
        await org.apply_tree(session, c.tenant_id, specs, now=c.clock())


async def test_a_member_of_another_region_is_a_404_and_not_in_the_list(console_app):
    c = await console_app()
    await _tree(c)
    await c.operator("sw", "region_manager", "region", 1)
    ours = await c.member("sw-member-openid-0000001", phone="13900000001")
    theirs = await c.member("ec-member-openid-0000001", phone="13900000002")
    async with session_scope(c.services.sessions) as session:
        for member_id, region in ((ours, "SW"), (theirs, "EC")):
            await session.execute(
                Member.__table__.update()
                .where(Member.id == member_id)
                .values(region_code=region, role="distributor_staff")
            )
    assert (await c.login("sw")).status == 303
    listing = await (await c.client.get("/console/members")).text()
    assert f"#{ours}" in listing and f"#{theirs}" not in listing
    assert (await c.client.get(f"/console/members/{ours}")).status == 200
    other = await c.client.get(f"/console/members/{theirs}")
    assert other.status == 404 and "不在您的管辖范围" in await other.text()
    csrf = re.search(r'name="_csrf" value="([^"]+)"', listing).group(1)
    post = await c.client.post(
        f"/console/members/{theirs}/points",
        data={"_csrf": csrf, "delta": "10", "reason": "越权尝试", "token": "t" * 22},
    )
    assert post.status == 404 and await _count(c, PointsLedger) == 0
    assert (await c.client.get("/console/members/99999999")).status == 404


async def test_nobody_grants_wider_than_himself(console_app):
    c = await console_app()
    await _tree(c)
    await c.operator("sw", "region_manager", "region", 1)
    assert (await c.login("sw")).status == 303
    page = await (await c.client.get("/console/operators")).text()
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
    assert 'value="hq_admin"' not in page  # not offered
    for role, scope in (
        ("hq_admin", "tenant"),
        ("region_operator", "region:2"),
        ("region_manager", "region:1"),
    ):
        resp = await c.client.post(
            "/console/operators",
            data={
                "_csrf": csrf,
                "username": f"x-{role}",
                "password": "Another-pass-1",
                "role": role,
                "scope": scope,
            },
        )
        assert resp.status in (400, 403), (role, scope, resp.status)
    assert await _count(c, Operator) == 1
    made = await c.client.post(
        "/console/operators",
        data={
            "_csrf": csrf,
            "username": "cd",
            "password": "Another-pass-1",
            "role": "distributor",
            "scope": "distributor:11",
        },
        allow_redirects=False,
    )
    assert made.status == 303
    assert await _count(c, Operator) == 2
    assert await _count(c, AuditEntry, AuditEntry.action == "operator.create") == 1


async def test_a_disabled_operator_loses_his_session_at_once(console_app):
    c = await console_app()
    await c.operator("boss")
    target = await c.operator("ops", "hq_operator")
    assert (await c.login("ops")).status == 303
    ops_cookie = c.client.session.cookie_jar.filter_cookies(c.client.make_url("/console/"))[COOKIE].value
    c.client.session.cookie_jar.clear()
    assert (await c.login("boss")).status == 303
    page = await (await c.client.get("/console/operators")).text()
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
    done = await c.client.post(
        f"/console/operators/{target.id}/status",
        data={"_csrf": csrf, "action": "disable", "version": str(target.version)},
        allow_redirects=False,
    )
    assert done.status == 303
    stale = await c.client.post(
        f"/console/operators/{target.id}/status",
        data={"_csrf": csrf, "action": "enable", "version": str(target.version)},
    )
    assert stale.status == 409 and "已被他人修改" in await stale.text()
    c.client.session.cookie_jar.clear()
    c.client.session.cookie_jar.update_cookies({COOKIE: ops_cookie}, c.client.make_url("/console/"))
    gone = await c.client.get("/console/", allow_redirects=False)
    assert gone.status == 303 and "/console/login" in gone.headers["Location"]


async def test_the_cookie_is_secure_behind_an_https_base_url(console_app):
    c = await console_app(public_base_url="https://jb.example.cn")
    page = await c.client.get("/console/login")
    assert "Secure" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]
