"""Coupons, forwards and journey steps become server events (once, however often the job runs;
a pending claim or an unfinished step waits for its outcome); the report's engagement figures
(win-back conversions, live reservations and attendance, content-attributed orders, coupons,
forwards) equal independent SQL counts on the seeded week, with last week's value."""

from __future__ import annotations

from datetime import timedelta

import orjson
from sqlalchemy import select, text, update

from bot.analytics import archive, sources
from bot.analytics.report import weekly_figures
from bot.automation.models import Enrolment, StepRun
from bot.content.models import (
    ContentCredit,
    ContentItem,
    ContentShare,
    ContentView,
    LiveDelivery,
    LiveReservation,
    Livestream,
)
from bot.db import session_scope
from bot.membership.models import Member, Store
from bot.membership.reward_models import CouponClaim
from bot.ordering.models import OrderIntent, StoreLink
from tests.analytics.test_report import END, START, WEEK

INSIDE = [START + timedelta(hours=h) for h in (2, 50, 100, 160)]
BEFORE = [START - timedelta(days=2), START - timedelta(hours=1)]  # last week
AFTER = [END + timedelta(hours=1)]


async def _seed(stack) -> dict[str, int]:
    tenant = stack.tenant_id
    times = INSIDE + BEFORE + AFTER
    async with session_scope(stack.services.sessions) as session:
        store = Store(tenant_id=tenant, code="S-E", name="东店", region_code="EAST", distributor_code="D1")
        session.add(store)
        await session.flush()
        session.add(StoreLink(tenant_id=tenant, store_id=store.id, core_store_id=501, code="S-E"))
        people = []
        for _ in times:
            member = Member(tenant_id=tenant, store_id=store.id, created_at=START - timedelta(days=30))
            session.add(member)
            await session.flush()
            people.append(member.id)
        item = ContentItem(tenant_id=tenant, kind="article", title="酱香工艺", state="published")
        live = Livestream(tenant_id=tenant, title="新品直播", starts_at=START + timedelta(days=2))
        session.add_all([item, live])
        await session.flush()
        for n, (who, when) in enumerate(zip(people, times, strict=True)):
            session.add(
                CouponClaim(
                    tenant_id=tenant,
                    member_id=who,
                    campaign="c1",
                    source="menu",
                    store_code="S-E",
                    idempotency_key=f"claim-{n}",
                    status="claimed" if n != 1 else "failed",  # one failed claim is no claim
                    claimed_at=when,
                )
            )
            session.add(
                ContentShare(
                    tenant_id=tenant, item_id=item.id, forwarder_id=who, code=f"share{n:04d}", created_at=when
                )
            )
            await session.flush()
            share = (
                await session.execute(select(ContentShare).where(ContentShare.code == f"share{n:04d}"))
            ).scalar_one()
            for k, counted in enumerate((True, n % 2 == 0)):  # an odd forwarder's own view is not counted
                session.add(
                    ContentView(
                        tenant_id=tenant,
                        share_id=share.id,
                        viewer_id=people[(n + k) % len(people)],
                        counted=counted,
                        reason="" if counted else "self",
                        opened_at=when + timedelta(minutes=k),
                    )
                )
            session.add(LiveReservation(tenant_id=tenant, live_id=live.id, member_id=who, created_at=when))
            if n % 2 == 0:
                session.add(
                    LiveDelivery(
                        tenant_id=tenant,
                        live_id=live.id,
                        member_id=who,
                        kind="click",
                        state="sent",
                        created_at=when,
                    )
                )
            session.add(
                ContentCredit(
                    tenant_id=tenant,
                    kind=("order", "live_order", "follow")[n % 3],  # a follow credit is not an order
                    subject=f"o{n}",
                    item_id=item.id,
                    viewer_id=who,
                    happened_at=when,
                )
            )
            enrolment = Enrolment(
                tenant_id=tenant,
                journey="win-back" if n != 2 else "replenish",
                version=1,
                subject=f"store:S{n}",
                member_id=who,
                arm="control" if n == 3 else "treatment",  # a control conversion is not ours
                due_at=when,
                entered_at=when - timedelta(days=5),
                goal_until=when + timedelta(days=25),
                converted_at=when,
            )
            session.add(enrolment)
            await session.flush()
            session.add(
                StepRun(
                    enrolment_id=enrolment.id,
                    step="coupon",
                    kind="coupon",
                    status="done",
                    started_at=when,
                    finished_at=when + timedelta(seconds=3),
                )
            )
            session.add(
                OrderIntent(
                    tenant_id=tenant,
                    member_id=who,
                    channel="chat",
                    core_store_id=501,
                    idempotency_key=f"k{n}",
                    body=orjson.dumps(
                        {"store_id": 501, "lines": [{"sku": "FJ-53", "cases": 1}], "coupon_claim_id": n}
                        if n % 2
                        else {"store_id": 501, "lines": [{"sku": "FJ-53", "cases": 1}]}
                    ).decode(),
                    status="placed",
                    total_fen=10_000,
                    created_at=when,
                    updated_at=END + timedelta(hours=1),
                )
            )
    return {"live": live.id}


async def _independent(stack, start, end) -> dict[str, int]:
    params = {"t": stack.tenant_id, "a": start, "b": end}
    queries = {
        "coupons_claimed": "SELECT count(*) FROM coupon_claims WHERE tenant_id=:t AND status='claimed' "
        "AND claimed_at>=:a AND claimed_at<:b",
        "coupons_used": "SELECT count(*) FROM ordering_order_intents WHERE tenant_id=:t AND status='placed' "
        "AND body LIKE '%coupon_claim_id%' AND created_at>=:a AND created_at<:b",
        "forwards": "SELECT count(*) FROM content_shares WHERE tenant_id=:t "
        "AND created_at>=:a AND created_at<:b",
        "live_reservations": "SELECT count(*) FROM content_live_reservations WHERE tenant_id=:t "
        "AND created_at>=:a AND created_at<:b",
        "live_attendance": "SELECT count(*) FROM content_live_deliveries WHERE tenant_id=:t AND kind='click' "
        "AND created_at>=:a AND created_at<:b",
        "content_orders": "SELECT count(*) FROM content_credits WHERE tenant_id=:t "
        "AND kind IN ('order','live_order') AND happened_at>=:a AND happened_at<:b",
        "win_back_conversions": "SELECT count(*) FROM auto_enrolments WHERE tenant_id=:t "
        "AND journey='win-back' AND arm='treatment' AND converted_at>=:a AND converted_at<:b",
        "journey_steps": "SELECT count(*) FROM auto_step_runs WHERE finished_at>=:a AND finished_at<:b",
        "content_views": "SELECT count(*) FROM content_views WHERE tenant_id=:t AND counted "
        "AND opened_at>=:a AND opened_at<:b",
    }
    async with session_scope(stack.services.sessions) as session:
        return {k: int((await session.execute(text(q), params)).scalar() or 0) for k, q in queries.items()}


async def test_engagement_figures_equal_independent_sql_counts_with_last_weeks(stack):
    await _seed(stack)
    runtime = stack.services.analytics
    await sources.emit_new(stack.services.sessions, runtime.stream, now=END + timedelta(hours=2))
    await stack.drain()
    await archive.prepare_week(stack.services.sessions, stack.tenant_id, WEEK, END + timedelta(days=1))
    await archive.prepare_week(stack.services.sessions, stack.tenant_id, "2026-W48", END + timedelta(days=1))
    this = await _independent(stack, START, END)
    last = await _independent(stack, START - timedelta(weeks=1), START)
    # the seed's story: 4 in the week (one claim failed, one enrolment is another journey, one
    # is control, one credit is a follow), 2 the week before
    assert this == {
        "coupons_claimed": 3,
        "coupons_used": 2,
        "forwards": 4,
        "live_reservations": 4,
        "live_attendance": 2,
        "content_orders": 3,
        "win_back_conversions": 2,
        "journey_steps": 4,
        "content_views": 6,  # two opens of each of 4 shares, less two forwarders' own
    }
    assert all(last[k] > 0 for k in last), last
    async with session_scope(stack.services.sessions) as session:
        figures = await weekly_figures(session, stack.tenant_id, WEEK)
        east = await weekly_figures(session, stack.tenant_id, WEEK, scope=_scope("region", "EAST"))
        west = await weekly_figures(session, stack.tenant_id, WEEK, scope=_scope("region", "WEST"))
    for key in this:
        assert (figures.get(key).value, figures.get(key).previous) == (this[key], last[key]), key
        assert east.get(key).value == this[key], key  # every member's store is in EAST
        assert not west.get(key).value, key
    page_keys = {m.key for m in figures.metrics}
    assert set(this) <= page_keys


def _scope(kind: str, code: str):
    from bot.analytics.interface import Scope

    return Scope(kind, code)


async def test_a_pending_claim_and_an_unfinished_step_are_emitted_once_they_settle(stack):
    await _seed(stack)
    runtime = stack.services.analytics
    now = END + timedelta(hours=2)
    async with session_scope(stack.services.sessions) as session:
        member = (await session.scalars(select(Member.id))).first()
        claim = CouponClaim(
            tenant_id=stack.tenant_id,
            member_id=member,
            campaign="c2",
            source="mp",
            idempotency_key="late",
            status="pending",
            claimed_at=now - timedelta(hours=1),
        )
        enrolment = (await session.scalars(select(Enrolment))).first()
        run = StepRun(
            enrolment_id=enrolment.id, step="message", kind="message", started_at=now - timedelta(hours=1)
        )
        session.add_all([claim, run])
        await session.flush()
        claim_id, run_id = claim.id, run.id
    for _ in range(2):  # a second run emits nothing new
        await sources.emit_new(stack.services.sessions, runtime.stream, now=now)
    await stack.drain()
    assert await stack.count_events(event_id=f"coupon:{claim_id}") == 0
    assert await stack.count_events(event_id=f"journey_step:{run_id}") == 0
    assert await stack.count_events(name="coupon_claimed") == 6
    assert await stack.count_events(name="forward") == 7
    assert await stack.count_events(name="journey_step") == 7
    async with session_scope(stack.services.sessions) as session:
        await session.execute(update(CouponClaim).where(CouponClaim.id == claim_id).values(status="claimed"))
        await session.execute(
            update(StepRun).where(StepRun.id == run_id).values(status="done", finished_at=now)
        )
    later = now + timedelta(hours=3)  # past the re-read window: only the cursor's wait finds them
    await sources.emit_new(stack.services.sessions, runtime.stream, now=later)
    await sources.emit_new(stack.services.sessions, runtime.stream, now=later)
    await stack.drain()
    assert await stack.count_events(event_id=f"coupon:{claim_id}") == 1
    assert await stack.count_events(event_id=f"journey_step:{run_id}") == 1
    assert await stack.count_events(name="coupon_claimed") == 7
    # a forward carries its forwarder and is stamped with his store's region
    assert await stack.count_events(name="forward", region_code="EAST") == 7
