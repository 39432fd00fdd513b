"""The notifier end to end: the simulator plays WeChat (callbacks to jiubot, API for jiubot's
pushes), jiubot runs ``create_app`` with the outbound extension, both on real ports; database on
SQLite and PostgreSQL, real Redis."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.app import create_app, default_routers
from bot.db import session_scope
from bot.dispatch import Router
from bot.messages import Inbound, MenuItem, MsgMenuReply, Reply, TextReply
from bot.messaging import outbound_log
from bot.messaging.outbound_models import OutboundAttempt, OutboundMessage
from bot.ports import Purpose, Recipient, SubscribeMessage, TemplateMessage
from bot.tenancy import repository as tenancy_repo
from bot.wechat.reach import Slot
from bot.wiring.features import WECHAT
from tests.wechat.test_outbound_sim import MP, MP_SECRET, OA, OA_SECRET, start_sim
from wechat_sim.model import App

TOKEN = "simToken12345"


def slow_router() -> Router:
    router = Router("slow")

    @router.text(regex=r"^slow (\d+(?:\.\d+)?)$")
    async def slow(message: Inbound, match) -> Reply:
        await asyncio.sleep(float(match.group(1)))
        return TextReply(f"慢慢来：{match.group(1)} 秒")

    @router.text(equals="菜单")
    async def menu(message: Inbound) -> Reply:
        return MsgMenuReply(
            head="您要哪一款？",
            items=(MenuItem("101", "飞天 53度 500ml"), MenuItem("102", "茅台王子酒")),
            fallback_text="回复 1 选飞天，回复 2 选王子酒",
        )

    return router


class Stack:
    def __init__(self, app, sim) -> None:
        self.app = app
        self.sim = sim
        self.services = app[keys.SERVICES]
        self.notifier = self.services.notifier
        self.reach = self.services.reach
        self.client = self.services.wechat

    async def person(self, name: str = "老王", *, follow: bool = True) -> tuple[str, str]:
        person = self.sim.add_person(name, "store_owner")
        if follow:
            await self.sim.follow(person.id, OA)
        return person.id, self.sim.openid(person.id, OA)

    async def log_rows(self, key: str) -> tuple[OutboundMessage | None, list[OutboundAttempt]]:
        async with session_scope(self.services.sessions) as session:
            row = await outbound_log.message(session, OA, key)
            return row, (await outbound_log.attempts(session, row.id) if row else [])

    def kf(self, openid: str):
        return [o for o in self.sim.outbound(OA, openid, "kf") if o.errcode == 0]


@pytest.fixture
async def stack_factory(aiohttp_server, make_settings):
    runners: list[web.AppRunner] = []

    # The default budget leaves room on a loaded machine: a passive reply that missed it would
    # arrive as an extra customer-service message and use a slot.
    async def make(*, sim_deadline: float = 5.0, budget: float = 4.0, **overrides) -> Stack:
        oa = App(OA, OA_SECRET, token=TOKEN, mode="plain")
        mp = App(MP, MP_SECRET, kind="mp", group="brand")
        base, sim = await start_sim(aiohttp_server, oa, mp, callback_deadline=sim_deadline)
        settings = make_settings(
            oa_appid=OA,
            oa_secret=OA_SECRET,
            oa_token=TOKEN,
            oa_mode="plain",
            oa_aes_key="",
            wechat_api_base=base,
            callback_budget_seconds=budget,
            wechat_retry_backoff_seconds=0.01,
            **overrides,
        )
        app = create_app(
            settings,
            routers=[slow_router(), *default_routers()],
            features=[WECHAT],
            background=False,
        )
        # A plain AppRunner, as in production: aiohttp's TestServer cancels a handler when the
        # client hangs up, which WeChat does after 5 s (here: the simulator's shorter deadline).
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        sim.update_app(OA, callback_url=f"http://{host}:{port}/wechat/{OA}")
        stack = Stack(app, sim)
        async with session_scope(stack.services.sessions) as session:
            tenant = (await tenancy_repo.list_apps(session))[0].tenant_id
            await tenancy_repo.upsert_app(
                session, tenant, MP, kind="mp", secret=MP_SECRET, token=TOKEN, mode="plain"
            )
        await stack.services.registry.reload()
        return stack

    yield make
    for runner in runners:
        await runner.cleanup()


async def wait_for(predicate, seconds: float = 8.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


# the late reply ----------------------------------------------------------------------------------
async def test_slow_handler_follow_up_reaches_the_user_exactly_once(stack_factory):
    # WeChat gives up after 0.6 s and retries the identical body; jiubot's budget is 1 s
    stack = await stack_factory(budget=1.0)
    pid, openid = await stack.person()
    stack.sim.driver.deadline = 0.6  # after the (slower, cold) first follow

    def follow_ups() -> list[str]:
        return [o.payload["content"] for o in stack.kf(openid) if o.payload["content"].startswith("慢慢来")]

    result = await stack.sim.send_text(pid, OA, "slow 2")
    assert len(result.attempts) >= 2  # WeChat did retry
    await wait_for(follow_ups)
    await asyncio.sleep(1.0)  # nothing else trickles in
    assert follow_ups() == ["慢慢来：2 秒"]
    row, attempts = await stack.log_rows(f"late:{OA}:m:{result.message['MsgId']}:late0")
    assert (row.status, row.channel, row.purpose) == ("sent", "customer_service", "reply")
    assert [(a.channel, a.status) for a in attempts] == [("customer_service", "sent")]


async def test_a_late_reply_is_sent_once_even_if_delivered_twice(stack_factory):
    stack = await stack_factory()
    pid, openid = await stack.person()
    await stack.sim.send_text(pid, OA, "你好")
    recipient = Recipient(OA, openid)
    results = await asyncio.gather(
        *(stack.notifier.deliver_late_reply(recipient, TextReply("稍等"), source_key="k1") for _ in range(5))
    )
    assert sum(r.delivered for r in results) == 1
    assert {r.reason for r in results if not r.delivered} == {"duplicate"}
    assert len(stack.kf(openid)) == 1


async def test_msgmenu_goes_out_as_a_menu_in_the_window(stack_factory):
    stack = await stack_factory()
    pid, openid = await stack.person()
    await stack.sim.send_text(pid, OA, "你好")
    delivery = await stack.notifier.deliver_late_reply(
        Recipient(OA, openid), slow_router_menu(), source_key="menu-1"
    )
    assert delivery.delivered
    assert stack.kf(openid)[-1].msgtype == "msgmenu"


def slow_router_menu() -> MsgMenuReply:
    return MsgMenuReply(head="您要哪一款？", items=(MenuItem("101", "飞天"),), fallback_text="回复 1 选飞天")


async def test_msgmenu_to_a_mini_program_user_is_sent_as_its_fallback_text(stack_factory):
    stack = await stack_factory()
    person = stack.sim.add_person("小程序用户")
    await stack.sim.enter_session(person.id, MP)
    openid = stack.sim.openid(person.id, MP)
    # the MP has no callback URL here: tell the budget about the session as the pipeline would
    pipe = stack.services.redis.pipeline(transaction=False)
    stack.reach.record(
        pipe, Inbound(MP, "gh", openid, int(time.time()), "event", event="user_enter_tempsession"), None
    )
    await pipe.execute()
    delivery = await stack.notifier.deliver_late_reply(
        Recipient(MP, openid), slow_router_menu(), source_key="m"
    )
    assert delivery.delivered
    sent = stack.sim.outbound(MP, openid, "kf")
    assert [(o.msgtype, o.payload.get("content")) for o in sent] == [("text", "回复 1 选飞天")]


# no channel: nothing is sent ------------------------------------------------------------------------
async def test_a_send_outside_the_window_is_not_attempted(stack_factory):
    stack = await stack_factory()
    _pid, openid = await stack.person()  # followed: 3 messages in one minute
    for i in range(3):
        assert (
            await stack.notifier.notify(Recipient(OA, openid), Purpose.REPLY, key=f"r{i}", text="x")
        ).delivered
    delivery = await stack.notifier.notify(Recipient(OA, openid), Purpose.REPLY, key="r3", text="第四条")
    assert (delivery.delivered, delivery.channel, delivery.reason) == (False, "none", "window_quota_used")
    assert stack.sim.api_calls(OA, "cgi-bin/message/custom/send") == 3  # the fourth never left
    row, attempts = await stack.log_rows("r3")
    assert (row.status, row.reason) == ("undeliverable", "window_quota_used")
    assert [(a.channel, a.status) for a in attempts] == [("none", "undeliverable")]


async def test_a_wrong_budget_is_corrected_by_45015_and_not_retried(stack_factory):
    stack = await stack_factory()
    pid, openid = await stack.person()
    await stack.sim.unfollow(pid, OA)
    # the budget believes the window is open (e.g. the unfollow push was lost)
    pipe = stack.services.redis.pipeline(transaction=False)
    stack.reach.record(pipe, Inbound(OA, "gh", openid, int(time.time()), "text", msg_id="9"), None)
    await pipe.execute()
    assert isinstance(await stack.reach.take_slot(OA, openid), Slot)
    first = await stack.notifier.notify(Recipient(OA, openid), Purpose.REPLY, key="w1", text="在吗")
    assert not first.delivered
    assert first.reason == "customer_service:45015;no_interaction"
    assert stack.sim.api_calls(OA, "cgi-bin/message/custom/send", 45015) == 1
    second = await stack.notifier.notify(Recipient(OA, openid), Purpose.REPLY, key="w2", text="在吗")
    assert not second.delivered
    assert stack.sim.api_calls(OA, "cgi-bin/message/custom/send") == 1  # corrected: not tried again
    row, attempts = await stack.log_rows("w1")
    assert row.status == "undeliverable"
    assert [(a.channel, a.status, a.errcode) for a in attempts] == [
        ("customer_service", "refused", 45015),
        ("none", "undeliverable", None),
    ]
    assert attempts[0].rid  # WeChat's request id is kept for support


# other channels ---------------------------------------------------------------------------------
async def test_a_service_notice_outside_the_window_goes_as_a_template_and_its_receipt_is_recorded(
    stack_factory,
):
    stack = await stack_factory()
    _pid, openid = await stack.person()
    # use up the follow's window
    for i in range(3):
        await stack.notifier.notify(Recipient(OA, openid), Purpose.SERVICE, key=f"f{i}", text="x")
    tid = stack.sim.add_template(OA, "订单发货通知", "{{thing1.DATA}}")
    template = TemplateMessage.of(tid, {"thing1": "飞天 2 箱已发货"}, url="https://h5.example/o/1")
    delivery = await stack.notifier.notify(
        Recipient(OA, openid),
        Purpose.SERVICE,
        key="order:1:shipped",
        text="您的订单已发货",
        template=template,
    )
    assert (delivery.delivered, delivery.channel) == (True, "template")
    assert delivery.msgid
    sent = stack.sim.outbound(OA, openid, "template")
    assert sent[0].payload["data"] == {"thing1": {"value": "飞天 2 箱已发货"}}

    async def receipt() -> str | None:
        row, _ = await stack.log_rows("order:1:shipped")
        return row.receipt_status

    for _ in range(100):
        if await receipt() == "success":
            break
        await asyncio.sleep(0.05)
    assert await receipt() == "success"  # TEMPLATESENDJOBFINISH came back through the callback
    again = await stack.notifier.notify(
        Recipient(OA, openid),
        Purpose.SERVICE,
        key="order:1:shipped",
        text="您的订单已发货",
        template=template,
    )
    assert (again.delivered, again.reason, again.msgid) == (False, "duplicate", delivery.msgid)
    assert len(stack.sim.outbound(OA, openid, "template")) == 1


async def test_marketing_never_uses_a_template(stack_factory):
    stack = await stack_factory()
    person = stack.sim.add_person("老李")
    await stack.sim.follow(person.id, OA)
    openid = stack.sim.openid(person.id, OA)
    await stack.reach.correct(OA, openid, 45015)  # window closed
    tid = stack.sim.add_template(OA, "活动通知")
    delivery = await stack.notifier.notify(
        Recipient(OA, openid),
        Purpose.MARKETING,
        key="coupon:7",
        template=TemplateMessage.of(tid, {"thing1": "券"}),
    )
    assert not delivery.delivered
    assert "templates_are_for_service_notices_only" in delivery.reason
    assert stack.sim.api_calls(OA, "cgi-bin/message/template/send") == 0


async def test_a_subscribe_popup_grants_one_notification(stack_factory):
    stack = await stack_factory()
    pid, openid = await stack.person()
    await stack.reach.correct(OA, openid, 45015)
    tid = stack.sim.add_template(OA, "直播提醒", kind="subscribe")
    await stack.sim.subscribe_popup(pid, OA, {tid: True})  # pushed to jiubot: one credit
    for _ in range(100):
        if await stack.reach.credits(OA, openid, tid) == 1:
            break
        await asyncio.sleep(0.05)
    assert await stack.reach.credits(OA, openid, tid) == 1
    await stack.reach.correct(OA, openid, 45015)  # the popup event opened nothing, but be sure
    live = SubscribeMessage.of(tid, {"thing1": "今晚 8 点品鉴直播"}, page="https://h5.example/live")
    first = await stack.notifier.notify(
        Recipient(OA, openid), Purpose.MARKETING, key="live:1:a", subscribe=live
    )
    second = await stack.notifier.notify(
        Recipient(OA, openid), Purpose.MARKETING, key="live:1:b", subscribe=live
    )
    assert (first.delivered, first.channel) == (True, "subscribe")
    assert (second.delivered, second.reason) == (False, "no_interaction;no_subscribe_credit")
    assert stack.sim.api_calls(OA, "cgi-bin/message/subscribe/bizsend") == 1


async def test_concurrent_notifications_with_one_key_send_once(stack_factory):
    stack = await stack_factory()
    pid, openid = await stack.person()
    await stack.sim.send_text(pid, OA, "你好")
    results = await asyncio.gather(
        *(
            stack.notifier.notify(Recipient(OA, openid), Purpose.SERVICE, key="order:9:paid", text="已付款")
            for _ in range(6)
        )
    )
    assert sum(r.delivered for r in results) == 1
    assert [o.payload["content"] for o in stack.kf(openid)].count("已付款") == 1
    async with session_scope(stack.services.sessions) as session:
        rows = (
            (
                await session.execute(
                    select(OutboundMessage).where(OutboundMessage.idempotency_key == "order:9:paid")
                )
            )
            .scalars()
            .all()
        )
    assert len(rows) == 1


async def test_a_transient_failure_can_be_retried_with_the_same_key(stack_factory):
    stack = await stack_factory()
    pid, openid = await stack.person()
    await stack.sim.send_text(pid, OA, "你好")
    stack.sim.inject(OA, fail_next=10, errcode=-1, apis=["cgi-bin/message/custom/send"])
    failed = await stack.notifier.notify(Recipient(OA, openid), Purpose.SERVICE, key="n1", text="通知")
    assert (failed.delivered, failed.channel, failed.reason) == (False, "customer_service", "Retryable:-1")
    stack.sim.faults.clear()
    retried = await stack.notifier.notify(Recipient(OA, openid), Purpose.SERVICE, key="n1", text="通知")
    assert retried.delivered
    row, attempts = await stack.log_rows("n1")
    assert (row.status, row.attempts) == ("sent", 2)
    assert [a.status for a in attempts] == ["failed", "sent"]
    # the failed try was answered by WeChat, so its slot came back: 5 (message) + 3 (follow) - 1 sent
    taken = [await stack.reach.take_slot(OA, openid) for _ in range(8)]
    assert sum(isinstance(t, Slot) for t in taken) == 7


async def test_a_send_that_timed_out_is_never_sent_again_under_its_key(stack_factory):
    stack = await stack_factory(wechat_timeout_seconds=0.3)
    pid, openid = await stack.person()
    await stack.sim.send_text(pid, OA, "你好")
    await stack.client.access_token(OA)
    stack.sim.inject(OA, latency=0.6, apis=["cgi-bin/message/custom/send"])
    first = await stack.notifier.notify(Recipient(OA, openid), Purpose.SERVICE, key="t1", text="已发货")
    assert (first.delivered, first.reason) == (False, "TransportError:None")
    stack.sim.faults.clear()
    sent_before = stack.sim.api_calls(OA, "cgi-bin/message/custom/send")
    again = await stack.notifier.notify(Recipient(OA, openid), Purpose.SERVICE, key="t1", text="已发货")
    assert (again.delivered, again.reason) == (False, "duplicate")
    # WeChat may have delivered the first one: the same key is not tried again
    assert stack.sim.api_calls(OA, "cgi-bin/message/custom/send") == sent_before
    row, attempts = await stack.log_rows("t1")
    assert row.status == "unknown"
    assert [a.status for a in attempts] == ["unknown"]


# the pipeline records interactions ---------------------------------------------------------------
async def test_user_actions_through_the_callback_open_the_budget(stack_factory):
    stack = await stack_factory()
    pid, openid = await stack.person()
    state = await stack.reach.state(OA, openid)
    assert (state.kf_trigger, state.following) == ("follow", True)
    await stack.sim.send_text(pid, OA, "你好")
    await stack.sim.unfollow(pid, OA)
    state = await stack.reach.state(OA, openid)
    assert (state.kf_trigger, state.kf_reason, state.following) == (None, "unfollowed", False)
