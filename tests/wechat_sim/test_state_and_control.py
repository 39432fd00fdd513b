"""Persistence across restarts, mounting under a prefix, and the /_sim/ control API."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from tests.wechat_sim.conftest import MP, OA, OA_SECRET, Wx
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.clock import ManualClock
from wechat_sim.config import SimConfig, parse_app
from wechat_sim.model import App


def config(tmp_path, clock=None):
    return SimConfig(
        apps=[App(OA, OA_SECRET, group="brand"), App(MP, "mp-secret-1", kind="mp", group="brand")],
        state_path=tmp_path / "sim.json",
        clock=clock or ManualClock(1_750_000_000),
        save_delay=0.01,
    )


async def test_state_survives_a_restart(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_sim_app(config(tmp_path)))
    wx = Wx(client)
    sim = wx.sim
    person = sim.add_person("周老板", "distributor", phone="13700000000")
    await sim.follow(person.id, OA, scene="dist:7")
    template_id = sim.add_template(OA, "发货通知")
    token = await wx.token()
    openid, unionid = sim.openid(person.id, OA), sim.unionid(person.id, "brand")
    await client.close()  # runs the cleanup: the file is written

    saved = json.loads((tmp_path / "sim.json").read_text())
    assert saved["format"] == 1 and "周老板" in json.dumps(saved, ensure_ascii=False)

    again = Wx(await aiohttp_client(create_sim_app(config(tmp_path))))
    sim2 = again.sim
    assert sim2.person(person.id).name == "周老板"
    assert sim2.openid(person.id, OA) == openid and sim2.unionid(person.id, "brand") == unionid
    member = sim2.member(person.id, OA)
    assert member.following and member.qr_scene_str == "dist:7"
    assert template_id in sim2.runtime(OA).templates
    info = await again.get("/cgi-bin/user/info", access_token=token, openid=openid)  # the token too
    assert info["subscribe"] == 1
    assert sim2.conversation(person.id, OA)[0].payload.get("event") == "subscribe"
    assert sim2.add_person().id == "u2"  # counters continue


async def test_changes_are_saved_shortly_after_they_happen(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_sim_app(config(tmp_path)))
    client.app[SIM_STATE].add_person("吴九")
    await asyncio.sleep(0.1)
    assert "吴九" in (tmp_path / "sim.json").read_text()


async def test_mounted_under_a_prefix_every_link_carries_it(aiohttp_client):
    parent = web.Application()
    sim_app = create_sim_app(SimConfig(apps=[App(OA, OA_SECRET)]))
    parent.add_subapp("/wxsim", sim_app)
    client = await aiohttp_client(parent)
    token = await (
        await client.get(
            "/wxsim/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": OA, "secret": OA_SECRET},
        )
    ).json()
    assert "access_token" in token
    resp = await client.get("/wxsim/", allow_redirects=False)
    assert resp.headers["Location"] == "/wxsim/_sim/console"
    html = await (await client.get("/wxsim/_sim/console")).text()
    assert '"/wxsim"' in html and "/wxsim/_sim/static/console.js" in html
    assert (await client.get("/wxsim/_sim/static/console.js")).status == 200
    assert sim_app[SIM_STATE].app(OA).appid == OA


async def test_the_control_api_acts_and_long_polls(aiohttp_client):
    client = await aiohttp_client(create_sim_app(SimConfig(apps=[App(OA, OA_SECRET)])))
    wx = Wx(client)
    person = await (
        await client.post("/_sim/api/persons", json={"name": "郑十", "role": "store_owner"})
    ).json()
    acted = await (
        await client.post("/_sim/api/act", json={"person": person["id"], "appid": OA, "action": "follow"})
    ).json()
    assert acted["delivery"]["reason"] == "no_callback_url"
    convo = await (
        await client.get("/_sim/api/conversation", params={"person": person["id"], "appid": OA})
    ).json()
    last = convo["last"]
    assert convo["member"]["following"] and convo["member"]["window"]["follow"]["left"] == 3

    async def push_later():
        await asyncio.sleep(0.2)
        body = {"touser": convo["member"]["openid"], "msgtype": "text", "text": {"content": "欢迎！"}}
        await wx.post("/cgi-bin/message/custom/send", body)

    task = asyncio.create_task(push_later())
    polled = await (
        await client.get(
            "/_sim/api/conversation", params={"person": person["id"], "appid": OA, "since": last, "wait": 5}
        )
    ).json()
    await task
    assert [(e["kind"], e["payload"]["content"]) for e in polled["entries"]] == [("push", "欢迎！")]
    bad = await client.post("/_sim/api/act", json={"person": "nobody", "appid": OA, "action": "follow"})
    assert bad.status == 404 and (await bad.json())["error"] == "unknown_person"
    stats = await (await client.get("/_sim/api/stats")).json()
    assert stats["token_fetches"][OA] == 1


async def test_faults_and_time_through_the_control_api(aiohttp_client):
    clock = ManualClock(1_750_000_000)
    client = await aiohttp_client(create_sim_app(SimConfig(apps=[App(OA, OA_SECRET)], clock=clock)))
    wx = Wx(client)
    token = await wx.token()
    await client.post("/_sim/api/faults", json={"appid": OA, "fail_next": 1})
    assert (await wx.get("/cgi-bin/menu/get", access_token=token))["errcode"] == -1
    assert (await wx.get("/cgi-bin/menu/get", access_token=token))["errcode"] == 46003
    await client.post("/_sim/api/clock", json={"advance": 7200})
    assert (await wx.get("/cgi-bin/menu/get", access_token=token))["errcode"] == 42001
    token = await wx.token()
    killed = await (await client.post("/_sim/api/invalidate_tokens", json={"appid": OA})).json()
    assert killed == {"invalidated": 1}
    assert (await wx.get("/cgi-bin/menu/get", access_token=token))["errcode"] == 40001


def test_app_specs_parse_like_the_cli_takes_them():
    app = parse_app("wxa:sec:tok:" + "k" * 43 + ":compat:http://127.0.0.1:8080/wechat/wxa")
    assert (app.appid, app.secret, app.token, app.mode) == ("wxa", "sec", "tok", "compat")
    assert app.callback_url == "http://127.0.0.1:8080/wechat/wxa"
    assert parse_app("wxb:sec").mode == "plain"
    assert parse_app("wxc:sec:tok:" + "k" * 43).mode == "safe"


async def test_pushes_can_carry_real_time_while_the_simulator_clock_moves(aiohttp_server, aiohttp_client):
    import time

    from tests.wechat_sim.responder import Responder
    from wechat_sim.clock import SystemClock

    responder = Responder(OA, "wxsimtoken")
    callback = await aiohttp_server(responder.app())
    app = App(OA, OA_SECRET, callback_url=str(callback.make_url("/cb")))
    clock = ManualClock(1_000_000_000)
    client = await aiohttp_client(
        create_sim_app(SimConfig(apps=[app], clock=clock, callback_clock=SystemClock()))
    )
    sim = client.app[SIM_STATE]
    person = sim.add_person()
    await sim.follow(person.id, OA)
    [got] = responder.received
    assert abs(int(got.params["timestamp"]) - time.time()) < 60
    assert abs(int(got.fields["CreateTime"]) - time.time()) < 60
    assert sim.member(person.id, OA).subscribe_time == 1_000_000_000  # rules still use the sim clock


async def test_seeding_with_ensure_person_is_idempotent(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_sim_app(config(tmp_path)))
    sim = client.app[SIM_STATE]
    first = sim.ensure_person("owner", "王老板", "store_owner")
    assert sim.ensure_person("owner", "别的名字") is first
    await client.close()
    again = await aiohttp_client(create_sim_app(config(tmp_path)))
    assert again.app[SIM_STATE].ensure_person("owner", "王老板", "store_owner").name == "王老板"
    assert len(again.app[SIM_STATE].persons()) == 1


async def test_url_verification_through_the_control_api(aiohttp_server, aiohttp_client):
    from tests.wechat_sim.responder import Responder

    responder = Responder(OA, "verifyTok1")
    callback = await aiohttp_server(responder.app())
    app = App(OA, OA_SECRET, token="verifyTok1", callback_url=str(callback.make_url("/cb")))
    client = await aiohttp_client(create_sim_app(SimConfig(apps=[app])))
    result = await (await client.post(f"/_sim/api/apps/{OA}/verify")).json()
    assert result["ok"] and result["body"] == result["echostr"]
    client.app[SIM_STATE].update_app(OA, token="otherTok22")
    result = await (await client.post(f"/_sim/api/apps/{OA}/verify")).json()
    assert not result["ok"] and result["status"] == 500  # the responder's signature check raised
