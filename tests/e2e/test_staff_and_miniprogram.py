"""Staff sub-accounts, notices outside the customer-service window, and the mini-program API."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import unquote

import aiohttp

from tests.conftest import OA_APPID
from tests.e2e.conftest import MP_APPID, STORE


async def test_staff_join_by_the_owners_invitation_order_and_both_hear_about_it(stack_factory):
    stack = await stack_factory()
    owner = stack.sim.add_person("周老板", "store_owner").id
    await stack.bind_owner(owner)
    invite = (await stack.say(owner, "邀请店员", wait_for="店员邀请码"))[-1]
    ticket = unquote(re.search(r"ticket=([^\"&]+)", invite).group(1))
    staff = stack.sim.add_person("小周", "consumer").id
    since = stack.seq(staff)
    await stack.sim.scan(staff, ticket)
    seen = await stack.seen(staff, since, wait_for="您已加入门店")
    assert any("您已加入门店" in t for t in seen), seen
    assert any("只有店主" in t for t in await stack.say(staff, "邀请店员"))
    intruder = stack.sim.add_person("路人", "consumer").id
    since = stack.seq(intruder)
    await stack.sim.scan(intruder, ticket)
    assert any("已被使用" in t for t in await stack.seen(intruder, since, wait_for="已被使用"))

    await stack.say(staff, "普五 1箱", wait_for="订单报价")
    seen = await stack.say(staff, "确认", wait_for="下单成功")
    assert any("下单成功" in t for t in seen)
    order = (await stack.orders_of())[0]

    # the owner has not written for a long time: his window is closed, a template message goes out
    await stack.services.reach.correct(OA_APPID, stack.openid(owner), 45015)
    session, core = await stack.core()
    async with session:
        await core.admin.advance_order(order.id, to="shipped")
    await stack.seen(staff, stack.seq(staff) - 1, wait_for="已发货", seconds=10)
    for _ in range(100):
        templates = stack.sim.outbound(OA_APPID, stack.openid(owner), "template")
        if templates:
            break
        import asyncio

        await asyncio.sleep(0.1)
    assert len(templates) == 1, templates
    data = {k: v["value"] for k, v in templates[0].payload["data"].items()}
    assert data["character_string1"] == order.number and data["phrase2"] == "已发货"
    assert [e for e in stack.entries(staff) if e.channel == "kf" and order.number in str(e.payload)]


async def _mp_bound_owner(stack, http: aiohttp.ClientSession, person: str) -> dict[str, str]:
    """Log in to the mini-program with ``wx.login`` and bind the store with the phone number."""
    login = await (
        await http.post("/mp/api/login", json={"code": stack.sim.wx_login(person, MP_APPID)})
    ).json()
    auth = {"Authorization": f"Bearer {login['token']}"}
    resp = await http.get("/mp/api/cart", headers=auth)
    assert resp.status == 403 and (await resp.json())["error"] == "not_bound"
    resp = await http.post(
        "/mp/api/store/bind", json={"code": stack.sim.phone_code(person, MP_APPID)}, headers=auth
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["store"]["code"] == STORE["code"]
    return auth


async def test_the_mini_program_orders_with_the_chats_services_and_idempotency(stack_factory):
    stack = await stack_factory()
    person = stack.sim.add_person("孙老板", "store_owner", phone=STORE["phone"]).id
    async with aiohttp.ClientSession(base_url=stack.url) as http:
        auth = await _mp_bound_owner(stack, http, person)
        text = await (
            await http.post("/mp/api/cart/text", json={"text": "飞天 2箱 茅台 1箱"}, headers=auth)
        ).json()
        assert text["added"] == ["MT-FT-53-500"] and text["ambiguous"][0]["text"] == "茅台"
        cart = await (
            await http.post(
                "/mp/api/cart/lines",
                json={"sku": "WLY-PW8-52-500", "cases": 1, "version": text["cart"]["version"]},
                headers=auth,
            )
        ).json()
        stale = await http.put(
            "/mp/api/cart/lines/WLY-PW8-52-500",
            json={"cases": 3, "version": text["cart"]["version"]},
            headers=auth,
        )
        assert stale.status == 409 and (await stale.json())["error"] == "cart_changed"
        quote = await (
            await http.post("/mp/api/quote", json={"version": cart["version"]}, headers=auth)
        ).json()
        assert quote["quote"]["orderable"] is True
        before = len(await stack.orders_of())
        order = {"version": cart["version"], "expected_total_fen": quote["quote"]["total_fen"]}
        first = await http.post("/mp/api/orders", json=order, headers=auth)
        assert first.status == 201, await first.text()
        placed = (await first.json())["result"]
        again = await http.get(f"/mp/api/order-intents/{placed['key']}", headers=auth)
        assert (await again.json())["result"]["order_id"] == placed["order_id"]
        detail = await (await http.get(f"/mp/api/orders/{placed['order_id']}", headers=auth)).json()
        assert detail["order"]["number"] == placed["number"] and detail["order"]["status"] == "created"
        listed = await (await http.get("/mp/api/orders", headers=auth)).json()
        assert listed["items"][0]["id"] == placed["order_id"]
        empty = await (await http.get("/mp/api/cart", headers=auth)).json()
        assert empty["lines"] == []
    assert len(await stack.orders_of()) == before + 1


async def test_a_mini_program_order_the_core_confirms_late_reaches_the_user_as_a_subscribe_message(
    stack_factory,
):
    stack = await stack_factory(order_confirm_budget_seconds=1.0, core_timeout_seconds=1.5)
    person = stack.sim.add_person("吴老板", "store_owner", phone=STORE["phone"]).id
    openid = stack.sim.openid(person, MP_APPID)
    async with aiohttp.ClientSession(base_url=stack.url) as http:
        auth = await _mp_bound_owner(stack, http, person)
        cart = await (await http.post("/mp/api/cart/text", json={"text": "普五 1箱"}, headers=auth)).json()
        quote = await (
            await http.post("/mp/api/quote", json={"version": cart["cart"]["version"]}, headers=auth)
        ).json()
        # the page asks for this template on the order button's tap; the user accepts
        assert quote["subscribe_templates"] == {"order_result": stack.mp_template_id}
        popup = await stack.sim.subscribe_popup(person, MP_APPID, {stack.mp_template_id: True})
        assert popup.user_error is None, popup.reason
        before = len(await stack.orders_of())

        stack.proxy.delay = 6.0  # the core creates the order, the answer never arrives in time
        order = {"version": cart["cart"]["version"], "expected_total_fen": quote["quote"]["total_fen"]}
        resp = await http.post("/mp/api/orders", json=order, headers=auth)
        assert resp.status == 202, await resp.text()
        key = (await resp.json())["result"]["key"]
        await asyncio.sleep(2.0)  # a few retries with the same key while the core stays slow
        stack.proxy.delay = 0.0

        sent = []
        for _ in range(150):
            sent = stack.sim.outbound(MP_APPID, openid, "subscribe")
            if sent:
                break
            await asyncio.sleep(0.1)
        assert len(sent) == 1 and sent[0].errcode == 0, sent
        result = (await (await http.get(f"/mp/api/order-intents/{key}", headers=auth)).json())["result"]
        assert result["status"] == "placed"
        data = {k: v["value"] for k, v in sent[0].payload["data"].items()}
        assert data["character_string1"] == result["number"] and data["phrase2"] == "下单成功"
        assert data["amount3"] == f"{result['total_fen'] / 100:.2f}元"
        assert sent[0].payload["page"] == f"pages/order/detail?id={result['order_id']}"

    orders = await stack.orders_of()
    assert len(orders) == before + 1 and orders[0].number == result["number"]
    # the credit was spent, and nothing went to the Official Account's channels for this user
    assert stack.sim.member(person, MP_APPID).credits[stack.mp_template_id] == 0
    assert not stack.sim.outbound(MP_APPID, openid, "kf")
