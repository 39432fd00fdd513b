"""The journey engine on SQLite and PostgreSQL with a recording notifier and a counting coupon
issuer: enrolment once, every step once (repeated ticks, a crash between the step row and the
side effect, concurrent ticks), control gets nothing, exit on order, quiet hours, the cap, opt-out."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.automation import holdout
from bot.automation import repository as repo
from bot.automation.actions import tick
from bot.automation.clock import SHANGHAI
from bot.automation.models import Enrolment, StepRun, SubjectTag
from bot.automation.quiet import QuietHours
from bot.automation.report import status
from bot.db import session_scope
from bot.ports import RecordingPushNotifier
from tests.automation.world import CountingCoupons, World

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=SHANGHAI)

WINBACK = """
name: win-back
subject: store
trigger: {lapsed_days: 30}
control: 0.0
steps:
  - {id: coupon, action: coupon, campaign: 7}
  - {id: message, action: message, template: winback}
  - {id: tell, action: notify_distributor, template: winback_distributor}
  - {id: tag, action: tag, tag: winback}
"""

AFFINITY = """
name: affinity
subject: store
trigger: {aroma: 酱香}
control: 0.0
steps:
  - {id: message, action: message, template: affinity_jiangxiang}
"""


@pytest.fixture
async def world(db_url):
    w = await World(db_url).setup()
    yield w
    await w.close()


async def test_lapsed_store_gets_one_coupon_one_message_then_exits_on_order(world):
    owner = await world.store("S1", distributor="D1")
    staff = await world.staff("D1")
    await world.store("S2")  # ordered recently: not lapsed
    await world.order("S1", T0 - timedelta(days=31))
    await world.order("S2", T0 - timedelta(days=3))
    await world.load(WINBACK)
    notifier, coupons = RecordingPushNotifier(), CountingCoupons()
    deps = world.deps(notifier, coupons)
    first = await tick(deps, world.tenant_id, T0)
    again = await tick(deps, world.tenant_id, T0 + timedelta(hours=1))
    assert (first.enrolled, again.enrolled) == (1, 0)
    assert list(coupons.calls.values()) == [1]
    assert list(coupons.issued.values()) == [(7, "store", str(world.core_ids["S1"]))]
    to_owner = [n for n in notifier.notified if n[0].member_id == owner]
    assert len(to_owner) == 1 and to_owner[0][1] == "marketing"
    assert "老客回归券" in to_owner[0][3]["text"] and "退订" in to_owner[0][3]["text"]
    to_staff = [n for n in notifier.notified if n[0].member_id == staff]
    assert len(to_staff) == 1 and to_staff[0][1] == "service"
    assert len(notifier.notified) == 2  # S2 got nothing
    assert [t.tag for t in await world.rows(SubjectTag)] == ["winback"]
    # the store orders: the journey is left on the goal, revenue counted
    await world.order("S1", T0 + timedelta(days=2), total_fen=80_000)
    done = await tick(deps, world.tenant_id, T0 + timedelta(days=2, hours=1))
    assert done.exited == 1
    [e] = await world.rows(Enrolment)
    assert (e.state, e.exit_reason, e.revenue_fen) == ("exited", "goal", 80_000)
    async with session_scope(world.sessions) as session:
        [report] = await status(session, world.tenant_id)
    # S1 never re-enters (reentry: never) when it lapses again; S2 lapses now and enters
    later = await tick(deps, world.tenant_id, T0 + timedelta(days=40))
    assert later.enrolled == 1
    assert sorted(e.subject for e in await world.rows(Enrolment)) == ["store:S1", "store:S2"]
    assert report.arms["treatment"].converted == 1 and report.reached == 1
    assert report.steps == {
        "coupon": {"done": 1},
        "message": {"done": 1},
        "tag": {"done": 1},
        "tell": {"done": 1},
    }


async def test_control_and_holdout_get_nothing_but_are_measured(world):
    codes = [f"C{i:03d}" for i in range(60)]
    for code in codes:
        await world.store(code)
        await world.order(code, T0 - timedelta(days=31))
    await world.load(WINBACK.replace("control: 0.0", "control: 0.3"))
    notifier, coupons = RecordingPushNotifier(), CountingCoupons()
    deps = world.deps(notifier, coupons, holdout=0.1)
    await tick(deps, world.tenant_id, T0)
    enrolments = await world.rows(Enrolment)
    arms = {e.subject: e.arm for e in enrolments}
    expected = {
        f"store:{c}": holdout.arm(world.tenant_id, "win-back", f"store:{c}", holdout=0.1, control=0.3)
        for c in codes
    }
    assert arms == expected and {"control", "holdout", "treatment"} <= set(arms.values())
    treated = {s for s, a in arms.items() if a == "treatment"}
    reached = {f"store:{n[0].openid[2:]}" for n in notifier.notified}
    assert reached == treated  # nothing for control or holdout
    assert len(coupons.calls) == len(treated)
    control_store = next(s for s, a in arms.items() if a == "control").split(":")[1]
    await world.order(control_store, T0 + timedelta(days=1))
    await tick(deps, world.tenant_id, T0 + timedelta(days=1, hours=1))
    async with session_scope(world.sessions) as session:
        [report] = await status(session, world.tenant_id)
    assert report.arms["control"].converted == 1 and report.arms["treatment"].converted == 0
    assert report.uplift is not None and report.uplift["difference"] < 0


async def test_quiet_hours_hold_the_message_and_send_it_in_the_morning(world):
    await world.store("Q1")
    await world.order("Q1", T0 - timedelta(days=31))
    await world.load(WINBACK)
    notifier, coupons = RecordingPushNotifier(), CountingCoupons()
    deps = world.deps(notifier, coupons, quiet=QuietHours())
    night = datetime(2026, 11, 1, 23, 0, tzinfo=SHANGHAI)
    await tick(deps, world.tenant_id, night)
    assert len(coupons.calls) == 1 and notifier.notified == []  # coupon now, message held
    [run] = await world.rows(StepRun, StepRun.step == "message")
    assert (run.status, run.reason) == ("held", "quiet_hours")
    await tick(deps, world.tenant_id, datetime(2026, 11, 2, 8, 0, tzinfo=SHANGHAI))
    assert notifier.notified == []
    await tick(deps, world.tenant_id, datetime(2026, 11, 2, 8, 31, tzinfo=SHANGHAI))
    assert len([n for n in notifier.notified if n[1] == "marketing"]) == 1
    [run] = await world.rows(StepRun, StepRun.step == "message")
    assert run.status == "done"


async def test_frequency_cap_counts_across_journeys(world):
    await world.store("F1")
    await world.order("F1", T0 - timedelta(days=31), sku="FT")
    from bot.automation import profiling

    async with session_scope(world.sessions) as session:
        await profiling.refresh(session, world.tenant_id, T0)
    await world.load(WINBACK)
    await world.load(AFFINITY)
    notifier = RecordingPushNotifier()
    deps = world.deps(notifier, cap=1, cap_days=7)
    await tick(deps, world.tenant_id, T0)
    marketing = [n for n in notifier.notified if n[1] == "marketing"]
    assert len(marketing) == 1
    runs = await world.rows(StepRun, StepRun.kind == "message")
    assert sorted((r.status, r.reason) for r in runs) == [("done", ""), ("suppressed", "frequency_cap")]


async def test_opted_out_members_get_nothing(world):
    out = await world.store("O1", opted_out=True)
    later = await world.store("O2")
    for code in ("O1", "O2"):
        await world.order(code, T0 - timedelta(days=31))
    await world.load(WINBACK)
    notifier, coupons = RecordingPushNotifier(), CountingCoupons()
    await world.opt_out(later)  # after the enrolment is decided but before any step: see below
    deps = world.deps(notifier, coupons)
    await tick(deps, world.tenant_id, T0)
    assert notifier.notified == [] and not coupons.calls
    enrolments = await world.rows(Enrolment)
    assert [e.member_id for e in enrolments] == []  # neither is enrolled
    assert out is not None


async def test_opting_out_mid_journey_stops_it(world):
    owner = await world.store("M1")
    await world.order("M1", T0 - timedelta(days=31))
    await world.load(WINBACK.replace("steps:\n", "steps:\n  - {id: pause, wait: {days: 1}}\n"))
    notifier, coupons = RecordingPushNotifier(), CountingCoupons()
    deps = world.deps(notifier, coupons)
    await tick(deps, world.tenant_id, T0)
    assert owner is not None
    await world.opt_out(owner)
    await tick(deps, world.tenant_id, T0 + timedelta(days=1, hours=1))
    assert notifier.notified == [] and not coupons.calls
    [e] = await world.rows(Enrolment)
    assert (e.state, e.exit_reason) == ("exited", "opted_out")


async def test_unreachable_is_recorded_with_its_reason(world):
    await world.store("U1", following=False)
    await world.store("U2", owner=False)
    for code in ("U1", "U2"):
        await world.order(code, T0 - timedelta(days=31))
    await world.load(WINBACK)
    deps = world.deps()
    await tick(deps, world.tenant_id, T0)
    runs = await world.rows(StepRun, StepRun.step == "message")
    assert sorted(r.reason for r in runs) == ["no_member", "not_following"]
    assert {r.status for r in runs} == {"unreachable"}


async def test_a_crash_after_the_step_row_repeats_nothing(world):
    await world.store("K1")
    await world.order("K1", T0 - timedelta(days=31))
    await world.load(WINBACK)
    notifier, coupons = RecordingPushNotifier(), CountingCoupons()
    deps = world.deps(notifier, coupons)
    # a worker enrolled, issued the coupon and died before recording it
    from bot.automation import enrolling

    async with session_scope(world.sessions) as session:
        [journey] = await repo.journeys(session, world.tenant_id)
        await enrolling.enrol(session, world.tenant_id, journey, T0, deps.policy)
    [e] = await world.rows(Enrolment)
    async with session_scope(world.sessions) as session:
        await repo.start_step(session, e.id, "coupon", "coupon", T0)
    await coupons.issue(
        7,
        "store",
        str(world.core_ids["K1"]),
        idempotency_key=f"auto:{world.tenant_id}:win-back:{e.id}:coupon",
    )
    await tick(deps, world.tenant_id, T0)
    await tick(deps, world.tenant_id, T0 + timedelta(minutes=5))
    assert list(coupons.calls.values()) == [2]  # asked twice with one key: the core answers one coupon
    assert len(coupons.issued) == 1
    assert len([n for n in notifier.notified if n[1] == "marketing"]) == 1


@pytest.fixture
async def pg_world(pg_url):
    w = await World(pg_url).setup()
    yield w
    await w.close()


@pytest.mark.pg_only  # FOR UPDATE SKIP LOCKED across connections (SQLite serialises writers)
async def test_concurrent_ticks_run_every_step_once(pg_world):
    world = pg_world
    for i in range(40):
        await world.store(f"P{i:02d}")
        await world.order(f"P{i:02d}", T0 - timedelta(days=31))
    await world.load(WINBACK)
    notifier, coupons = RecordingPushNotifier(), CountingCoupons()
    workers = [world.deps(notifier, coupons, batch=5) for _ in range(4)]
    await asyncio.gather(*(tick(d, world.tenant_id, T0) for d in workers))
    assert len(coupons.calls) == 40 and set(coupons.calls.values()) == {1}
    keys = [n[2] for n in notifier.notified if n[1] == "marketing"]
    assert len(keys) == 40 == len(set(keys))
    runs = await world.rows(StepRun)
    assert len(runs) == 40 * 4 and {r.status for r in runs} <= {"done", "unreachable"}


REPLENISH = """
name: replenish
subject: store
trigger: {replenish: true}
control: 0.0
reentry: {after_days: 3}
steps:
  - {id: nudge, action: message, template: replenish}
"""


async def test_replenishment_nudges_a_day_before_each_predicted_reorder(world):
    owner = await world.store("R1")
    await world.store("R2")
    for k in range(1, 6):  # R1 restocks 飞天 every 10 days; last 9 days ago: due tomorrow
        await world.order("R1", T0 - timedelta(days=10 * k - 1), sku="FT")
    for k in range(1, 6):  # R2 every 10 days, last 3 days ago: not yet
        await world.order("R2", T0 - timedelta(days=10 * k - 7), sku="WLY")
    await world.load(REPLENISH)
    notifier = RecordingPushNotifier()
    deps = world.deps(notifier)
    assert (await tick(deps, world.tenant_id, T0 - timedelta(hours=1))).enrolled == 0
    assert (await tick(deps, world.tenant_id, T0 + timedelta(hours=1))).enrolled == 1
    [sent] = notifier.notified
    assert sent[0].member_id == owner and "上次的飞天53度6瓶差不多该补了" in sent[3]["text"]
    assert "再来一单" in sent[3]["text"]
    # the same cycle does not nudge again; the store reorders, and the next cycle does
    assert (await tick(deps, world.tenant_id, T0 + timedelta(days=1))).enrolled == 0
    await world.order("R1", T0 + timedelta(days=1, hours=2), sku="FT")
    assert (await tick(deps, world.tenant_id, T0 + timedelta(days=1, hours=3))).exited == 1
    assert (await tick(deps, world.tenant_id, T0 + timedelta(days=10, hours=3))).enrolled == 1
    assert [e.cycle for e in await world.rows(Enrolment, Enrolment.subject == "store:R1")] == [0, 1]
