"""Funnels, stalls and sell-through on a seeded story (numbers worked out by hand)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.analytics import repository
from bot.analytics.funnels import cart_abandoned, funnel, viewed_without_ordering, weekly_cohorts
from bot.analytics.interface import Event, Transfer
from bot.analytics.models import SlowMovingAlert
from bot.analytics.rollups import rollup_day
from bot.analytics.sellthrough import (
    raise_slow_moving_alerts,
    sell_through,
    slow_moving,
    transfer_suggestions,
)
from bot.db import create_engine, session_factory, session_scope
from bot.membership.models import Member
from bot.tenancy.repository import get_or_create_tenant

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
STEPS = ("product_view", "add_to_cart", "quote", "order")


@pytest.fixture
async def db(db_url):
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    async with session_scope(sessions) as session:
        tenant = (await get_or_create_tenant(session, "story", "故事酒业")).id
    yield sessions, tenant
    await engine.dispose()


def _ev(tenant: int, n: list[int], name: str, member: int | None, at: datetime, **kw) -> Event:
    n[0] += 1
    return Event(tenant, f"s:{n[0]}", name, int(at.timestamp() * 1000), member_id=member, **kw)


async def _seed_story(sessions, tenant: int) -> None:
    n = [0]
    m = lambda minutes: T0 + timedelta(minutes=minutes)  # noqa: E731
    ev = []
    # m1: the whole way within an hour
    ev += [_ev(tenant, n, "product_view", 1, m(0), sku="A", dwell_ms=30_000)]
    ev += [_ev(tenant, n, "add_to_cart", 1, m(10), sku="A", quantity=2)]
    ev += [_ev(tenant, n, "quote", 1, m(20), amount_fen=99_800)]
    ev += [_ev(tenant, n, "order_line", 1, m(60), sku="A", quantity=2)]
    ev += [_ev(tenant, n, "order", 1, m(60.1), amount_fen=99_800)]
    # m2: viewed, carted, then removed it
    ev += [_ev(tenant, n, "product_view", 2, m(0), sku="A"), _ev(tenant, n, "add_to_cart", 2, m(5), sku="A")]
    ev += [_ev(tenant, n, "remove_from_cart", 2, m(6), sku="A", quantity=1)]
    # m3: a page view between the view and the cart (breaks a strict funnel)
    ev += [_ev(tenant, n, "product_view", 3, m(0), sku="A"), _ev(tenant, n, "page_view", 3, m(1))]
    ev += [_ev(tenant, n, "add_to_cart", 3, m(2), sku="A")]
    # m4: carted first, viewed after (only an any-order funnel takes him past step 1)
    ev += [_ev(tenant, n, "add_to_cart", 4, m(0), sku="A"), _ev(tenant, n, "product_view", 4, m(3), sku="A")]
    # m5: carted two days after the view
    ev += [
        _ev(tenant, n, "product_view", 5, m(0), sku="A"),
        _ev(tenant, n, "add_to_cart", 5, m(2 * 1440), sku="A"),
    ]
    # m6: another product only; m7: looked at A three times, never ordered
    ev += [_ev(tenant, n, "product_view", 6, m(0), sku="B")]
    ev += [_ev(tenant, n, "product_view", 7, m(k * 100), sku="A") for k in range(3)]
    async with session_scope(sessions) as session:
        await repository.store_events(session, ev, received_at=datetime.now(UTC))


@pytest.mark.parametrize(
    ("order", "window", "expected"),
    [
        ("ordered", timedelta(days=1), (6, 3, 1, 1)),
        ("strict", timedelta(days=1), (6, 2, 1, 1)),
        ("any", timedelta(days=1), (6, 4, 1, 1)),
        ("ordered", timedelta(days=7), (6, 4, 1, 1)),
        ("ordered", timedelta(hours=1), (6, 3, 1, 1)),
    ],
)
async def test_funnel_counts_on_the_seeded_story(db, order, window, expected):
    sessions, tenant = db
    await _seed_story(sessions, tenant)
    async with session_scope(sessions) as session:
        result = await funnel(
            session,
            tenant,
            start=T0 - timedelta(days=1),
            end=T0 + timedelta(days=6),
            steps=STEPS,
            window=window,
            order=order,
            sku="A",
        )
    assert tuple(s.members for s in result.steps) == expected
    assert result.order == order


async def test_a_window_past_30_days_or_one_step_is_refused(db):
    sessions, tenant = db
    async with session_scope(sessions) as session:
        with pytest.raises(ValueError):
            await funnel(session, tenant, start=T0, end=T0, window=timedelta(days=31))
        with pytest.raises(ValueError):
            await funnel(session, tenant, start=T0, end=T0, steps=("product_view",))


async def test_stalls_viewed_without_ordering_and_cart_abandoned(db):
    sessions, tenant = db
    await _seed_story(sessions, tenant)
    now = T0 + timedelta(days=3, hours=1)
    async with session_scope(sessions) as session:
        assert await viewed_without_ordering(session, tenant, times=3, now=now) == [7]
        assert await viewed_without_ordering(session, tenant, times=1, now=now, sku="B") == [6]
        # m1 ordered, m2 removed it; m5's cart is 25 hours old
        assert await cart_abandoned(session, tenant, now=now) == [(3, "A"), (4, "A"), (5, "A")]
        assert await cart_abandoned(session, tenant, now=now, idle=timedelta(hours=26)) == [
            (3, "A"),
            (4, "A"),
        ]


async def test_weekly_cohorts_count_new_members_active_in_later_weeks(db):
    sessions, tenant = db
    monday = datetime(2026, 11, 15, 16, 0, tzinfo=UTC)  # Monday 2026-11-16 00:00 Shanghai
    async with session_scope(sessions) as session:
        for i in range(3):
            session.add(Member(id=100 + i, tenant_id=tenant, created_at=monday + timedelta(days=1)))
        session.add(Member(id=200, tenant_id=tenant, created_at=monday + timedelta(days=8)))
    n = [0]
    events = [
        _ev(tenant, n, "page_view", 100, monday + timedelta(days=8)),  # cohort 0, week +1
        _ev(tenant, n, "page_view", 101, monday + timedelta(days=15)),  # cohort 0, week +2
        _ev(tenant, n, "page_view", 100, monday + timedelta(days=15, hours=1)),
        _ev(tenant, n, "page_view", 200, monday + timedelta(days=15)),  # cohort 1, week +1
    ]
    async with session_scope(sessions) as session:
        await repository.store_events(session, events, received_at=datetime.now(UTC))
        rows = await weekly_cohorts(session, tenant, first_week_start=monday, weeks=2, follow=3)
    assert [(r.week, r.size, r.active) for r in rows] == [
        ("2026-W47", 3, (1, 2, 0)),
        ("2026-W48", 1, (1, 0, 0)),
    ]


async def _seed_stock(sessions, tenant: int) -> None:
    n = [0]
    at = lambda d: datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=4)  # noqa: E731
    east = {"region_code": "EAST", "distributor_code": "D1"}
    ev = [
        _ev(tenant, n, "order_line", None, at(date(2026, 10, 20)), sku="A", quantity=60, store_id=1, **east),
        _ev(tenant, n, "order_line", None, at(date(2026, 10, 20)), sku="A", quantity=12, store_id=2, **east),
        _ev(tenant, n, "order_line", None, at(date(2026, 11, 20)), sku="A", quantity=12, store_id=2, **east),
        _ev(tenant, n, "order_line", None, at(date(2026, 11, 25)), sku="A", quantity=24, store_id=3, **east),
    ]
    ev += [
        _ev(tenant, n, "scan", 50 + k, at(date(2026, 11, 21)), sku="A", quantity=1, store_id=2, **east)
        for k in range(22)
    ]
    async with session_scope(sessions) as session:
        await repository.store_events(session, ev, received_at=datetime.now(UTC))
    for day in (date(2026, 10, 20), date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 25)):
        await rollup_day(sessions, day)


async def test_a_store_that_ordered_and_never_scanned_gets_a_slow_moving_alert_once(db):
    sessions, tenant = db
    await _seed_stock(sessions, tenant)
    today = date(2026, 12, 6)
    async with session_scope(sessions) as session:
        found = await slow_moving(session, tenant, today=today, weeks=4)
        assert [(s.store_id, s.sku, s.ordered, s.scanned) for s in found] == [(1, "A", 60, 0)]
        # store 3 stocked A 11 days ago: too new to call slow
        for _ in range(2):
            await raise_slow_moving_alerts(session, tenant, today=today, weeks=4)
        alerts = (await session.scalars(select(SlowMovingAlert))).all()
        assert [(a.store_id, a.sku, a.week) for a in alerts] == [(1, "A", "2026-W49")]
        assert await transfer_suggestions(session, tenant, today=today, weeks=4) == [
            Transfer("A", 1, 2, 12, "EAST")
        ]


async def test_sell_through_per_sku_region_distributor_week(db):
    sessions, tenant = db
    await _seed_stock(sessions, tenant)
    async with session_scope(sessions) as session:
        rows = await sell_through(session, tenant, first=date(2026, 11, 16), weeks=2)
    assert [(r.week, r.sku, r.region_code, r.distributor_code, r.ordered, r.scanned) for r in rows] == [
        ("2026-W47", "A", "EAST", "D1", 12, 22),
        ("2026-W48", "A", "EAST", "D1", 24, 0),
    ]


async def test_store_cohorts_count_new_stores_ordering_in_later_weeks(db):
    from bot.analytics.funnels import store_cohorts
    from bot.membership.models import Store

    sessions, tenant = db
    monday = datetime(2026, 11, 15, 16, 0, tzinfo=UTC)  # Monday 2026-11-16 00:00 Shanghai
    async with session_scope(sessions) as session:
        for i, days in enumerate((1, 2, 9)):
            session.add(
                Store(id=300 + i, tenant_id=tenant, code=f"C{i}", created_at=monday + timedelta(days=days))
            )
    n = [0]
    events = [
        _ev(tenant, n, "order", None, monday + timedelta(days=8), store_id=300),  # cohort 0, week +1
        _ev(tenant, n, "order", None, monday + timedelta(days=15), store_id=300),  # cohort 0, week +2
        _ev(tenant, n, "order", None, monday + timedelta(days=16), store_id=302),  # cohort 1, week +1
        _ev(tenant, n, "page_view", 5, monday + timedelta(days=8), store_id=301),  # not an order
    ]
    async with session_scope(sessions) as session:
        await repository.store_events(session, events, received_at=datetime.now(UTC))
    for k in range(21):
        await rollup_day(sessions, date(2026, 11, 16) + timedelta(days=k))
    async with session_scope(sessions) as session:
        rows = await store_cohorts(session, tenant, first_week_start=monday, weeks=2, follow=2)
    assert [(r.week, r.size, r.active) for r in rows] == [("2026-W47", 2, (1, 1)), ("2026-W48", 1, (1, 0))]


async def test_the_cli_prints_the_funnel_and_the_sell_through(db, db_url, monkeypatch, capsys):
    import asyncio

    from bot.cli import main

    sessions, tenant = db
    await _seed_story(sessions, tenant)
    await _seed_stock(sessions, tenant)
    monkeypatch.setenv("JIUBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("JIUBOT_SECRET_KEY", "test-secret-key-0123456789")
    monkeypatch.setenv("JIUBOT_TENANT_SLUG", "story")
    args = [
        "analytics",
        "funnel",
        "--from",
        "2026-11-30",
        "--to",
        "2026-12-07",
        "--window-hours",
        "24",
        "--sku",
        "A",
    ]
    assert await asyncio.to_thread(main, args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["product_view", "6"],
        ["add_to_cart", "3"],
        ["quote", "1"],
        ["order", "1"],
    ]
    assert (
        await asyncio.to_thread(main, ["analytics", "sell-through", "--week", "2026-W47", "--weeks", "2"])
        == 0
    )
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows == [
        ["2026-W47", "A", "EAST", "D1", "12", "22", "183.3%"],
        ["2026-W48", "A", "EAST", "D1", "24", "0", "0.0%"],
    ]
    assert (
        await asyncio.to_thread(main, ["analytics", "funnel", "--from", "2026-12-07", "--to", "2026-12-01"])
        == 2
    )
