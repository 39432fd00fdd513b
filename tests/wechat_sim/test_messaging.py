"""Customer-service window and quotas, typing, and the outbound log (section 5)."""

from __future__ import annotations

import pytest

from tests.wechat_sim.conftest import MP, OA, errcode


def kf_text(openid: str, content: str = "您的订单已发货") -> dict:
    return {"touser": openid, "msgtype": "text", "text": {"content": content}}


@pytest.fixture
def person(sim):
    return sim.add_person("王老板", "store_owner")


async def send(wx, openid, content="您的订单已发货", appid=OA):
    return errcode(await wx.post("/cgi-bin/message/custom/send", kf_text(openid, content), appid=appid))


async def test_a_follow_allows_3_messages_within_one_minute(wx, sim, clock, person):
    await sim.follow(person.id, OA)
    openid = sim.openid(person.id, OA)
    assert [await send(wx, openid) for _ in range(4)] == [0, 0, 0, 45047]
    clock.advance(61)
    assert await send(wx, openid) == 45015


async def test_a_user_message_allows_5_messages_within_48_hours(wx, sim, clock, person):
    await sim.follow(person.id, OA)
    clock.advance(120)  # the follow grant has closed
    await sim.send_text(person.id, OA, "还有货吗")
    openid = sim.openid(person.id, OA)
    assert [await send(wx, openid) for _ in range(6)] == [0, 0, 0, 0, 0, 45047]
    await sim.send_text(person.id, OA, "在吗")  # a new message renews the count
    clock.advance(47 * 3600)
    assert await send(wx, openid) == 0
    clock.advance(3600)
    assert await send(wx, openid) == 45015


async def test_a_menu_click_gives_the_minute_quota_not_the_48_hour_one(wx, sim, clock, person):
    await sim.follow(person.id, OA)
    clock.advance(61)
    await sim.click(person.id, OA, "REORDER")
    openid = sim.openid(person.id, OA)
    assert await send(wx, openid) == 0
    clock.advance(61)
    assert await send(wx, openid) == 45015


async def test_grants_add_up_and_the_soonest_to_expire_is_spent_first(wx, sim, clock, person):
    await sim.follow(person.id, OA)
    await sim.send_text(person.id, OA, "你好")
    openid = sim.openid(person.id, OA)
    assert [await send(wx, openid) for _ in range(8)] == [0] * 8
    assert await send(wx, openid) == 45047


async def test_the_quotas_are_configurable(wx, sim, person):
    sim.limits.kf_rules["message"] = (20, 48 * 3600)
    await sim.follow(person.id, OA)
    await sim.send_text(person.id, OA, "你好")
    openid = sim.openid(person.id, OA)
    assert [await send(wx, openid) for _ in range(23)] == [0] * 23


async def test_an_unfollowed_user_is_45015_even_inside_the_window(wx, sim, person):
    await sim.follow(person.id, OA)
    await sim.send_text(person.id, OA, "你好")
    await sim.unfollow(person.id, OA)
    assert await send(wx, sim.openid(person.id, OA)) == 45015


async def test_unknown_openids_types_and_oversized_bodies(wx, sim, person):
    await sim.follow(person.id, OA)
    openid = sim.openid(person.id, OA)
    assert await send(wx, "o" + "x" * 27) == 40003
    assert await send(wx, sim.openid(person.id, MP)) == 40003  # another app's openid
    body = {"touser": openid, "msgtype": "markdown", "markdown": {"content": "x"}}
    assert errcode(await wx.post("/cgi-bin/message/custom/send", body)) == 40008
    assert await send(wx, openid, "") == 44004
    assert await send(wx, openid, "酒" * 700) == 45002  # 2100 bytes
    two = {"touser": openid, "msgtype": "news", "news": {"articles": [{"title": "a"}, {"title": "b"}]}}
    assert errcode(await wx.post("/cgi-bin/message/custom/send", two)) == 45008


async def test_every_send_is_recorded_with_channel_errcode_and_time(wx, sim, clock, person):
    await sim.follow(person.id, OA)
    openid = sim.openid(person.id, OA)
    menu = {
        "touser": openid,
        "msgtype": "msgmenu",
        "msgmenu": {
            "head_content": "要再来一单吗？",
            "list": [{"id": "101", "content": "是"}],
            "tail_content": "",
        },
    }
    assert errcode(await wx.post("/cgi-bin/message/custom/send", menu)) == 0
    clock.advance(61)
    assert await send(wx, openid, "晚了") == 45015
    log = sim.outbound(OA, openid)
    assert [(o.channel, o.msgtype, o.errcode) for o in log] == [("kf", "msgmenu", 0), ("kf", "text", 45015)]
    assert log[0].at == pytest.approx(clock.now() - 61) and log[1].at == clock.now()
    assert log[0].payload["list"][0]["content"] == "是"
    convo = sim.conversation(person.id, OA)
    assert [(e.direction, e.kind, e.errcode) for e in convo] == [
        ("in", "event", None),
        ("system", "note", None),  # this app has no callback URL
        ("out", "push", None),
        ("out", "push", 45015),
    ]


async def test_a_msgmenu_tap_comes_back_as_text_with_bizmsgmenuid(sim, person):
    await sim.follow(person.id, OA)
    result = await sim.send_text(person.id, OA, "是", bizmsgmenuid="101")
    assert result.message["bizmsgmenuid"] == "101" and result.message["Content"] == "是"


async def test_typing_needs_a_recent_interaction_and_cannot_repeat(wx, sim, clock, person):
    await sim.follow(person.id, OA)
    openid = sim.openid(person.id, OA)

    async def typing(command="Typing"):
        return errcode(
            await wx.post("/cgi-bin/message/custom/typing", {"touser": openid, "command": command})
        )

    assert await typing() == 0
    assert await typing() == 45081
    assert await typing("Dance") == 45072
    assert await typing("CancelTyping") == 0
    assert await typing() == 0
    assert await send(wx, openid) == 0  # sending cancels typing
    assert await typing() == 0
    clock.advance(31)
    assert await typing() == 45080


async def test_mini_program_customer_service_opens_on_entering_the_session(wx, sim, clock, person):
    await sim.enter_session(person.id, MP)
    openid = sim.openid(person.id, MP)
    assert [await send(wx, openid, appid=MP) for _ in range(3)] == [0, 0, 45047]
    await sim.send_text(person.id, MP, "咨询一下")  # no follow needed in a mini-program
    assert await send(wx, openid, appid=MP) == 0
