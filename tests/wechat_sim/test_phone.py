"""The simulated phone: an SMS reaches the person with that number through the conversation long
poll (and nobody else), printed codes are listed in the state, and the in-WeChat web view gives
each person his own browser (another person's cookies are dropped)."""

from __future__ import annotations

import asyncio

from tests.wechat_sim.conftest import OA, OA_SECRET
from wechat_sim.app import SIM_STATE, create_sim_app
from wechat_sim.config import SimConfig
from wechat_sim.model import App


def sim_app():  # type: ignore[no-untyped-def]
    return create_sim_app(SimConfig(apps=[App(OA, OA_SECRET)]))


async def test_an_sms_wakes_the_long_poll_of_the_person_with_that_number_only(aiohttp_client):
    client = await aiohttp_client(sim_app())
    sim = client.app[SIM_STATE]
    owner = sim.add_person("高老板", "store_owner", phone="13800000001")
    other = sim.add_person("李女士", phone="13900000002")
    query = {"person": owner.id, "appid": OA, "since": "0", "wait": "10"}
    poll = asyncio.ensure_future(client.get("/_sim/api/conversation", params=query))
    await asyncio.sleep(0.2)
    assert not poll.done()  # nothing yet: it waits
    resp = await client.post(
        "/_sim/api/sms", json={"phone": "13800000001", "text": "验证码123456", "sender": "品牌"}
    )
    assert resp.status == 200
    answer = await (await asyncio.wait_for(poll, 5)).json()
    assert [m["text"] for m in answer["sms"]] == ["验证码123456"] and answer["sms"][0]["sender"] == "品牌"
    # read once: a poll from the last seen SMS gets nothing more; the other person gets nothing at all
    again = {"person": owner.id, "appid": OA, "since": "0", "wait": "0", "sms_since": str(answer["sms_last"])}
    assert (await (await client.get("/_sim/api/conversation", params=again)).json())["sms"] == []
    theirs = {"person": other.id, "appid": OA, "since": "0", "wait": "0"}
    assert (await (await client.get("/_sim/api/conversation", params=theirs)).json())["sms"] == []
    listed = await (await client.get("/_sim/api/sms", params={"phone": "13800000001"})).json()
    assert len(listed) == 1


async def test_bad_sms_and_printed_codes_are_refused_with_a_reason(aiohttp_client):
    client = await aiohttp_client(sim_app())
    resp = await client.post("/_sim/api/sms", json={"phone": "", "text": "x"})
    assert resp.status == 400 and (await resp.json())["error"] == "bad_request"
    resp = await client.post("/_sim/api/printed", json={"url": "javascript:alert(1)"})
    assert resp.status == 400 and (await resp.json())["error"] == "bad_url"
    assert client.app[SIM_STATE].phone.printed == []


async def test_printed_codes_are_listed_once_each_in_the_state(aiohttp_client):
    client = await aiohttp_client(sim_app())
    for _ in range(2):
        resp = await client.post(
            "/_sim/api/printed", json={"label": "#1 飞天", "url": "http://127.0.0.1:1/c/ABC", "kind": "code"}
        )
        assert resp.status == 200
    state = await (await client.get("/_sim/api/state")).json()
    assert state["printed"] == [{"label": "#1 飞天", "url": "http://127.0.0.1:1/c/ABC", "kind": "code"}]


async def test_the_web_view_gives_each_person_his_own_browser(aiohttp_client):
    client = await aiohttp_client(sim_app())
    sim = client.app[SIM_STATE]
    li, wang = sim.add_person("李女士"), sim.add_person("王经理")
    target = "http://127.0.0.1:1/c/ABC"

    def open_as(person: str, cookies: dict[str, str]):  # type: ignore[no-untyped-def]
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        return client.get(
            "/_sim/webview",
            params={"person": person, "url": target},
            headers={"Cookie": cookie},
            allow_redirects=False,
        )

    same = await open_as(li.id, {"wxsim_person": li.id, "jb_member": "1.2.3.sig"})
    assert same.status == 302 and same.headers["Location"] == target
    assert "jb_member" not in same.cookies  # the same person keeps her login
    switched = await open_as(wang.id, {"wxsim_person": li.id, "jb_member": "1.2.3.sig"})
    assert switched.status == 302
    assert switched.cookies["jb_member"].value == "" and switched.cookies["wxsim_person"].value == wang.id
