"""Sixty days of journeys replayed with the clock on PostgreSQL, through the real notifier, reach
budget and the WeChat simulator (store owners follow the account and say "退订" in chat), at the
issue's size: 500 stores with order histories and 2,000 consumers with bottle scans (seeded with
executemany; the ~375 follows go through the simulator's callbacks, eight at a time).

Stores have seeded order histories: some keep ordering, the others lapse on different days,
some come back after the win-back. Asserted: every store lapsing past 30 days enters win-back
once; each treated one gets exactly one coupon (one Idempotency-Key) and one lawful message or an
"unreachable" record; control and holdout get nothing; an order exits the journey; no message
goes out in quiet hours; the cap holds across both journeys; opted-out owners get nothing; the
酱香 affinity message reaches 酱香 buyers only; tier changes are recorded; each consumer whose
first scan falls in the replay enters the first-scan journey once, and with no chat window open
none of them is messaged (recorded unreachable with the reason)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from bot import keys
from bot.app import create_app, default_routers
from bot.automation import profiling
from bot.automation.actions import tick
from bot.automation.clock import SHANGHAI
from bot.automation.models import Enrolment, MarketingSend, Profile, StepRun, TierChange
from bot.automation.quiet import QuietHours
from bot.automation.report import status
from bot.config import load_settings
from bot.db import session_scope
from bot.membership.models import Member, MemberIdentity
from bot.tenancy import repository as tenancy_repo
from bot.wiring.features import MEMBERSHIP, WECHAT
from tests.automation.world import CountingCoupons, World
from tests.conftest import REDIS_URL
from tests.wechat.test_outbound_sim import OA, OA_SECRET, start_sim
from wechat_sim.model import App

pytestmark = [pytest.mark.pg_only, pytest.mark.slow]

TOKEN = "simToken12345"
N_STORES = 500
N_CONSUMERS = 2000
START = datetime(2026, 10, 1, 2, 0, tzinfo=SHANGHAI)
DAYS = 60
TICK_HOURS = (2, 10, 14, 22)  # local; 22 and 2 are quiet (what they find is held until 08:30)

WINBACK = """
name: win-back
subject: store
trigger: {lapsed_days: 30, within_days: 30}
goal: ordered
goal_days: 30
control: 0.10
reentry: never
steps:
  - {id: coupon, action: coupon, campaign: 1}
  - id: message
    action: message
    variants:
      - {name: a, weight: 1, template: winback}
      - {name: b, weight: 1, template: winback_b}
"""

AFFINITY = """
name: affinity-jiangxiang
subject: store
trigger: {aroma: 酱香}
goal: ordered
control: 0.10
steps:
  - {id: message, action: message, template: affinity_jiangxiang}
"""

FIRST_SCAN = """
name: first-scan
subject: consumer
trigger: {event: first_scan}
goal: scanned
goal_days: 30
control: 0.10
steps:
  - {id: welcome, action: message, template: first_scan}
"""


@pytest.fixture
async def stack(aiohttp_server, pg_url, redis_prefix):
    oa = App(OA, OA_SECRET, token=TOKEN, mode="plain")
    base, sim = await start_sim(aiohttp_server, oa, callback_deadline=5.0)
    settings = load_settings(
        database_url=pg_url,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        oa_appid=OA,
        oa_secret=OA_SECRET,
        oa_token=TOKEN,
        oa_mode="plain",
        oa_aes_key="",
        wechat_api_base=base,
        log_format="console",
        log_level="WARNING",
        secret_key="test-secret-key-0123456789",
        wechat_retry_backoff_seconds=0.01,
        _env_file=None,
    )
    app = create_app(settings, routers=default_routers(), features=[WECHAT, MEMBERSHIP], background=False)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    sim.update_app(OA, callback_url=f"http://{host}:{port}/wechat/{OA}")
    services = app[keys.SERVICES]
    async with session_scope(services.sessions) as session:
        tenant = (await tenancy_repo.list_apps(session))[0].tenant_id
    world = await World(pg_url, tenant_id=tenant, oa=OA).setup()
    yield world, sim, services
    await world.close()
    await runner.cleanup()


def kind(i: int) -> str:
    if i % 5 == 0:
        return "steady"  # orders every week, never lapses
    return "lapsing"


async def test_sixty_days_of_win_back_and_affinity(stack):
    world, sim, services = stack
    started = time.monotonic()
    owners: dict[str, int | None] = {}
    openids: dict[str, str] = {}
    opted: set[str] = set()
    people: dict[str, str] = {}
    for i in range(N_STORES):
        code = f"S{i:04d}"
        if i % 4 == 2:  # the owner never followed the account: no owner member at all
            owners[code] = None
            continue
        people[code] = sim.add_person(f"老板{i}", "store_owner").id

    async def follow(code: str) -> None:
        await sim.follow(people[code], OA)
        if int(code[1:]) % 11 == 3:
            await sim.send_text(people[code], OA, "退订")
            opted.add(code)

    codes = sorted(people)
    for k in range(0, len(codes), 8):  # the callbacks, a few at a time
        await asyncio.gather(*(follow(c) for c in codes[k : k + 8]))
    openids = {code: sim.openid(pid, OA) for code, pid in people.items()}
    async with session_scope(world.sessions) as session:
        by_openid = dict(
            (
                await session.execute(
                    select(MemberIdentity.openid, MemberIdentity.member_id).where(
                        MemberIdentity.openid.in_(list(openids.values()))
                    )
                )
            ).all()
        )
    owners.update({code: by_openid[openid] for code, openid in openids.items()})
    await world.stores_bulk(owners, distributor="D1")
    async with session_scope(world.sessions) as session:
        out = set((await session.execute(select(Member.id).where(Member.push_opt_out.is_(True)))).scalars())
    assert out == {owners[c] for c in opted} and opted  # "退订" in chat set it

    # order histories: every store ordered for months; "steady" ones keep ordering weekly, the
    # others stop on a day spread over the replay; one in seven comes back 5 days after lapsing
    comeback: dict[str, datetime] = {}
    jx: set[str] = set()
    orders: list[tuple[str, datetime, int, str]] = []
    for i in range(N_STORES):
        code = f"S{i:04d}"
        sku = "FT" if i % 3 == 0 else "WLY"
        if sku == "FT":
            jx.add(code)
        last = START - timedelta(days=25) + timedelta(days=(i * 7) % 50)
        end = START + timedelta(days=DAYS) if kind(i) == "steady" else last
        at = START - timedelta(days=150) + timedelta(hours=i % 100)
        while at <= end:
            orders.append((code, at, 50_000 + 1000 * (i % 30), sku))
            at += timedelta(days=7)
        if kind(i) != "steady" and i % 7 == 1:
            back = at - timedelta(days=7) + timedelta(days=35)
            comeback[code] = back
            orders.append((code, back, 120_000, sku))
    await world.orders_bulk(orders)

    # consumers: each scans a bottle or two; a first scan on a day spread over the replay (or
    # before it: those are not new); every second one follows the account, none opened a chat
    # window, so a welcome is recorded unreachable with the reason, never forced
    consumers = await world.consumers_bulk(N_CONSUMERS)
    scans = []
    first_scans: dict[int, datetime] = {}
    for n, member_id in enumerate(consumers):
        first = START - timedelta(days=20) + timedelta(hours=(n * 13) % (24 * (DAYS + 20)))
        first_scans[member_id] = first
        scans.append((member_id, first, "FT" if n % 2 else "WLY"))
        if n % 3 == 0:
            scans.append((member_id, first + timedelta(days=12), "WLY"))
    await world.scans_bulk(scans)
    await world.load(WINBACK)
    await world.load(AFFINITY)
    await world.load(FIRST_SCAN)
    async with session_scope(world.sessions) as session:  # 核心 means ordering in the last 30 days
        await profiling.set_tier_rules(
            session,
            world.tenant_id,
            "tiers:\n  - {name: 战略, min_monetary_fen: 2000000, min_frequency: 20, max_recency_days: 14}\n"
            "  - {name: 核心, min_monetary_fen: 500000, min_frequency: 4, max_recency_days: 30}\n"
            "  - {name: 潜力}\n",
        )
    setup_s = time.monotonic() - started
    coupons = CountingCoupons()
    deps = world.deps(services.notifier, coupons, holdout=0.05, quiet=QuietHours(), cap=1, cap_days=7)

    # replay ---------------------------------------------------------------------------------
    spent = defaultdict(float)
    for day in range(DAYS + 1):
        for hour in TICK_HOURS:
            now = START.replace(hour=hour) + timedelta(days=day)
            if hour == 2:
                began = time.monotonic()
                async with session_scope(world.sessions) as session:
                    await profiling.refresh(session, world.tenant_id, now)
                spent["refresh"] += time.monotonic() - began
            began = time.monotonic()
            await tick(deps, world.tenant_id, now)
            spent["tick"] += time.monotonic() - began
        if day % 10 == 0:
            print(f"day {day}: setup {setup_s:.1f}s, " + ", ".join(f"{k} {v:.1f}s" for k, v in spent.items()))
    end = START + timedelta(days=DAYS)

    enrolments = await world.rows(Enrolment)
    runs = await world.rows(StepRun)
    by_enrolment = defaultdict(list)
    for r in runs:
        by_enrolment[r.enrolment_id].append(r)
    win = [e for e in enrolments if e.journey == "win-back"]

    # every store whose idle time passed 30 days during the replay entered win-back exactly once
    def lapsed_in_replay(i: int) -> bool:
        if kind(i) == "steady":
            return False
        code = f"S{i:04d}"
        last = max(
            (START - timedelta(days=150) + timedelta(hours=i % 100) + timedelta(days=7 * k))
            for k in range(60)
            if START - timedelta(days=150) + timedelta(hours=i % 100) + timedelta(days=7 * k)
            <= START - timedelta(days=25) + timedelta(days=(i * 7) % 50)
        )
        lapse = last + timedelta(days=30)
        return lapse <= end and code not in opted

    expected = {f"store:S{i:04d}" for i in range(N_STORES) if lapsed_in_replay(i)}
    assert sorted(e.subject for e in win) == sorted(expected)  # once each, opted-out never
    assert len(expected) > N_STORES // 2

    coupon_keys = list(coupons.calls)
    assert set(coupons.calls.values()) == {1}
    for e in win:
        steps = {r.step: r for r in by_enrolment[e.id]}
        if e.arm != "treatment":
            assert steps == {}  # control and holdout: nothing at all
            assert not any(f":{e.id}:" in k for k in coupon_keys)
            continue
        if e.exit_reason == "goal" and "coupon" not in steps:
            continue  # ordered before the first step ran
        assert steps["coupon"].status == "done"
        assert [k for k in coupon_keys if k.endswith(f":win-back:{e.id}:coupon")]
        if "message" in steps:
            assert steps["message"].status in ("done", "unreachable", "suppressed")
    arms = {e.arm for e in win}
    assert "control" in arms and "treatment" in arms

    # exit on order: every comeback store inside the journey left it on the goal
    for e in win:
        code = e.subject.split(":")[1]
        if code in comeback and comeback[code] > e.entered_at:
            assert (e.state, e.exit_reason) == ("exited", "goal"), code
            assert e.converted_at == comeback[code]

    # what WeChat received: kf messages only to treated, following, not opted-out owners, and
    # exactly as many as the step runs recorded as delivered
    delivered = defaultdict(int)
    for r in runs:
        if r.kind == "message" and r.status == "done":
            e = next(x for x in enrolments if x.id == r.enrolment_id)
            delivered[e.subject.split(":")[1]] += 1
    for code, openid in openids.items():
        kf = [o for o in sim.outbound(OA, openid, "kf") if o.errcode == 0]
        assert len(kf) == delivered.get(code, 0), code
        if code in opted:
            assert kf == []
    assert sum(delivered.values()) > 0
    unreachable = {r.reason for r in runs if r.status == "unreachable"}
    assert "not_following" in unreachable

    # quiet hours: no message step finished inside 21:30-08:30
    quiet = QuietHours()
    for r in runs:
        if r.kind == "message" and r.status in ("done", "unreachable"):
            assert not quiet.quiet(r.finished_at), r.finished_at
    assert any(r.reason == "quiet_hours" or r.status == "done" for r in runs)

    # the cap: never two marketing messages to one member within 7 days, across both journeys
    sends = defaultdict(list)
    for s in await world.rows(MarketingSend):
        sends[s.member_id].append(s.sent_at)
    for times in sends.values():
        times.sort()
        assert all(b - a >= timedelta(days=7) for a, b in itertools.pairwise(times))

    # affinity reaches 酱香 buyers only
    aff = [e for e in enrolments if e.journey == "affinity-jiangxiang"]
    assert aff and {e.subject.split(":")[1] for e in aff} <= jx

    # first scans during the replay enrol their consumer once; nobody is messaged outside a window
    fs = [e for e in enrolments if e.journey == "first-scan"]
    replay_start = START.replace(hour=TICK_HOURS[0]) - timedelta(days=1)
    new_scanners = {f"member:{m}" for m, at in first_scans.items() if replay_start < at <= end}
    assert sorted(e.subject for e in fs) == sorted(new_scanners)
    fs_runs = [r for e in fs for r in by_enrolment[e.id]]
    assert fs_runs and {r.status for r in fs_runs} <= {"unreachable", "held", "suppressed"}
    assert {r.reason for r in fs_runs if r.status == "unreachable"} >= {"not_following"}
    assert all(e.arm == "treatment" for e in fs if by_enrolment[e.id])
    consumer_ids = {f"o-consumer-{m}" for m in consumers}
    assert not [o for o in sim.outbound(OA) if o.openid in consumer_ids]  # WeChat saw none of them

    # tiers: every store has one, changes are recorded with their reason
    changes = await world.rows(TierChange)
    profiles = await world.rows(Profile, Profile.kind == "store")
    assert len(profiles) == N_STORES and all(p.tier in ("战略", "核心", "潜力") for p in profiles)
    assert {c.store_code for c in changes} == {p.subject.split(":")[1] for p in profiles}
    moved = {c.store_code for c in changes if c.from_tier == "核心" and c.to_tier == "潜力"}
    assert moved, sorted({(c.from_tier, c.to_tier) for c in changes})
    assert moved <= {f"S{i:04d}" for i in range(N_STORES) if kind(i) != "steady"}

    async with session_scope(world.sessions) as session:
        report = {r.journey: r for r in await status(session, world.tenant_id)}
    wb = report["win-back"]
    assert wb.arms["treatment"].enrolled + wb.arms["control"].enrolled + wb.arms["holdout"].enrolled == len(
        win
    )
    assert wb.uplift is not None and wb.coupons_issued == len(coupon_keys)
    took = time.monotonic() - started
    print(
        f"\nscenario: {N_STORES} stores, {N_CONSUMERS} consumers, {DAYS} days, "
        f"setup {setup_s:.1f}s, total {took:.1f}s"
    )
