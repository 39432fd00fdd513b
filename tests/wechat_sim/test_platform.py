"""QR codes, menus, users with unionids, and tags (sections 7-9, 12)."""

from __future__ import annotations

import urllib.parse

import pytest

from tests.wechat_sim.conftest import MP, OA, errcode
from tests.wechat_sim.responder import Responder
from wechat_sim.model import App
from wechat_sim.simulator import SimError

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def responder(aiohttp_server, sim):
    responder = Responder(OA, "plainToken1")
    server = await aiohttp_server(responder.app())
    sim.update_app(OA, token="plainToken1", callback_url=str(server.make_url("/cb")))
    return responder


def qr(action, scene, **extra):
    key = "scene_str" if "STR" in action else "scene_id"
    return {"action_name": action, "action_info": {"scene": {key: scene}}, **extra}


async def test_temporary_codes_expire_and_default_to_60_seconds(wx, sim, clock):
    made = await wx.post("/cgi-bin/qrcode/create", qr("QR_STR_SCENE", "store:88"))
    assert made["expire_seconds"] == 60 and made["url"].startswith("http://weixin.qq.com/q/")
    longer = await wx.post("/cgi-bin/qrcode/create", qr("QR_SCENE", 7, expire_seconds=9_999_999))
    assert longer["expire_seconds"] == 2_592_000
    image = await wx.client.get("/cgi-bin/showqrcode", params={"ticket": made["ticket"]})
    assert image.status == 200 and (await image.read()).startswith(PNG)
    clock.advance(60)
    gone = await wx.client.get("/cgi-bin/showqrcode", params={"ticket": made["ticket"]})
    assert gone.status == 404


async def test_tickets_need_url_encoding_as_on_wechat(wx):
    made = await wx.post("/cgi-bin/qrcode/create", qr("QR_LIMIT_SCENE", 1))
    url = "/cgi-bin/showqrcode?ticket=" + urllib.parse.quote(made["ticket"], safe="")
    assert (await wx.client.get(url)).status == 200


async def test_permanent_codes_are_capped_and_reuse_their_scene(wx, sim):
    sim.limits.qr_permanent_cap = 2
    one = await wx.post("/cgi-bin/qrcode/create", qr("QR_LIMIT_SCENE", 1))
    again = await wx.post("/cgi-bin/qrcode/create", qr("QR_LIMIT_SCENE", 1))
    assert one["ticket"] == again["ticket"] and "expire_seconds" not in one
    await wx.post("/cgi-bin/qrcode/create", qr("QR_LIMIT_STR_SCENE", "dist:7"))
    assert errcode(await wx.post("/cgi-bin/qrcode/create", qr("QR_LIMIT_SCENE", 3))) == 40053
    assert errcode(await wx.post("/cgi-bin/qrcode/create", qr("QR_SCENE", 3))) == 0  # temporary: no cap


@pytest.mark.parametrize(
    "body",
    [
        qr("QR_LIMIT_SCENE", 100_001),
        qr("QR_SCENE", 0),
        qr("QR_STR_SCENE", ""),
        qr("QR_STR_SCENE", "x" * 65),
        qr("QR_WHATEVER", 1),
    ],
)
async def test_invalid_action_info_is_40053(wx, body):
    assert errcode(await wx.post("/cgi-bin/qrcode/create", body)) == 40053


async def test_scanning_follows_with_qrscene_then_sends_scan(wx, sim, responder):
    made = await wx.post("/cgi-bin/qrcode/create", qr("QR_STR_SCENE", "store:88", expire_seconds=600))
    person = sim.add_person("张三")
    await sim.scan(person.id, made["url"])
    await sim.scan(person.id, made["ticket"])
    first, second = (r.fields for r in responder.received)
    assert (first["Event"], first["EventKey"], first["Ticket"]) == (
        "subscribe",
        "qrscene_store:88",
        made["ticket"],
    )
    assert (second["Event"], second["EventKey"], second["Ticket"]) == ("SCAN", "store:88", made["ticket"])
    info = await wx.call("/cgi-bin/user/info", openid=sim.openid(person.id, OA))
    assert info["subscribe_scene"] == "ADD_SCENE_QR_CODE" and info["qr_scene_str"] == "store:88"


async def test_a_typed_scene_and_an_expired_code(wx, sim, clock, responder):
    person = sim.add_person()
    await sim.follow(person.id, OA, scene="1234")
    assert responder.received[0].fields["EventKey"] == "qrscene_1234"
    assert responder.received[0].fields["Ticket"]
    made = await wx.post("/cgi-bin/qrcode/create", qr("QR_SCENE", 5))
    clock.advance(61)
    with pytest.raises(SimError) as exc:
        await sim.scan(person.id, made["ticket"])
    assert exc.value.code == "qr_expired"


async def test_a_plain_follow_has_an_empty_event_key(sim, responder):
    person = sim.add_person()
    await sim.follow(person.id, OA)
    fields = responder.received[0].fields
    assert fields["Event"] == "subscribe" and fields["EventKey"] is None and "Ticket" not in fields


# menus ---------------------------------------------------------------------------------------
MENU = {
    "button": [
        {"type": "click", "name": "再来一单", "key": "REORDER"},
        {
            "name": "扫码",
            "sub_button": [
                {"type": "scancode_waitmsg", "name": "扫瓶盖码", "key": "SCAN_CAP"},
                {"type": "view", "name": "会员中心", "url": "https://brand.example.com/member"},
            ],
        },
    ]
}


async def test_menus_are_created_read_and_deleted(wx):
    assert errcode(await wx.call("/cgi-bin/menu/get")) == 46003
    assert errcode(await wx.post("/cgi-bin/menu/create", MENU)) == 0
    got = await wx.call("/cgi-bin/menu/get")
    assert got["menu"]["button"] == MENU["button"]
    assert errcode(await wx.call("/cgi-bin/menu/delete")) == 0
    assert errcode(await wx.call("/cgi-bin/menu/get")) == 46003


@pytest.mark.parametrize(
    ("buttons", "code"),
    [
        ([], 40016),
        ([{"type": "click", "name": "a", "key": "k"}] * 4, 40016),
        ([{"type": "click", "name": "一二三四五六", "key": "k"}], 40018),  # 18 bytes > 16
        ([{"type": "tap", "name": "a", "key": "k"}], 40015),
        ([{"type": "click", "name": "a"}], 40019),
        ([{"type": "view", "name": "a"}], 40020),
        ([{"name": "a", "sub_button": [{"type": "click", "name": "b", "key": "k"}] * 6}], 40023),
        ([{"name": "a", "sub_button": [{"type": "bad", "name": "b", "key": "k"}]}], 40024),
    ],
)
async def test_invalid_menus_are_refused(wx, buttons, code):
    assert errcode(await wx.post("/cgi-bin/menu/create", {"button": buttons})) == code


async def test_tapping_menu_buttons_sends_the_matching_events(wx, sim, responder):
    await wx.post("/cgi-bin/menu/create", MENU)
    person = sim.add_person()
    await sim.follow(person.id, OA)
    await sim.tap_menu(person.id, OA, "0")
    await sim.tap_menu(person.id, OA, "1.0", scan_result="https://brand.example.com/c/AB12CD")
    await sim.tap_menu(person.id, OA, "1.1")
    click, scan, view = (r.fields for r in responder.received[1:])
    assert (click["Event"], click["EventKey"]) == ("CLICK", "REORDER")
    assert scan["Event"] == "scancode_waitmsg" and scan["EventKey"] == "SCAN_CAP"
    assert scan["ScanCodeInfo"] == {"ScanType": "qrcode", "ScanResult": "https://brand.example.com/c/AB12CD"}
    assert (view["Event"], view["EventKey"]) == ("VIEW", "https://brand.example.com/member")
    with pytest.raises(SimError):
        await sim.tap_menu(person.id, OA, "1")  # a parent button only opens its sub-menu


async def test_conditional_menus_follow_the_users_tags(wx, sim):
    assert (
        errcode(await wx.post("/cgi-bin/menu/addconditional", {**MENU, "matchrule": {"tag_id": "100"}}))
        == 65303
    )
    await wx.post("/cgi-bin/menu/create", MENU)
    tag = (await wx.post("/cgi-bin/tags/create", {"tag": {"name": "门店老板"}}))["tag"]
    owner_menu = {
        "button": [{"type": "click", "name": "订货", "key": "ORDER"}],
        "matchrule": {"tag_id": str(tag["id"])},
    }
    made = await wx.post("/cgi-bin/menu/addconditional", owner_menu)
    bad = {**owner_menu, "matchrule": {"sex": "1"}}
    assert errcode(await wx.post("/cgi-bin/menu/addconditional", bad)) == 65320
    owner, consumer = sim.add_person(role="store_owner"), sim.add_person()
    for p in (owner, consumer):
        await sim.follow(p.id, OA)
    await wx.post(
        "/cgi-bin/tags/members/batchtagging", {"openid_list": [sim.openid(owner.id, OA)], "tagid": tag["id"]}
    )
    assert sim.menu_for(sim.member(owner.id, OA))["menuid"] == made["menuid"]
    assert sim.menu_for(sim.member(consumer.id, OA))["button"] == MENU["button"]
    tried = await wx.post("/cgi-bin/menu/trymatch", {"user_id": sim.openid(owner.id, OA)})
    assert tried["button"] == owner_menu["button"]
    assert len((await wx.call("/cgi-bin/menu/get"))["conditionalmenu"]) == 1


# users and unionids ---------------------------------------------------------------------------
async def test_openids_differ_per_app_and_unionids_are_shared_within_a_group(wx, sim):
    sim.add_app(App("wxotherbrand00001", "s3", group="other-brand"))
    person = sim.add_person("赵六")
    await sim.follow(person.id, OA)
    oa_info = await wx.call("/cgi-bin/user/info", openid=sim.openid(person.id, OA))
    code = sim.wx_login(person.id, MP)
    session = await wx.get("/sns/jscode2session", appid=MP, secret="mp-secret-1", js_code=code,
                           grant_type="authorization_code")  # fmt: skip
    assert oa_info["openid"] != session["openid"]
    assert oa_info["unionid"] == session["unionid"]
    await sim.follow(person.id, "wxotherbrand00001")
    other = await wx.call(
        "/cgi-bin/user/info", appid="wxotherbrand00001", openid=sim.openid(person.id, "wxotherbrand00001")
    )
    assert other["unionid"] != oa_info["unionid"]
    assert oa_info["subscribe"] == 1 and "nickname" not in oa_info
    assert oa_info["subscribe_time"] == int(sim.now()) and oa_info["subscribe_scene"] == "ADD_SCENE_SEARCH"


async def test_unfollowed_users_report_subscribe_0_only(wx, sim):
    person = sim.add_person()
    await sim.follow(person.id, OA)
    await sim.unfollow(person.id, OA)
    info = await wx.call("/cgi-bin/user/info", openid=sim.openid(person.id, OA))
    assert set(info) == {"subscribe", "openid", "unionid"} and info["subscribe"] == 0
    assert errcode(await wx.call("/cgi-bin/user/info", openid="o" + "z" * 27)) == 40003


async def test_batchget_and_the_follower_list(wx, sim):
    people = [sim.add_person() for _ in range(3)]
    for p in people[:2]:
        await sim.follow(p.id, OA)
    openids = [sim.openid(p.id, OA) for p in people]
    got = await wx.post("/cgi-bin/user/info/batchget", {"user_list": [{"openid": o} for o in openids]})
    assert [u["subscribe"] for u in got["user_info_list"]] == [1, 1, 0]
    assert errcode(await wx.post("/cgi-bin/user/info/batchget", {"user_list": []})) == 40032
    listed = await wx.call("/cgi-bin/user/get")
    assert listed["total"] == 2 and sorted(listed["data"]["openid"]) == sorted(openids[:2])


async def test_tags(wx, sim):
    person = sim.add_person()
    await sim.follow(person.id, OA)
    openid = sim.openid(person.id, OA)
    tag = (await wx.post("/cgi-bin/tags/create", {"tag": {"name": "经销商"}}))["tag"]
    assert tag["id"] >= 100
    assert errcode(await wx.post("/cgi-bin/tags/create", {"tag": {"name": "经销商"}})) == 45157
    assert errcode(await wx.post("/cgi-bin/tags/create", {"tag": {"name": "x" * 31}})) == 45158
    tagging = {"openid_list": [openid], "tagid": tag["id"]}
    assert errcode(await wx.post("/cgi-bin/tags/members/batchtagging", tagging)) == 0
    assert (await wx.post("/cgi-bin/tags/getidlist", {"openid": openid}))["tagid_list"] == [tag["id"]]
    assert (await wx.post("/cgi-bin/user/tag/get", {"tagid": tag["id"]}))["data"]["openid"] == [openid]
    listed = {t["name"]: t["count"] for t in (await wx.call("/cgi-bin/tags/get"))["tags"]}
    assert listed == {"星标组": 0, "经销商": 1}
    assert errcode(await wx.post("/cgi-bin/tags/update", {"tag": {"id": 2, "name": "x"}})) == 45058
    assert (
        errcode(await wx.post("/cgi-bin/tags/members/batchtagging", {"openid_list": [], "tagid": 2})) == 40032
    )
    assert errcode(await wx.post("/cgi-bin/tags/members/batchtagging", {**tagging, "tagid": 999})) == 45159
    assert errcode(await wx.post("/cgi-bin/tags/delete", {"tag": {"id": tag["id"]}})) == 0
    assert (await wx.call("/cgi-bin/user/info", openid=openid))["tagid_list"] == []


async def test_a_user_has_at_most_20_tags(wx, sim):
    sim.limits.max_tags_per_user = 2
    person = sim.add_person()
    await sim.follow(person.id, OA)
    openid = sim.openid(person.id, OA)
    codes = []
    for name in ("a", "b", "c"):
        tag = (await wx.post("/cgi-bin/tags/create", {"tag": {"name": name}}))["tag"]
        body = {"openid_list": [openid], "tagid": tag["id"]}
        codes.append(errcode(await wx.post("/cgi-bin/tags/members/batchtagging", body)))
    assert codes == [0, 0, 45059]
