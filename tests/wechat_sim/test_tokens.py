"""Token server semantics (WECHAT_PROTOCOL.md section 4) and the API envelope rules."""

from __future__ import annotations

import pytest

from tests.wechat_sim.conftest import MP, MP_SECRET, OA, OA_SECRET, RID, errcode


async def stable(wx, force=False, appid=OA, secret=OA_SECRET):
    resp = await wx.client.post(
        "/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force},
    )
    return await resp.json()


async def menu_get(wx, token):
    return await wx.get("/cgi-bin/menu/get", access_token=token)


async def test_each_token_call_issues_a_new_token_and_the_previous_keeps_working_300s(wx, clock):
    first = await wx.token()
    second = await wx.token()
    assert first != second
    assert errcode(await menu_get(wx, first)) == 46003  # valid token (no menu yet), not 40001
    clock.advance(299)
    assert errcode(await menu_get(wx, first)) == 46003
    clock.advance(2)
    assert errcode(await menu_get(wx, first)) == 40001
    assert errcode(await menu_get(wx, second)) == 46003


async def test_only_the_latest_and_its_predecessor_are_valid(wx):
    first, second, third = await wx.token(), await wx.token(), await wx.token()
    assert errcode(await menu_get(wx, first)) == 40001
    assert errcode(await menu_get(wx, second)) == 46003
    assert errcode(await menu_get(wx, third)) == 46003


async def test_token_expiry_is_42001_and_unknown_or_missing_tokens_are_40001_and_41001(wx, clock):
    token = await wx.token()
    clock.advance(7200)
    assert errcode(await menu_get(wx, token)) == 42001
    assert errcode(await menu_get(wx, "not-a-token")) == 40001
    assert errcode(await wx.get("/cgi-bin/menu/get")) == 41001


async def test_the_grace_period_is_configurable(wx, clock):
    wx.sim.limits.token_grace = 10
    first = await wx.token()
    await wx.token()
    clock.advance(11)
    assert errcode(await menu_get(wx, first)) == 40001


async def test_errors_carry_a_rid_and_success_has_no_errcode(wx):
    bad = await wx.get("/cgi-bin/token", grant_type="client_credential", appid=OA, secret="wrong")
    assert bad["errcode"] == 40125 and RID.search(bad["errmsg"])
    good = await wx.get("/cgi-bin/token", grant_type="client_credential", appid=OA, secret=OA_SECRET)
    assert "errcode" not in good and good["expires_in"] == 7200 and len(good["access_token"]) > 100
    unknown = await wx.get("/cgi-bin/token", grant_type="client_credential", appid="wxnope", secret="x")
    assert unknown["errcode"] == 40013
    grant = await wx.get("/cgi-bin/token", grant_type="password", appid=OA, secret=OA_SECRET)
    assert grant["errcode"] == 40002


async def test_stable_token_is_the_same_until_renewal(wx, clock):
    one = await stable(wx)
    clock.advance(3600)
    two = await stable(wx)
    assert one["access_token"] == two["access_token"]
    assert two["expires_in"] == 3600
    clock.advance(3400)  # 200 s left: inside the last 5 minutes a new token is handed out
    three = await stable(wx)
    assert three["access_token"] != one["access_token"] and three["expires_in"] == 7200
    assert errcode(await menu_get(wx, one["access_token"])) == 46003  # the old one lives to its expiry
    clock.advance(200)
    assert errcode(await menu_get(wx, one["access_token"])) == 42001


async def test_force_refresh_kills_the_previous_stable_token_at_once(wx, clock):
    one = await stable(wx)
    two = await stable(wx, force=True)
    assert two["access_token"] != one["access_token"]
    assert errcode(await menu_get(wx, one["access_token"])) == 40001
    assert errcode(await menu_get(wx, two["access_token"])) == 46003


async def test_force_refresh_is_limited_to_20_a_day_30s_apart(wx, clock):
    await stable(wx, force=True)
    assert errcode(await stable(wx, force=True)) == 45011
    for _ in range(19):
        clock.advance(30)
        assert "access_token" in await stable(wx, force=True)
    clock.advance(30)
    assert errcode(await stable(wx, force=True)) == 45009
    clock.advance(86400)
    assert "access_token" in await stable(wx, force=True)


async def test_stable_token_and_cgi_bin_token_are_isolated(wx):
    plain = await wx.token()
    s1 = (await stable(wx))["access_token"]
    await stable(wx, force=True)  # kills s1 only
    await wx.token()
    await wx.token()  # kills `plain` (two generations later) only
    assert errcode(await menu_get(wx, plain)) == 40001
    assert errcode(await menu_get(wx, s1)) == 40001
    s2 = (await stable(wx))["access_token"]
    await wx.token()
    assert errcode(await menu_get(wx, s2)) == 46003


async def test_stable_token_requires_post_json(wx):
    resp = await wx.client.get("/cgi-bin/stable_token", params={"appid": OA})
    assert (await resp.json())["errcode"] == 43002


async def test_daily_token_quota_is_45009_and_resets_at_beijing_midnight(wx, clock):
    wx.sim.limits.daily_quotas["cgi-bin/token"] = 3
    for _ in range(3):
        await wx.token()
    over = await wx.get("/cgi-bin/token", grant_type="client_credential", appid=OA, secret=OA_SECRET)
    assert over["errcode"] == 45009 and "getStableAccessToken" in over["errmsg"]
    # the other app has its own quota
    assert "access_token" in await wx.get(
        "/cgi-bin/token", grant_type="client_credential", appid=MP, secret=MP_SECRET
    )
    clock.advance(86400)
    await wx.token()


async def test_an_ip_allowlist_refuses_other_addresses(wx):
    wx.sim.update_app(OA, ip_allowlist=["10.9.9.9"])
    data = await wx.get("/cgi-bin/token", grant_type="client_credential", appid=OA, secret=OA_SECRET)
    assert data["errcode"] == 40164 and "127.0.0.1" in data["errmsg"]
    wx.sim.update_app(OA, ip_allowlist=["127.0.0.1"])
    await wx.token()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"touser":"x","msgtype":"text","text":{"content":"\\u4f60\\u597d"}}', 40033),
        ("{}".encode("utf-16"), 40033),
        (b"", 44002),
        (b"{not json", 47001),
    ],
)
async def test_json_bodies_must_be_utf8_without_unicode_escapes(wx, body, code):
    assert errcode(await wx.post("/cgi-bin/message/custom/send", body)) == code


async def test_an_escaped_backslash_before_u_is_not_an_escape(wx):
    body = '{"touser":"nobody","msgtype":"text","text":{"content":"C:\\\\users 你好"}}'.encode()
    assert errcode(await wx.post("/cgi-bin/message/custom/send", body)) == 40003


async def test_invalidated_tokens_answer_40001_and_a_new_fetch_works(wx):
    token = await wx.token()
    assert wx.sim.invalidate_tokens(OA) == 1
    assert errcode(await menu_get(wx, token)) == 40001
    assert errcode(await menu_get(wx, await wx.token())) == 46003


async def test_injected_errors_for_the_next_n_calls_and_at_a_rate(wx):
    token = await wx.token()
    wx.sim.inject(OA, fail_next=2, apis=["cgi-bin/menu"])
    assert [errcode(await menu_get(wx, token)) for _ in range(3)] == [-1, -1, 46003]
    assert "access_token" in await wx.get(
        "/cgi-bin/token", grant_type="client_credential", appid=OA, secret=OA_SECRET
    )
    wx.sim.faults.clear()
    wx.sim.inject("*", error_rate=1.0)
    assert errcode(await menu_get(wx, token)) == -1
    bad = await wx.get("/cgi-bin/token", grant_type="client_credential", appid=MP, secret=MP_SECRET)
    assert bad["errcode"] == -1 and RID.search(bad["errmsg"])
    wx.sim.inject("*", error_rate=0.0)
    assert errcode(await menu_get(wx, token)) == 46003


async def test_injected_latency_delays_answers(wx):
    import time

    token = await wx.token()
    wx.sim.inject(OA, latency=0.3)
    started = time.monotonic()
    await menu_get(wx, token)
    assert time.monotonic() - started >= 0.3


async def test_token_fetches_are_counted_per_app(wx):
    await wx.token()
    await stable(wx)
    await wx.get("/cgi-bin/token", grant_type="client_credential", appid=OA, secret="bad")
    assert wx.sim.token_fetches(OA) == 2
    assert wx.sim.token_fetches(MP) == 0
