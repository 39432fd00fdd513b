"""Template messages, subscription notifications and their result callbacks (section 6)."""

from __future__ import annotations

import pytest

from tests.wechat_sim.conftest import MP, OA, errcode
from tests.wechat_sim.responder import Responder

AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TOKEN = "cbToken123"


@pytest.fixture
async def responder(aiohttp_server, sim):
    responder = Responder(OA, TOKEN, AES, "safe")
    server = await aiohttp_server(responder.app())
    sim.update_app(OA, token=TOKEN, aes_key=AES, mode="safe", callback_url=str(server.make_url("/cb")))
    return responder


@pytest.fixture
def person(sim):
    return sim.add_person("李女士")


def template_body(openid, template_id, **extra):
    return {"touser": openid, "template_id": template_id, "data": {"thing1": {"value": "飞天 2箱"}}, **extra}


def events(responder, name):
    return [r.fields for r in responder.received if r.fields.get("Event") == name]


async def test_a_template_message_needs_a_follower_and_reports_its_result(wx, sim, person, responder):
    template_id = sim.add_template(OA, "订单发货通知", "商品：{{thing1.DATA}}")
    openid = sim.openid(person.id, OA)
    refused = await wx.post("/cgi-bin/message/template/send", template_body(openid, template_id))
    assert refused["errcode"] == 43004
    await sim.follow(person.id, OA)
    sent = await wx.post("/cgi-bin/message/template/send", template_body(openid, template_id))
    assert sent["errcode"] == 0 and isinstance(sent["msgid"], int)
    await sim.drain()
    [finish] = events(responder, "TEMPLATESENDJOBFINISH")
    assert finish["MsgID"] == str(sent["msgid"]) and finish["Status"] == "success"
    assert finish["FromUserName"] == openid
    log = sim.outbound(OA, openid, "template")
    assert [o.errcode for o in log] == [43004, 0]
    pushed = sim.conversation(person.id, OA)[-1]
    assert pushed.channel == "template" and pushed.payload["title"] == "订单发货通知"


async def test_template_messages_ignore_the_window(wx, sim, clock, person, responder):
    template_id = sim.add_template(OA, "订单发货通知")
    await sim.follow(person.id, OA)
    clock.advance(30 * 86400)
    sent = await wx.post(
        "/cgi-bin/message/template/send", template_body(sim.openid(person.id, OA), template_id)
    )
    assert sent["errcode"] == 0


async def test_unknown_templates_and_missing_data(wx, sim, person):
    await sim.follow(person.id, OA)
    openid = sim.openid(person.id, OA)
    assert errcode(await wx.post("/cgi-bin/message/template/send", template_body(openid, "nope"))) == 40037
    subscribe_only = sim.add_template(OA, "到货提醒", kind="subscribe")
    assert (
        errcode(await wx.post("/cgi-bin/message/template/send", template_body(openid, subscribe_only)))
        == 40037
    )
    template_id = sim.add_template(OA, "订单发货通知")
    body = {"touser": openid, "template_id": template_id}
    assert errcode(await wx.post("/cgi-bin/message/template/send", body)) == 47003


async def test_a_user_who_blocks_templates_gets_a_failed_status(wx, sim, person, responder):
    template_id = sim.add_template(OA, "订单发货通知")
    await sim.follow(person.id, OA)
    sim.block_templates(person.id, OA)
    await wx.post("/cgi-bin/message/template/send", template_body(sim.openid(person.id, OA), template_id))
    await sim.drain()
    assert events(responder, "TEMPLATESENDJOBFINISH")[0]["Status"] == "failed:user block"


async def test_client_msg_id_makes_template_sends_idempotent(wx, sim, person, responder):
    template_id = sim.add_template(OA, "订单发货通知")
    await sim.follow(person.id, OA)
    body = template_body(sim.openid(person.id, OA), template_id, client_msg_id="order-42")
    one = await wx.post("/cgi-bin/message/template/send", body)
    two = await wx.post("/cgi-bin/message/template/send", body)
    assert one["msgid"] == two["msgid"]
    assert len(sim.outbound(OA, channel="template")) == 1


async def test_each_accepted_popup_grants_exactly_one_subscription_notification(wx, sim, person, responder):
    template_id = sim.add_template(OA, "直播开播提醒", kind="subscribe")
    other = sim.add_template(OA, "积分到账提醒", kind="subscribe")
    openid = sim.openid(person.id, OA)  # no follow needed for subscription notifications
    body = {"touser": openid, "template_id": template_id, "data": {"thing1": {"value": "今晚 8 点开播"}}}
    assert errcode(await wx.post("/cgi-bin/message/subscribe/bizsend", body)) == 43101

    await sim.subscribe_popup(person.id, OA, {template_id: True, other: False})

    [popup] = events(responder, "subscribe_msg_popup_event")
    rows = popup["SubscribeMsgPopupEvent"]["List"]
    assert [(r["TemplateId"], r["SubscribeStatusString"], r["PopupScene"]) for r in rows] == [
        (template_id, "accept", "1"),
        (other, "reject", "1"),
    ]
    sent = await wx.post("/cgi-bin/message/subscribe/bizsend", body)
    assert sent["errcode"] == 0
    assert errcode(await wx.post("/cgi-bin/message/subscribe/bizsend", body)) == 43101
    assert (
        errcode(await wx.post("/cgi-bin/message/subscribe/bizsend", {**body, "template_id": other})) == 43101
    )
    await sim.drain()
    [sent_event] = events(responder, "subscribe_msg_sent_event")
    row = sent_event["SubscribeMsgSentEvent"]["List"]
    assert row == {
        "TemplateId": template_id,
        "MsgID": str(sent["msgid"]),
        "ErrorCode": "0",
        "ErrorStatus": "success",
    }
    assert [o.errcode for o in sim.outbound(OA, openid, "bizsend")] == [43101, 0, 43101, 43101]


async def test_two_acceptances_grant_two_sends(wx, sim, person, responder):
    template_id = sim.add_template(OA, "直播开播提醒", kind="subscribe")
    await sim.subscribe_popup(person.id, OA, {template_id: True})
    await sim.subscribe_popup(person.id, OA, {template_id: True})
    body = {"touser": sim.openid(person.id, OA), "template_id": template_id, "data": {}}
    codes = [errcode(await wx.post("/cgi-bin/message/subscribe/bizsend", body)) for _ in range(3)]
    assert codes == [0, 0, 43101]


async def test_cancelling_a_subscription_removes_credits_and_pushes_a_change_event(
    wx, sim, person, responder
):
    template_id = sim.add_template(OA, "直播开播提醒", kind="subscribe")
    await sim.subscribe_popup(person.id, OA, {template_id: True})
    await sim.cancel_subscription(person.id, OA, template_id)
    [change] = events(responder, "subscribe_msg_change_event")
    assert change["SubscribeMsgChangeEvent"]["List"]["SubscribeStatusString"] == "reject"
    body = {"touser": sim.openid(person.id, OA), "template_id": template_id, "data": {}}
    assert errcode(await wx.post("/cgi-bin/message/subscribe/bizsend", body)) == 43101


async def test_mini_program_subscribe_send_spends_credits_and_is_mini_program_only(wx, sim, person):
    template_id = sim.add_template(MP, "订单状态提醒", kind="subscribe")
    sim.grant_subscription(person.id, MP, template_id)
    body = {
        "touser": sim.openid(person.id, MP),
        "template_id": template_id,
        "data": {"phrase1": {"value": "已发货"}},
    }
    assert errcode(await wx.post("/cgi-bin/message/subscribe/send", body, appid=MP)) == 0
    assert errcode(await wx.post("/cgi-bin/message/subscribe/send", body, appid=MP)) == 43101
    assert errcode(await wx.post("/cgi-bin/message/subscribe/bizsend", body, appid=MP)) == 48001
    assert errcode(await wx.post("/cgi-bin/message/template/send", body, appid=MP)) == 45109


async def test_templates_can_be_added_through_the_management_apis(wx, sim):
    added = await wx.post("/cgi-bin/template/api_add_template", {"template_id_short": "OPENTM123"})
    listed = await wx.call("/cgi-bin/template/get_all_private_template")
    assert [t["template_id"] for t in listed["template_list"]] == [added["template_id"]]
    sub = await wx.post(
        "/wxaapi/newtmpl/addtemplate", {"tid": 1234, "kidList": [1, 2], "sceneDesc": "开播提醒"}
    )
    listed = await wx.call("/wxaapi/newtmpl/gettemplate")
    assert [(t["priTmplId"], t["title"]) for t in listed["data"]] == [(sub["priTmplId"], "开播提醒")]
    assert errcode(await wx.post("/wxaapi/newtmpl/deltemplate", {"priTmplId": sub["priTmplId"]})) == 0
    assert (await wx.call("/wxaapi/newtmpl/gettemplate"))["data"] == []
