"""Mini-program login and phone binding over real HTTP, with the simulator playing WeChat."""

from __future__ import annotations

import orjson
from sqlalchemy import select

from bot.db import session_scope
from bot.membership import actions as members
from bot.membership.models import Member, MemberIdentity
from bot.miniapp.auth import session_key
from bot.miniapp.session import MpSession
from tests.wechat.test_outbound_sim import MP, OA


async def test_login_returns_our_own_token_and_keeps_the_session_key_on_the_server(mp_stack):
    person = mp_stack.sim.add_person("小程序用户")
    code = mp_stack.sim.wx_login(person.id, MP)
    resp = await mp_stack.client.post("/mp/api/login", json={"code": code, "appid": MP})
    assert resp.status == 200
    raw = await resp.read()
    body = orjson.loads(raw)
    assert set(body) == {"token", "expires_at", "member_id"}
    openid = mp_stack.sim.openid(person.id, MP)
    stored = await session_key(mp_stack.services, MpSession(body["member_id"], 1, MP, openid))
    assert stored and stored.encode() not in raw  # the session_key never leaves the server
    assert openid.encode() not in raw
    me = await mp_stack.client.get("/mp/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert await me.json() == {"member_id": body["member_id"], "appid": MP, "has_unionid": True}
    async with session_scope(mp_stack.services.sessions) as session:
        identity = (
            await session.execute(select(MemberIdentity).where(MemberIdentity.openid == openid))
        ).scalar_one()
    assert (identity.member_id, identity.appid, identity.unionid) == (
        body["member_id"],
        MP,
        mp_stack.sim.unionid(person.id, "brand"),
    )


async def test_a_login_code_works_once(mp_stack):
    person = mp_stack.sim.add_person("小程序用户")
    code = mp_stack.sim.wx_login(person.id, MP)
    first = await mp_stack.client.post("/mp/api/login", json={"code": code, "appid": MP})
    assert first.status == 200
    again = await mp_stack.client.post("/mp/api/login", json={"code": code, "appid": MP})
    assert again.status == 400
    assert await again.json() == {"error": "invalid_code", "message": "登录凭证无效或已过期，请重新登录"}


async def test_logging_in_again_is_the_same_member(mp_stack):
    person = mp_stack.sim.add_person("回头客")
    first = await mp_stack.login(person.id)
    second = await mp_stack.login(person.id)
    assert first["member_id"] == second["member_id"]
    assert first["token"] != second["token"] or first["expires_at"] == second["expires_at"]


async def test_the_unionid_links_the_mini_program_to_the_official_account_member(mp_stack):
    person = mp_stack.sim.add_person("老王", "store_owner")
    oa_openid = mp_stack.sim.openid(person.id, OA)
    unionid = mp_stack.sim.unionid(person.id, "brand")
    async with session_scope(mp_stack.services.sessions) as session:
        oa_member = await members.link_unionid(session, 1, OA, oa_openid, unionid)
    body = await mp_stack.login(person.id)
    assert body["member_id"] == oa_member


async def test_the_appid_may_come_from_wechats_referer_or_be_the_only_mini_program(mp_stack):
    person = mp_stack.sim.add_person("小程序用户")
    referer = {"Referer": f"https://servicewechat.com/{MP}/12/page-frame.html"}
    code = mp_stack.sim.wx_login(person.id, MP)
    resp = await mp_stack.client.post("/mp/api/login", json={"code": code}, headers=referer)
    assert resp.status == 200
    code = mp_stack.sim.wx_login(person.id, MP)
    assert (await mp_stack.client.post("/mp/api/login", json={"code": code})).status == 200


async def test_bad_requests_get_chinese_json_errors(mp_stack):
    client = mp_stack.client
    resp = await client.post("/mp/api/login", data=b"not json")
    assert (resp.status, await resp.json()) == (400, {"error": "bad_request", "message": "请求格式不正确"})
    resp = await client.post("/mp/api/login", json={"code": "x", "appid": OA})  # an OA is not a mini-program
    assert (resp.status, (await resp.json())["error"]) == (400, "unknown_app")
    resp = await client.post("/mp/api/login", json={"appid": MP})
    assert (resp.status, (await resp.json())["error"]) == (400, "bad_request")
    assert mp_stack.sim.api_calls(MP, "sns/jscode2session") == 0  # nothing was asked of WeChat


async def test_sessions_are_required_and_checked(mp_stack):
    client = mp_stack.client
    resp = await client.get("/mp/api/me")
    assert (resp.status, await resp.json()) == (401, {"error": "session_required", "message": "请先登录"})
    resp = await client.get("/mp/api/me", headers={"Authorization": "Bearer v1.e30.forged"})
    assert (resp.status, (await resp.json())["message"]) == (401, "登录状态无效，请重新登录")
    resp = await client.post("/mp/api/phone", json={"code": "x"})
    assert resp.status == 401


async def test_wechat_being_busy_is_a_503_not_a_crash(mp_stack):
    person = mp_stack.sim.add_person("小程序用户")
    mp_stack.sim.inject(MP, fail_next=20, errcode=-1, apis=["sns/jscode2session"])
    code = mp_stack.sim.wx_login(person.id, MP)
    resp = await mp_stack.client.post("/mp/api/login", json={"code": code, "appid": MP})
    assert (resp.status, (await resp.json())["error"]) == (503, "wechat_busy")


# phone --------------------------------------------------------------------------------------------
async def test_binding_the_phone_number_from_wechat(mp_stack):
    person = mp_stack.sim.add_person("门店老板", "store_owner", phone="13912345678")
    body = await mp_stack.login(person.id)
    auth = {"Authorization": f"Bearer {body['token']}"}
    code = mp_stack.sim.phone_code(person.id, MP)
    resp = await mp_stack.client.post("/mp/api/phone", json={"code": code}, headers=auth)
    assert resp.status == 200
    assert await resp.json() == {"member_id": body["member_id"], "phone": "*******5678"}
    async with session_scope(mp_stack.services.sessions) as session:
        member = await session.get(Member, body["member_id"])
        assert member.phone == "13912345678"
    again = await mp_stack.client.post("/mp/api/phone", json={"code": code}, headers=auth)
    assert (again.status, (await again.json())["error"]) == (400, "phone_code_invalid")


async def test_a_phone_already_known_merges_the_two_members_and_renews_the_token(mp_stack):
    person = mp_stack.sim.add_person("老李", "store_owner", phone="13800001111")
    async with session_scope(mp_stack.services.sessions) as session:
        older = await members.ensure_member(session, 1, OA, mp_stack.sim.openid(person.id, OA))
        await members.link_phone(session, 1, older, "13800001111")
    body = await mp_stack.login(person.id)
    auth = {"Authorization": f"Bearer {body['token']}"}
    resp = await mp_stack.client.post(
        "/mp/api/phone", json={"code": mp_stack.sim.phone_code(person.id, MP)}, headers=auth
    )
    answer = await resp.json()
    assert resp.status == 200
    assert older < body["member_id"]  # the Official Account member came first and survives
    assert answer["member_id"] == older
    me = await mp_stack.client.get("/mp/api/me", headers={"Authorization": f"Bearer {answer['token']}"})
    assert (await me.json())["member_id"] == older
