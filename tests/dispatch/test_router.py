"""The router: filters, first match wins, parameter injection, flow filters, middleware order."""

from __future__ import annotations

import pytest

from bot.dispatch import (
    Dispatcher,
    EventContext,
    MemberLock,
    Router,
    SkipHandler,
    in_flow,
    state_is,
    text_word,
)
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


async def test_state_filter_routes_each_state_to_its_handler_and_injects_the_record():
    router = Router("r")

    @router.text(state_is("Order:choose"), text_word(["跳过"]))
    async def skip() -> TextReply:
        return TextReply("skipped")

    @router.text(state_is("Order:choose"))
    async def choose(record: FlowRecord) -> TextReply:
        return TextReply(f"choose v{record.version}")

    @router.text(state_is("Order:quantity", "Checkout:confirm"))
    async def other(record: FlowRecord) -> TextReply:
        return TextReply(record.state)

    @router.text(state_is("*"))
    async def any_state() -> TextReply:
        return TextReply("some flow")

    s = FakeServices()
    key = FlowKey("wxapp", "o1")
    assert isinstance(await _feed(router, _ctx(s, content="2")), NoReply)  # no flow: none match
    await s.flows.set(key, FlowRecord("Order:choose", version=4))
    assert (await _feed(router, _ctx(s, content="2"))).content == "choose v4"
    assert (await _feed(router, _ctx(s, content=" 跳过。"))).content == "skipped"
    await s.flows.set(key, FlowRecord("Order:quantity"))
    assert (await _feed(router, _ctx(s, content="跳过"))).content == "Order:quantity"
    await s.flows.set(key, FlowRecord("Checkout:confirm"))
    assert (await _feed(router, _ctx(s, content="x"))).content == "Checkout:confirm"
    await s.flows.set(key, FlowRecord("Order:chooseX"))  # a prefix is not the state
    assert (await _feed(router, _ctx(s, content="x"))).content == "some flow"


async def test_inner_middleware_injects_values_or_answers_instead_of_the_handler():
    calls = []
    guarded = Router("guarded")

    @guarded.inner_middleware
    async def member_only(call, ctx, data):
        calls.append(("middleware", ctx.message.content))
        if ctx.message.content == "stranger":
            return TextReply("please bind first")
        return await call(data | {"store": "S0001"})

    @guarded.text(equals=("下单", "stranger"))
    async def order(store: str, message: Inbound) -> TextReply:
        calls.append(("handler", message.content))
        return TextReply(f"order for {store}")

    plain = Router("plain")

    @plain.text()
    async def anything() -> TextReply:  # not behind the middleware
        return TextReply("plain")

    root = Router("root", children=[guarded, plain])
    dispatcher = Dispatcher(root)
    s = FakeServices()
    assert (await dispatcher.feed(_ctx(s, content="下单"))).content == "order for S0001"
    assert (await dispatcher.feed(_ctx(s, content="stranger"))).content == "please bind first"
    # the middleware runs only once a handler of its router matched
    assert (await dispatcher.feed(_ctx(s, content="你好"))).content == "plain"
    assert calls == [("middleware", "下单"), ("handler", "下单"), ("middleware", "stranger")]


async def test_skip_handler_lets_the_next_matching_handler_answer():
    router = Router("r")

    @router.text(state_is("Track:list"))
    async def leave_list(ctx: EventContext) -> TextReply:
        await ctx.services.flows.clear(ctx.flow_key)
        ctx.forget_flow()
        raise SkipHandler

    @router.text(state_is("Track:list"))
    async def never() -> TextReply:  # the state was left: this filter no longer passes
        return TextReply("still in the list")

    @router.text()
    async def normal() -> TextReply:
        return TextReply("normal answer")

    s = FakeServices()
    key = FlowKey("wxapp", "o1")
    await s.flows.set(key, FlowRecord("Track:list"))
    assert (await _feed(router, _ctx(s, content="飞天多少钱"))).content == "normal answer"
    assert await s.flows.get(key) is None
