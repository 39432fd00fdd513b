"""One validation layer: every body and query is typed and bounded, bad input is a 400 naming the
field with a Chinese message and changes nothing; core refusals are 4xx; quantities have a
ceiling that ``confirm`` does not lift (issue 17: booleans as integers, 64-bit overflows, a
10,000-character campaign id, a junk cursor, ``99999999999999999999箱``, 10^15 bottles)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.membership.reward_models import RedemptionOrder, RewardItem
from bot.miniapp.api import signer_of
from bot.miniapp.session import MpSession
from tests.ordering_flows.conftest import (  # noqa: F401  (fixtures)
    bot_factory,
    core_db,
    core_seed_pg,
    core_seed_sqlite,
)
from tests.web.member_app import member_app  # noqa: F401  (fixture)

SKU = "WLY-PW8-52-500"  # 普五, 6 bottles a case; sanity limits 50 cases / 2000 bottles


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def _refused(resp, status: int, error: str, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    body = await resp.json()
    assert (resp.status, body["error"]) == (status, error), body
    assert _is_chinese(body["message"]), body
    if field is not None:
        assert body["field"] == field, body
    return body


@pytest.fixture
async def owner(bot_factory):  # noqa: F811
    """A store owner of the reference core's store, with a mini-program session token."""
    bot = await bot_factory()
    await bot.bind("o-validation")
    member_id = await bot.member_id("o-validation")
    session = MpSession(member_id, await bot.tenant_id(), "wxvalidmp0000001", "mp-o-validation")
    bot.auth = {"Authorization": f"Bearer {signer_of(bot.services).issue(session).token}"}
    return bot


async def _lines(bot) -> list:  # type: ignore[no-untyped-def]
    resp = await bot.client.get("/mp/api/cart", headers=bot.auth)
    assert resp.status == 200
    return (await resp.json())["lines"]


async def test_quantities_are_typed_bounded_and_capped_even_when_confirmed(owner):
    http, auth = owner.client, owner.auth
    add = "/mp/api/cart/lines"
    await _refused(
        await http.post(add, json={"sku": SKU, "cases": True}, headers=auth), 400, "bad_request", "cases"
    )
    await _refused(
        await http.post(add, json={"sku": SKU, "cases": "2"}, headers=auth), 400, "bad_request", "cases"
    )
    await _refused(
        await http.post(add, json={"sku": SKU, "bottles": 2**64}, headers=auth), 400, "bad_request", "bottles"
    )
    body = {"sku": SKU, "bottles": 10**15, "confirm": True}
    await _refused(await http.post(add, json=body, headers=auth), 400, "bad_request", "bottles")
    body = {"sku": SKU, "cases": 501, "confirm": True}  # past ten times the 50-case limit
    refused = await _refused(
        await http.post(add, json=body, headers=auth), 400, "quantity_too_large", "bottles"
    )
    assert refused["sku"] == SKU
    put = f"/mp/api/cart/lines/{SKU}"
    await _refused(
        await http.put(put, json={"cases": 501, "confirm": True}, headers=auth), 400, "quantity_too_large"
    )
    assert await _lines(owner) == []  # nothing was written
    # above the sanity limit: asked first, then accepted when confirmed
    await _refused(await http.post(add, json={"sku": SKU, "cases": 60}, headers=auth), 409, "over_limit")
    ok = await http.post(add, json={"sku": SKU, "cases": 60, "confirm": True}, headers=auth)
    assert ok.status == 200 and [li["cases"] for li in (await ok.json())["lines"]] == [60]


async def test_a_text_quantity_past_the_ceiling_refuses_the_whole_text(owner):
    resp = await owner.client.post(
        "/mp/api/cart/text", json={"text": "普五 2箱 飞天 99999999999999999999箱"}, headers=owner.auth
    )
    await _refused(resp, 400, "quantity_too_large", "text")
    assert await _lines(owner) == []  # not even the 2 cases of 普五
    resp = await owner.client.post("/mp/api/cart/text", json={"text": "x" * 1001}, headers=owner.auth)
    await _refused(resp, 400, "bad_request", "text")
    resp = await owner.client.post("/mp/api/cart/text", json={"text": "普五 2箱"}, headers=owner.auth)
    assert resp.status == 200 and (await resp.json())["added"] == [SKU]


async def test_queries_and_core_refusals_are_4xx_with_a_chinese_message(owner):
    http, auth = owner.client, owner.auth
    await _refused(await http.get("/mp/api/catalog?cursor=junk", headers=auth), 400, "core_invalid")
    await _refused(await http.get("/mp/api/orders?cursor=junk", headers=auth), 400, "core_invalid")
    await _refused(await http.get("/mp/api/catalog?limit=true", headers=auth), 400, "bad_request", "limit")
    await _refused(await http.get("/mp/api/catalog?limit=51", headers=auth), 400, "bad_request", "limit")
    await _refused(
        await http.get("/mp/api/catalog?cursor=" + "c" * 201, headers=auth), 400, "bad_request", "cursor"
    )
    resp = await http.delete(f"/mp/api/cart/lines/{SKU}?version=abc", headers=auth)
    await _refused(resp, 400, "bad_request", "version")
    place = {"version": True, "expected_total_fen": 100}
    await _refused(await http.post("/mp/api/orders", json=place, headers=auth), 400, "bad_request", "version")
    place = {"version": 1, "expected_total_fen": 10**20}
    await _refused(
        await http.post("/mp/api/orders", json=place, headers=auth), 400, "bad_request", "expected_total_fen"
    )
    bind = {"code": "x", "store_id": True}
    await _refused(
        await http.post("/mp/api/store/bind", json=bind, headers=auth), 400, "bad_request", "store_id"
    )


async def test_a_cart_the_core_finds_invalid_is_a_4xx_at_quote(owner):
    """A line the chat accepted as confirmed (no ceiling there) reaches the quote: the core's
    validation error is a 4xx with a Chinese message, not a 500."""
    from bot.ordering.views import CartLine

    tenant = await owner.tenant_id()
    member = await owner.member_id("o-validation")
    await owner.runtime.carts.add(tenant, member, 1, [CartLine(SKU, "普五", 0, 10**15, 6)])
    resp = await owner.client.post("/mp/api/quote", json={}, headers=owner.auth)
    await _refused(resp, 400, "core_invalid")


async def test_membership_bodies_booleans_are_not_integers_and_ids_are_bounded(member_app):  # noqa: F811
    m = await member_app()
    member = await m.member("o-redeem")
    auth = m.bearer(member)
    async with session_scope(m.services.sessions) as session:
        item = RewardItem(tenant_id=m.tenant_id, catalog="gift", name="品鉴酒杯", points_cost=1, stock=5)
        session.add(item)
    redeem = "/mp/api/rewards/redeem"
    for item_id in (True, 2**64, "1", 0):
        body = {"item_id": item_id, "request_id": "req-00000001"}
        await _refused(await m.client.post(redeem, json=body, headers=auth), 400, "bad_request", "item_id")
    body = {"item_id": 1, "quantity": 11, "request_id": "req-00000001"}
    await _refused(await m.client.post(redeem, json=body, headers=auth), 400, "bad_request", "quantity")
    async with session_scope(m.services.sessions) as session:
        assert (await session.execute(select(func.count()).select_from(RedemptionOrder))).scalar_one() == 0
    claim = "/mp/api/coupons/claim"
    for campaign in ("1" * 10_000, True, "4x", "", 0, 2**64):
        resp = await m.client.post(claim, json={"campaign": campaign}, headers=auth)
        await _refused(resp, 400, "bad_request", "campaign")
    scan = {"q": "https://jb.example.cn/c/x", "latitude": "30.6"}
    await _refused(
        await m.client.post("/mp/api/scan", json=scan, headers=auth), 400, "bad_request", "latitude"
    )
    push = await m.client.post("/mp/api/member/push", json={"opt_out": 1}, headers=auth)
    await _refused(push, 400, "bad_request", "opt_out")
    await _refused(
        await m.client.get("/mp/api/rewards?catalog=x", headers=auth), 400, "bad_request", "catalog"
    )
    await _refused(await m.client.post(redeem, data=b"[1]", headers=auth), 400, "bad_request")
    assert "field" not in await (await m.client.post(redeem, data=b"nope", headers=auth)).json()
    # no session: 401 before the body is read
    await _refused(await m.client.post(redeem, json={"item_id": True}), 401, "session_required")


async def test_a_gone_member_is_401_before_its_body_is_read(member_app):  # noqa: F811
    from sqlalchemy import delete

    from bot.membership.models import Member

    m = await member_app()
    ghost = await m.member("mp-gone")
    async with session_scope(m.services.sessions) as session:
        await session.execute(delete(Member).where(Member.id == ghost))
    bad = {"item_id": True, "request_id": "r-1"}
    resp = await m.client.post("/mp/api/rewards/redeem", json=bad, headers=m.bearer(ghost))
    await _refused(resp, 401, "session_invalid")
    await _refused(await m.client.get("/mp/api/points", headers=m.bearer(ghost)), 401, "session_invalid")
    here = await m.member("mp-here")
    assert (await m.client.get("/mp/api/points", headers=m.bearer(here))).status == 200
    elsewhere = (
        signer_of(m.services).issue(MpSession(here, m.tenant_id + 1, "wx", "o")).token
    )  # another tenant
    resp = await m.client.get("/mp/api/points", headers={"Authorization": f"Bearer {elsewhere}"})
    await _refused(resp, 401, "session_invalid")


async def test_campaign_ids_are_read_as_their_canonical_number():
    from bot.miniapp.schemas import ClaimBody

    assert {
        ClaimBody.model_validate_json(f'{{"campaign": {c}}}').campaign for c in ('"4"', '"04"', '"004"', "4")
    } == {"4"}
