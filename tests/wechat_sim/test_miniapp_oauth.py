"""Mini-program login, phone numbers, mini-program codes; web OAuth and the JS-SDK ticket."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.wechat_sim.conftest import MP, MP_SECRET, OA, OA_SECRET, errcode
from wechat_sim.crypto import jsapi_signature

PNG = b"\x89PNG\r\n\x1a\n"


async def jscode(wx, code, **extra):
    return await wx.get(
        "/sns/jscode2session",
        appid=MP,
        secret=MP_SECRET,
        js_code=code,
        grant_type="authorization_code",
        **extra,
    )


async def test_login_codes_are_single_use(wx, sim):
    person = sim.add_person()
    code = sim.wx_login(person.id, MP)
    first = await jscode(wx, code, access_token="ignored")  # wechatpy adds one: accepted and ignored
    assert first["openid"] == sim.openid(person.id, MP) and first["session_key"] and first["unionid"]
    assert "errcode" not in first
    assert errcode(await jscode(wx, code)) == 40029


async def test_login_codes_expire_after_5_minutes(wx, sim, clock):
    person = sim.add_person()
    code = sim.wx_login(person.id, MP)
    clock.advance(300)
    assert errcode(await jscode(wx, code)) == 40029


async def test_unknown_codes_wrong_secrets_and_oa_appids(wx, sim):
    person = sim.add_person()
    assert errcode(await jscode(wx, "0" * 32)) == 40029
    bad = await wx.get("/sns/jscode2session", appid=MP, secret="wrong", js_code=sim.wx_login(person.id, MP))
    assert bad["errcode"] == 40125
    code = sim.wx_login(person.id, OA)
    oa = await wx.get("/sns/jscode2session", appid=OA, secret=OA_SECRET, js_code=code)
    assert oa["errcode"] == 40013


async def test_the_reuse_errcode_is_configurable(wx, sim):
    sim.limits.jscode_reused_errcode = 40163
    code = sim.wx_login(sim.add_person().id, MP)
    await jscode(wx, code)
    assert errcode(await jscode(wx, code)) == 40163


async def test_phone_number_codes(wx, sim):
    person = sim.add_person(phone="13912345678")
    code = sim.phone_code(person.id, MP)
    got = await wx.post("/wxa/business/getuserphonenumber", {"code": code}, appid=MP)
    assert got["phone_info"]["purePhoneNumber"] == "13912345678"
    assert got["phone_info"]["countryCode"] == "86" and got["phone_info"]["watermark"]["appid"] == MP
    assert errcode(await wx.post("/wxa/business/getuserphonenumber", {"code": code}, appid=MP)) == 40029
    other = sim.phone_code(person.id, MP)
    assert errcode(await wx.post("/wxa/business/getuserphonenumber", {"code": other}, appid=OA)) == 40013


async def test_getwxacodeunlimit_returns_a_png_and_checks_its_arguments(wx, sim):
    png = await wx.post(
        "/wxa/getwxacodeunlimit", {"scene": "s=AB12&c=9", "page": "pages/scan/index"}, appid=MP
    )
    assert isinstance(png, bytes) and png.startswith(PNG)
    [record] = sim.store.wxacodes.values()
    assert (record.scene, record.page) == ("s=AB12&c=9", "pages/scan/index")
    for body, code in [
        ({"scene": "x" * 33}, 40169),
        ({"scene": "瓶盖"}, 40129),
        ({"scene": "a%20b"}, 40129),
        ({"scene": "ok", "page": "/pages/index"}, 41030),
        ({"scene": "ok", "env_version": "beta"}, 40097),
    ]:
        assert errcode(await wx.post("/wxa/getwxacodeunlimit", body, appid=MP)) == code
    assert errcode(await wx.post("/wxa/getwxacodeunlimit", {"scene": "ok"}, appid=OA)) == 48001


# web OAuth -----------------------------------------------------------------------------------------
async def authorize(wx, scope="snsapi_userinfo", cookie=None, **extra):
    params = {
        "appid": OA,
        "redirect_uri": "https://brand.example.com/h5/member?from=menu",
        "response_type": "code",
        "scope": scope,
        "state": "xyz",
        **extra,
    }
    cookies = {"wxsim_person": cookie} if cookie else None
    return await wx.client.get(
        "/connect/oauth2/authorize", params=params, allow_redirects=False, cookies=cookies
    )


async def test_oauth_approves_for_the_person_inside_wechat_and_the_code_is_single_use(wx, sim):
    person = sim.add_person("钱七")
    resp = await authorize(wx, cookie=person.id)
    assert resp.status == 302
    target = urlsplit(resp.headers["Location"])
    assert (target.netloc, target.path) == ("brand.example.com", "/h5/member")
    query = parse_qs(target.query)
    assert query["from"] == ["menu"] and query["state"] == ["xyz"]
    code = query["code"][0]
    token = await wx.get(
        "/sns/oauth2/access_token", appid=OA, secret=OA_SECRET, code=code, grant_type="authorization_code"
    )
    assert token["openid"] == sim.openid(person.id, OA) and token["scope"] == "snsapi_userinfo"
    assert token["unionid"] == sim.unionid(person.id, "brand")
    again = await wx.get(
        "/sns/oauth2/access_token", appid=OA, secret=OA_SECRET, code=code, grant_type="authorization_code"
    )
    assert again["errcode"] == 40163
    info = await wx.get("/sns/userinfo", access_token=token["access_token"], openid=token["openid"])
    assert info["nickname"] == "钱七" and info["unionid"] == token["unionid"]
    refreshed = await wx.get(
        "/sns/oauth2/refresh_token",
        appid=OA,
        grant_type="refresh_token",
        refresh_token=token["refresh_token"],
    )
    assert refreshed["access_token"] != token["access_token"]
    assert (
        errcode(await wx.get("/sns/auth", access_token=refreshed["access_token"], openid=token["openid"]))
        == 0
    )


async def test_snsapi_base_is_silent_and_gives_no_userinfo(wx, sim, clock):
    person = sim.add_person()
    resp = await authorize(wx, scope="snsapi_base", sim_person=person.id)
    code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    token = await wx.get(
        "/sns/oauth2/access_token", appid=OA, secret=OA_SECRET, code=code, grant_type="authorization_code"
    )
    assert "unionid" not in token
    assert (
        errcode(await wx.get("/sns/userinfo", access_token=token["access_token"], openid=token["openid"]))
        == 48001
    )
    clock.advance(301)
    resp = await authorize(wx, scope="snsapi_base", sim_person=person.id)
    code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    clock.advance(301)
    late = await wx.get(
        "/sns/oauth2/access_token", appid=OA, secret=OA_SECRET, code=code, grant_type="authorization_code"
    )
    assert late["errcode"] == 42003


async def test_without_a_person_the_authorize_page_lets_you_pick_one(wx, sim):
    sim.add_person("孙八")
    resp = await authorize(wx)
    assert resp.status == 200
    html = await resp.text()
    assert "孙八" in html and "sim_person=u1" in html


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"scope": "snsapi_login"}, "10005"),
        ({"redirect_uri": "ftp://x"}, "10003"),
        ({"appid": "wxnope"}, "10016"),
    ],
)
async def test_authorize_page_errors(wx, sim, extra, code):
    person = sim.add_person()
    resp = await authorize(wx, sim_person=person.id, **extra)
    assert resp.status == 400 and code in await resp.text()


async def test_oauth_domains_are_enforced_when_configured(wx, sim):
    sim.update_app(OA, oauth_domains=["h5.brand.example.com"])
    person = sim.add_person()
    resp = await authorize(wx, sim_person=person.id)
    assert resp.status == 400 and "10003" in await resp.text()


async def test_the_webview_sets_who_is_inside_wechat(wx, sim):
    person = sim.add_person()
    resp = await wx.client.get(
        "/_sim/webview",
        params={"person": person.id, "url": "https://brand.example.com/c/AB12"},
        allow_redirects=False,
    )
    assert resp.status == 302 and resp.headers["Location"] == "https://brand.example.com/c/AB12"
    assert resp.cookies["wxsim_person"].value == person.id


async def test_jsapi_ticket_is_stable_until_expiry(wx, sim, clock):
    one = await wx.call("/cgi-bin/ticket/getticket", type="jsapi")
    two = await wx.call("/cgi-bin/ticket/getticket", type="jsapi")
    assert one["ticket"] == two["ticket"] and one["errcode"] == 0 and two["expires_in"] == 7200
    url = "https://brand.example.com/h5/share?id=1#top"
    signature = jsapi_signature(one["ticket"], "abc", 1750000000, url.split("#")[0])
    assert sim.check_jsapi_signature(OA, url, "abc", 1750000000, signature)
    assert not sim.check_jsapi_signature(OA, url, "abd", 1750000000, signature)
    clock.advance(7200)
    assert (await wx.call("/cgi-bin/ticket/getticket", type="jsapi"))["ticket"] != one["ticket"]


def test_jsapi_signature_matches_the_verified_vector():
    ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    signature = jsapi_signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com")
    assert signature == "f4d90daf4b3bca3078ab155816175ba34c443a7b"
