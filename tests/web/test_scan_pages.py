"""``GET /c/<code>``: outside WeChat a hint, inside WeChat OAuth (through the simulator), the age
gate, then the result; repeat scans warn; invalid codes are refused without OAuth or SQL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.conftest import OA_APPID
from tests.web.member_app import WECHAT_UA
from wechat_sim.app import create_sim_app
from wechat_sim.config import SimConfig
from wechat_sim.model import App

OA_SECRET = "oa-secret-for-sim"


@pytest.fixture
async def sim_server():
    server = TestServer(
        create_sim_app(SimConfig(apps=[App(OA_APPID, OA_SECRET, name="黔酒服务号", group="brand")]))
    )
    await server.start_server()
    yield server
    await server.close()


async def test_outside_wechat_the_page_says_scan_with_wechat(member_app):
    m = await member_app()
    batch = await m.batch()
    resp = await m.client.get(f"/c/{m.code(batch.id, 1)}", headers={"User-Agent": "Mozilla/5.0 Chrome/120"})
    html = await resp.text()
    assert resp.status == 200 and "请用微信扫一扫" in html and "积分" in html
    assert "正品验证通过" not in html


async def test_oauth_through_the_simulator_age_gate_then_points(member_app, sim_server):
    sim_url = str(sim_server.make_url("")).rstrip("/")
    m = await member_app(
        wechat_api_base=sim_url,
        oa_secret=OA_SECRET,
        env={"JIUBOT_OAUTH_AUTHORIZE_URL": f"{sim_url}/connect/oauth2/authorize"},
    )
    batch = await m.batch()
    code = m.code(batch.id, 3)
    ua = {"User-Agent": WECHAT_UA}
    first = await m.client.get(f"/c/{code}", headers=ua, allow_redirects=False)
    assert first.status == 302
    authorize = first.headers["Location"]
    assert authorize.startswith(f"{sim_url}/connect/oauth2/authorize?") and authorize.endswith(
        "#wechat_redirect"
    )
    assert parse_qs(urlsplit(authorize).query)["scope"] == ["snsapi_base"]
    from wechat_sim.keys import SIM_STATE

    person = sim_server.app[SIM_STATE].add_person("王先生")
    async with aiohttp.ClientSession() as browser:  # WeChat's in-app browser visiting the authorize page
        resp = await browser.get(authorize.split("#")[0] + f"&sim_person={person.id}", allow_redirects=False)
        assert resp.status == 302
        back = urlsplit(resp.headers["Location"])
    assert back.path == "/h5/oauth"
    landed = await m.client.get(f"{back.path}?{back.query}", headers=ua, allow_redirects=False)
    assert landed.status == 302 and landed.headers["Location"] == f"/c/{code}"
    gate = await m.client.get(f"/c/{code}", headers=ua)
    html = await gate.text()
    assert "年满18周岁" in html
    token = html.split('name="token" value="')[1].split('"')[0]
    confirmed = await m.client.post(
        f"/c/{code}/age", data={"token": token}, headers=ua, allow_redirects=False
    )
    assert confirmed.status == 303
    page = await (await m.client.get(f"/c/{code}", headers=ua)).text()
    assert "正品验证通过" in page and "+10" in page and "黔酒·酱香典藏 53度 500ml" in page
    again = await (await m.client.get(f"/c/{code}", headers=ua)).text()
    assert "您已于" in again and "+10" not in again
    # the OAuth code was single-use: replaying the callback fails
    replay = await m.client.get(f"{back.path}?{back.query}", headers=ua, allow_redirects=False)
    assert replay.status == 400


async def test_someone_else_sees_when_and_where_and_a_counterfeit_warning(member_app):
    m = await member_app()
    batch = await m.batch()
    code = m.code(batch.id, 9)
    first, second = await m.member("oa-first"), await m.member("oa-second")
    ua = {"User-Agent": WECHAT_UA}
    await m.client.get(f"/c/{code}", headers=ua, cookies=m.cookie(first))
    page = await (await m.client.get(f"/c/{code}", headers=ua, cookies=m.cookie(second))).text()
    assert "此码已于" in page and "假冒或回收灌装" in page and "累计被扫次数" in page


async def test_invalid_codes_are_refused_without_login_or_sql(member_app):
    m = await member_app()
    batch = await m.batch()
    good = m.code(batch.id, 1)
    await m.runtime.configs.get(m.tenant_id)
    from sqlalchemy import event

    from bot.keys import ENGINE

    statements: list[str] = []
    engine = m.app[ENGINE].sync_engine
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for text in (good[:-1], good[:-1] + ("0" if good[-1] != "0" else "1"), "not-a-code-at-all-xxxxxx"):
            resp = await m.client.get(f"/c/{text}", headers={"User-Agent": WECHAT_UA}, allow_redirects=False)
            assert resp.status == 404
            assert "防伪码" in await resp.text()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert statements == []


async def test_share_link_binds_a_new_member_and_the_first_scan_rewards_both(member_app):
    m = await member_app()
    batch = await m.batch()
    inviter, invitee = await m.member("oa-inviter"), await m.member("oa-invitee")
    link = (await (await m.client.get("/mp/api/referral", headers=m.bearer(inviter))).json())["link"]
    path = "/" + link.split("/", 3)[3]
    ua = {"User-Agent": WECHAT_UA}
    welcome = await (await m.client.get(path, headers=ua, cookies=m.cookie(invitee))).text()
    assert "您和好友都会获得积分奖励" in welcome
    self_visit = await (await m.client.get(path, headers=ua, cookies=m.cookie(inviter))).text()
    assert "您和好友都会获得积分奖励" not in self_visit
    page = await (
        await m.client.get(f"/c/{m.code(batch.id, 1)}", headers=ua, cookies=m.cookie(invitee))
    ).text()
    assert "另获好友推荐奖励 20 分" in page
    points = await (await m.client.get("/mp/api/points", headers=m.bearer(inviter))).json()
    assert points["consumption"] == 50
    tampered = await m.client.get(path[:-1] + ("A" if path[-1] != "A" else "B"), headers=ua)
    assert tampered.status == 404


async def test_the_simulated_wechat_browser_cookie_counts_only_where_configured(member_app):
    """The demo's in-phone browser marks itself with a cookie; production (no setting) ignores it."""
    plain = await member_app()
    batch = await plain.batch()
    code = plain.code(batch.id, 5)
    cookie = {"User-Agent": "Mozilla/5.0 Chrome/120", "Cookie": "wxsim_person=consumer-li"}
    resp = await plain.client.get(f"/c/{code}", headers=cookie, allow_redirects=False)
    assert resp.status == 200 and "请用微信扫一扫" in await resp.text()

    demo = await member_app(env={"JIUBOT_WECHAT_BROWSER_COOKIE": "wxsim_person"})
    batch = await demo.batch()
    code = demo.code(batch.id, 5)
    resp = await demo.client.get(f"/c/{code}", headers=cookie, allow_redirects=False)
    assert resp.status == 302 and "/connect/oauth2/authorize?" in resp.headers["Location"]  # inside WeChat
    resp = await demo.client.get(f"/c/{code}", headers={"User-Agent": "Mozilla/5.0"}, allow_redirects=False)
    assert resp.status == 200 and "请用微信扫一扫" in await resp.text()  # no cookie: still outside


async def test_a_store_coupon_qr_outside_wechat_is_not_called_a_bottle_code(member_app):
    from bot.membership.coupons import store_claim_path

    m = await member_app()
    path = store_claim_path(m.runtime.referral_secret, m.tenant_id, "7", "S0001")
    resp = await m.client.get(path, headers={"User-Agent": "Mozilla/5.0 Chrome/120"})
    html = await resp.text()
    assert resp.status == 200 and "门店的领券二维码" in html and "瓶盖防伪码" not in html
