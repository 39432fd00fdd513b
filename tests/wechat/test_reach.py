"""The reach budget in a real Redis: windows per trigger, atomic slots, credits, corrections."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.messages import Inbound
from bot.messaging.interface import Receipt
from bot.redis import Keys
from bot.wechat.reach import (
    CUSTOMER_SERVICE,
    NONE,
    SUBSCRIBE,
    TEMPLATE,
    ReachBudget,
    ReachState,
    Slot,
    WindowRule,
    decide,
)

APP = "wxreachapp0001"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def inbound(
    openid: str, *, msg_type: str = "text", event: str | None = None, at: float | None = None
) -> Inbound:
    return Inbound(
        appid=APP,
        to_user="gh_test",
        openid=openid,
        create_time=int(at if at is not None else time.time()),
        msg_type=msg_type,
        msg_id="1" if msg_type != "event" else None,
        event=event,
        content="hi" if msg_type == "text" else None,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reach(redis_client, redis_prefix, clock) -> ReachBudget:
    return ReachBudget(redis_client, Keys(redis_prefix), margin_seconds=60, clock=clock)


async def record(reach: ReachBudget, redis_client, message: Inbound) -> None:
    pipe = redis_client.pipeline(transaction=False)
    reach.record(pipe, message, None)
    await pipe.execute()


async def test_no_interaction_means_no_customer_service(reach):
    assert await reach.take_slot(APP, "o-nobody") == "no_interaction"
    choice = await reach.choose_channel(APP, "o-nobody", "reply")
    assert choice == type(choice)(NONE, "no_interaction")


async def test_a_user_message_opens_five_messages(reach, redis_client, clock):
    await record(reach, redis_client, inbound("o-msg", at=clock.now))
    slots = [await reach.take_slot(APP, "o-msg") for _ in range(6)]
    assert [s.trigger for s in slots[:5] if isinstance(s, Slot)] == ["message"] * 5
    assert slots[5] == "window_quota_used"
    # a new message opens a fresh window
    clock.now += 1
    await record(reach, redis_client, inbound("o-msg", at=clock.now))
    assert isinstance(await reach.take_slot(APP, "o-msg"), Slot)


async def test_recording_one_message_twice_does_not_hand_out_its_quota_twice(reach, redis_client, clock):
    message = inbound("o-twice", at=clock.now)
    await reach.note(message)  # a handler pushing before its callback is settled
    taken = [await reach.take_slot(APP, "o-twice") for _ in range(3)]
    await record(reach, redis_client, message)  # the pipeline records it after the handler
    taken += [await reach.take_slot(APP, "o-twice") for _ in range(3)]
    assert sum(isinstance(t, Slot) for t in taken) == 5
    # an older interaction settled late does not reopen anything either
    await record(reach, redis_client, inbound("o-twice", at=clock.now - 10))
    assert await reach.take_slot(APP, "o-twice") == "window_quota_used"


async def test_the_48h_window_closes_a_margin_before_wechat_closes_it(reach, redis_client, clock):
    await record(reach, redis_client, inbound("o-late", at=clock.now))
    clock.now += 48 * 3600 - 61
    assert isinstance(await reach.take_slot(APP, "o-late"), Slot)
    clock.now += 2
    assert await reach.take_slot(APP, "o-late") == "window_closed"


async def test_concurrent_senders_never_exceed_the_quota(reach, redis_client, clock):
    await record(reach, redis_client, inbound("o-race", at=clock.now))
    results = await asyncio.gather(*(reach.take_slot(APP, "o-race") for _ in range(40)))
    assert sum(1 for r in results if isinstance(r, Slot)) == 5


async def test_follow_scan_and_click_give_three_in_a_minute_used_before_the_long_window(
    reach, redis_client, clock
):
    await record(reach, redis_client, inbound("o-mix", at=clock.now))
    await record(reach, redis_client, inbound("o-mix", msg_type="event", event="click", at=clock.now))
    taken = [await reach.take_slot(APP, "o-mix") for _ in range(3)]
    assert [s.trigger for s in taken] == ["click"] * 3  # the window that closes first goes first
    assert (await reach.take_slot(APP, "o-mix")).trigger == "message"
    clock.now += 120
    await record(reach, redis_client, inbound("o-scan", msg_type="event", event="scan", at=clock.now))
    assert (await reach.take_slot(APP, "o-scan")).trigger == "scan"
    clock.now += 58  # within the minute but inside the 3-second margin of a 1-minute window
    assert await reach.take_slot(APP, "o-scan") == "window_closed"


async def test_view_and_location_events_open_nothing(reach, redis_client, clock):
    await record(reach, redis_client, inbound("o-view", msg_type="event", event="view", at=clock.now))
    await record(reach, redis_client, inbound("o-view", msg_type="event", event="location", at=clock.now))
    assert await reach.take_slot(APP, "o-view") == "no_interaction"


async def test_unfollow_closes_everything_and_follow_reopens(reach, redis_client, clock):
    await record(reach, redis_client, inbound("o-unf", at=clock.now))
    await record(reach, redis_client, inbound("o-unf", msg_type="event", event="unsubscribe", at=clock.now))
    assert await reach.take_slot(APP, "o-unf") == "unfollowed"
    state = await reach.state(APP, "o-unf")
    assert state.following is False
    await record(reach, redis_client, inbound("o-unf", msg_type="event", event="subscribe", at=clock.now))
    assert (await reach.take_slot(APP, "o-unf")).trigger == "follow"
    assert (await reach.state(APP, "o-unf")).following is True


async def test_refund_gives_back_a_slot_only_to_the_same_window(reach, redis_client, clock):
    await record(reach, redis_client, inbound("o-ref", msg_type="event", event="click", at=clock.now))
    slot = await reach.take_slot(APP, "o-ref")
    assert await reach.refund_slot(APP, "o-ref", slot)
    for _ in range(3):
        assert isinstance(await reach.take_slot(APP, "o-ref"), Slot)
    assert await reach.take_slot(APP, "o-ref") == "window_quota_used"
    clock.now += 1
    await record(reach, redis_client, inbound("o-ref", msg_type="event", event="click", at=clock.now))
    assert not await reach.refund_slot(APP, "o-ref", slot)  # the old window is gone


@pytest.mark.parametrize("errcode", [45015, 45047])
async def test_wechat_saying_the_window_is_closed_corrects_the_budget(reach, redis_client, clock, errcode):
    await record(reach, redis_client, inbound("o-fix", at=clock.now))
    await reach.correct(APP, "o-fix", errcode)
    assert await reach.take_slot(APP, "o-fix") == "no_interaction"


async def test_not_a_follower_and_refusing_messages_are_remembered(reach, redis_client, clock):
    await reach.correct(APP, "o-43004", 43004)
    assert (await reach.state(APP, "o-43004")).following is False
    await record(reach, redis_client, inbound("o-48002", at=clock.now))
    await reach.correct(APP, "o-48002", 48002)
    assert await reach.take_slot(APP, "o-48002") == "refuses_messages"
    await record(reach, redis_client, inbound("o-48002", at=clock.now))  # the user writes again
    assert isinstance(await reach.take_slot(APP, "o-48002"), Slot)


async def test_subscribe_credits_come_from_popup_receipts_and_are_taken_once(reach):
    message = inbound("o-sub", msg_type="event", event="subscribe_msg_popup_event")
    accept = Receipt("subscribe_popup", "accept", template_id="TPL_ORDER")
    await reach.on_receipts(
        None, message, [accept, accept, Receipt("subscribe_popup", "reject", template_id="X")]
    )
    assert await reach.credits(APP, "o-sub", "TPL_ORDER") == 2
    results = await asyncio.gather(*(reach.take_credit(APP, "o-sub", "TPL_ORDER") for _ in range(10)))
    assert sum(results) == 2
    assert await reach.credits(APP, "o-sub", "TPL_ORDER") == 0
    await reach.add_credit(APP, "o-sub", "TPL_ORDER")
    await reach.correct(APP, "o-sub", 43101, template_id="TPL_ORDER")
    assert await reach.credits(APP, "o-sub", "TPL_ORDER") == 0
    await reach.add_credit(APP, "o-sub", "TPL_ORDER")
    await reach.on_receipts(None, message, [Receipt("subscribe_change", "reject", template_id="TPL_ORDER")])
    assert await reach.credits(APP, "o-sub", "TPL_ORDER") == 0


async def test_choose_channel_reads_without_taking(reach, redis_client, clock):
    await record(reach, redis_client, inbound("o-peek", at=clock.now))
    for _ in range(10):
        assert (await reach.choose_channel(APP, "o-peek", "service")).channel == CUSTOMER_SERVICE
    taken = [await reach.take_slot(APP, "o-peek") for _ in range(6)]
    assert sum(isinstance(t, Slot) for t in taken) == 5


async def test_configured_windows_replace_the_documented_numbers(redis_client, redis_prefix, clock):
    reach = ReachBudget(redis_client, Keys(redis_prefix), {"message": WindowRule(20, 48 * 3600)}, clock=clock)
    await record(reach, redis_client, inbound("o-cfg", at=clock.now))
    await record(reach, redis_client, inbound("o-cfg", msg_type="event", event="click", at=clock.now))
    taken = [await reach.take_slot(APP, "o-cfg") for _ in range(25)]
    assert sum(isinstance(t, Slot) for t in taken) == 20  # clicks open nothing when not configured


# the policy, pure ----------------------------------------------------------------------------------
def state(**kw) -> ReachState:
    values = dict(kf_trigger=None, kf_reason="window_closed", following=None, refuses=False, credits=0)
    values.update(kw)
    return ReachState(**values)


def test_open_window_means_customer_service_for_any_purpose():
    for purpose in ("reply", "service", "marketing"):
        assert decide(state(kf_trigger="message"), purpose).channel == CUSTOMER_SERVICE


def test_replies_never_leave_the_window():
    choice = decide(state(credits=3), "reply", subscribe_template="T", template_id="X")
    assert choice.channel == NONE
    assert choice.reason == "window_closed"


def test_closed_window_falls_back_to_a_subscribe_credit_then_a_template():
    assert decide(state(credits=1), "service", subscribe_template="S", template_id="T").channel == SUBSCRIBE
    choice = decide(state(), "service", subscribe_template="S", template_id="T")
    assert (choice.channel, choice.template_id) == (TEMPLATE, "T")


def test_marketing_never_goes_out_as_a_template():
    choice = decide(state(), "marketing", template_id="T")
    assert choice.channel == NONE
    assert "templates_are_for_service_notices_only" in choice.reason
    assert decide(state(credits=1), "marketing", subscribe_template="S").channel == SUBSCRIBE


def test_templates_need_a_follower_and_nothing_reaches_someone_who_refuses():
    assert decide(state(following=False), "service", template_id="T").channel == NONE
    assert decide(state(following=None), "service", template_id="T").channel == TEMPLATE
    assert decide(state(kf_trigger="message", refuses=True), "reply").reason == "refuses_messages"
