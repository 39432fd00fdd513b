"""The router: filters, first match wins, parameter injection, flow filters, middleware order."""

from __future__ import annotations

import pytest

from bot.dispatch import Dispatcher, EventContext, MemberLock, Router, in_flow
from bot.flows.storage import FlowKey, FlowRecord, MemoryFlowStorage
from bot.messages import Inbound, NoReply, TextReply
from bot.tenancy.registry import AppConfig

APP = AppConfig(tenant_id=1, appid="wxapp", kind="oa", token="tok", mode="plain")


class FakeServices:
    def __init__(self) -> None:
        self.flows = MemoryFlowStorage(ttl_seconds=60)


def _ctx(services, **fields) -> EventContext:
    base = {"appid": "wxapp", "to_user": "gh", "openid": "o1", "create_time": 1, "msg_type": "text"}
    base.update(fields)

    async def noop(token: str) -> None:
        return None

    return EventContext(
        message=Inbound(**base),
        app=APP,
        services=services,
        lock=MemberLock(noop, None, "t", held=True),
        member_id=7,
    )


async def _feed(router: Router, ctx: EventContext, fallback=None):
    return await Dispatcher(Router("root", children=[router]), fallback=fallback).feed(ctx)


async def test_text_filters_and_first_match_wins():
    router = Router("r")
    seen = []

    @router.text(equals="再来一单")
    async def reorder() -> TextReply:
        seen.append("reorder")
        return TextReply("reorder")

    @router.text(keywords=["订单"])
    async def orders() -> TextReply:
        return TextReply("orders")

    @router.text(regex=r"订单\s*(\d+)")
    async def one_order(match) -> TextReply:
        return TextReply(f"order {match.group(1)}")

    services = FakeServices()
    assert (await _feed(router, _ctx(services, content=" 再来一单 "))).content == "reorder"
    # "订单 123" contains the keyword, so the earlier keyword handler wins over the regex
    assert (await _feed(router, _ctx(services, content="订单 123"))).content == "orders"
    assert isinstance(await _feed(router, _ctx(services, content="你好")), NoReply)
    assert seen == ["reorder"]


async def test_events_menu_keys_and_scenes():
    router = Router("r")

    @router.event("subscribe")
    async def follow() -> TextReply:
        return TextReply("welcome")

    @router.click("ORDER")
    async def order_menu() -> TextReply:
        return TextReply("menu order")

    @router.click(prefix="MEMBER_")
    async def member_menu(message: Inbound) -> TextReply:
        return TextReply(f"member {message.event_key}")

    @router.scan("bind:")
    async def bind(scene_arg: str) -> TextReply:
        return TextReply(f"bind {scene_arg}")

    s = FakeServices()
    assert (
        await _feed(router, _ctx(s, msg_type="event", event="click", event_key="ORDER"))
    ).content == "menu order"
    reply = await _feed(router, _ctx(s, msg_type="event", event="click", event_key="MEMBER_POINTS"))
    assert reply.content == "member MEMBER_POINTS"
    assert (
        await _feed(router, _ctx(s, msg_type="event", event="scan", event_key="bind:S9"))
    ).content == "bind S9"
    # a subscribe through a QR also matches the scene filter, but the follow handler came first
    reply = await _feed(router, _ctx(s, msg_type="event", event="subscribe", event_key="qrscene_bind:S9"))
    assert reply.content == "welcome"


async def test_in_flow_filter_reads_state_lazily():
    router = Router("r")

    @router.text(in_flow("Reorder:confirm"))
    async def confirm() -> TextReply:
        return TextReply("confirming")

    @router.text(in_flow("Cart"))
    async def cart(ctx: EventContext) -> TextReply:
        record = await ctx.flow()
        return TextReply(f"cart v{record.version}")

    s = FakeServices()
    assert isinstance(await _feed(router, _ctx(s, content="好")), NoReply)
    await s.flows.set(FlowKey("wxapp", "o1"), FlowRecord("Reorder:confirm"))
    assert (await _feed(router, _ctx(s, content="好"))).content == "confirming"
    await s.flows.set(FlowKey("wxapp", "o1"), FlowRecord("Cart:browse", version=3))
    assert (await _feed(router, _ctx(s, content="好"))).content == "cart v3"
    # "Reorder" must not match a flow merely starting with the same letters
    await s.flows.set(FlowKey("wxapp", "o1"), FlowRecord("ReorderX:start"))
    assert isinstance(await _feed(router, _ctx(s, content="好")), NoReply)


async def test_middleware_runs_outside_in_and_can_short_circuit():
    order = []

    async def outer(nxt, ctx):
        order.append("outer-in")
        reply = await nxt(ctx)
        order.append("outer-out")
        return reply

    async def gate(nxt, ctx):
        order.append("gate")
        if ctx.message.content == "stop":
            return TextReply("stopped")
        return await nxt(ctx)

    router = Router("r")

    @router.text()
    async def any_text() -> TextReply:
        order.append("handler")
        return TextReply("ok")

    dispatcher = Dispatcher(Router("root", children=[router]), [outer, gate])
    s = FakeServices()
    assert (await dispatcher.feed(_ctx(s, content="go"))).content == "ok"
    assert (await dispatcher.feed(_ctx(s, content="stop"))).content == "stopped"
    assert order == ["outer-in", "gate", "handler", "outer-out", "outer-in", "gate", "outer-out"]


async def test_handler_asking_for_unknown_parameter_fails_loudly():
    router = Router("r")

    @router.text()
    async def needs(something_missing) -> TextReply:
        return TextReply("never")

    with pytest.raises(TypeError, match="something_missing"):
        await _feed(router, _ctx(FakeServices(), content="x"))


async def test_fallback_runs_when_nothing_matches():
    async def fallback(ctx):
        return TextReply("help")

    reply = await _feed(Router("empty"), _ctx(FakeServices(), content="?"), fallback=fallback)
    assert reply.content == "help"
