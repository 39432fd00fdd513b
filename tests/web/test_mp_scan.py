"""``POST /mp/api/scan`` over real HTTP: 100 concurrent scanners of one code, one credit."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from sqlalchemy import func, select

from bot.db import session_scope
from bot.membership import ledger, loyalty_config
from bot.membership.code_models import CodeRedemption
from bot.membership.ledger_models import PointsLedger


def _q(code: str) -> str:
    return quote(f"https://jb.example.cn/c/{code}", safe="")


async def test_one_hundred_concurrent_http_scans_of_one_code_credit_once(member_app):
    m = await member_app()
    batch = await m.batch()
    async with session_scope(m.services.sessions) as session:
        await loyalty_config.update(session, m.tenant_id, source_velocity=[[60, 100000]])
    m.runtime.configs.forget()
    members = [await m.member(f"mp-{i}") for i in range(100)]
    code = m.code(batch.id, 42)

    async def scan(member_id: int):  # type: ignore[no-untyped-def]
        resp = await m.client.post(
            "/mp/api/scan", json={"q": _q(code), "scancode_time": 1795000000}, headers=m.bearer(member_id)
        )
        assert resp.status == 200
        return await resp.json()

    answers = await asyncio.gather(*(scan(x) for x in members))
    outcomes = [a["outcome"] for a in answers]
    assert outcomes.count("credited") == 1 and outcomes.count("repeat") == 99
    winner = next(a for a in answers if a["outcome"] == "credited")
    assert winner["points"] == 10 and winner["genuine"] and "正品验证通过" in winner["message"]
    loser = next(a for a in answers if a["outcome"] == "repeat")
    assert loser["points"] == 0 and "此码已于" in loser["message"] and "假冒" in loser["message"]
    async with session_scope(m.services.sessions) as session:
        assert (await session.execute(select(func.count()).select_from(CodeRedemption))).scalar_one() == 1
        credits = select(func.count()).where(PointsLedger.source_kind == "bottle_code")
        assert (await session.execute(credits)).scalar_one() == 1
        assert (await ledger.audit(session))[1] == []


async def test_scan_needs_a_session_and_a_q(member_app):
    m = await member_app()
    member = await m.member("mp-x")
    assert (await m.client.post("/mp/api/scan", json={"q": "x"})).status == 401
    resp = await m.client.post("/mp/api/scan", json={"scancode_time": 1}, headers=m.bearer(member))
    assert resp.status == 400
    forged = await m.client.post("/mp/api/scan", json={"q": _q("0" * 32)}, headers=m.bearer(member))
    body = await forged.json()
    assert (body["outcome"], body["genuine"]) == ("invalid", False)
    assert "不是本品牌" in body["message"]


async def test_points_age_push_referral_and_rewards_endpoints(member_app):
    from bot.membership.reward_models import RewardItem

    m = await member_app()
    batch = await m.batch()
    young = await m.member("mp-young", adult=False)
    headers = m.bearer(young)
    first = await (
        await m.client.post("/mp/api/scan", json={"q": _q(m.code(batch.id, 1))}, headers=headers)
    ).json()
    assert first["outcome"] == "age_required"
    assert (await m.client.post("/mp/api/member/age", json={"confirm": True}, headers=headers)).status == 200
    second = await (
        await m.client.post("/mp/api/scan", json={"q": _q(m.code(batch.id, 1))}, headers=headers)
    ).json()
    assert second["outcome"] == "credited"
    mine = await (await m.client.get("/mp/api/points", headers=headers)).json()
    assert (mine["consumption"], mine["tier_name"], mine["history"][0]["delta"]) == (10, "普通会员", 10)
    assert (
        await (await m.client.post("/mp/api/member/push", json={"opt_out": True}, headers=headers)).json()
    ) == {"push_opt_out": True}
    ref = await (await m.client.get("/mp/api/referral", headers=headers)).json()
    assert ref["link"].startswith("https://jb.example.cn/r/") and ref["scene"].startswith("ref:")
    async with session_scope(m.services.sessions) as session:
        item = RewardItem(tenant_id=m.tenant_id, catalog="gift", name="品鉴酒杯", points_cost=8, stock=1)
        session.add(item)
        await session.flush()
        item_id = item.id
    catalog = await (await m.client.get("/mp/api/rewards", headers=headers)).json()
    assert [i["name"] for i in catalog["items"]] == ["品鉴酒杯"]
    body = {"item_id": item_id, "request_id": "req-000001"}
    orders = [await m.client.post("/mp/api/rewards/redeem", json=body, headers=headers) for _ in range(2)]
    assert [o.status for o in orders] == [200, 200]  # the same request id: the same order
    after = await (await m.client.get("/mp/api/points", headers=headers)).json()
    assert after["consumption"] == 2
