"""Property: any interleaving of scans, redemptions, cancellations and expiries, run with real
concurrency, keeps every balance equal to the sum of its ledger and never negative, credits
each code at most once and never oversells stock."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.db import create_engine, session_factory, session_scope
from bot.membership import expiry, ledger, loyalty_config, redemption
from bot.membership.code_models import CodeRedemption
from bot.membership.codes import CodeKeys, make
from bot.membership.errors import InsufficientPoints, LimitReached, OutOfStock
from bot.membership.fraud import FraudGuard
from bot.membership.interface import ScanRequest
from bot.membership.ledger_models import PointsAccount, PointsLedger
from bot.membership.loyalty_config import ConfigCache
from bot.membership.reward_models import RedemptionOrder, RewardItem
from bot.membership.scanning import Scanner
from bot.redis import Keys
from bot.tenancy.repository import get_or_create_tenant
from tests.membership.conftest import REDIS_URL, adult, make_batch

KEYS = CodeKeys(b"property-code-key-0123456789abcdef")
_tenants = itertools.count(1)

scan_op = st.tuples(
    st.just("scan"), st.integers(0, 3), st.integers(1, 8), st.sampled_from([2024, 2025, 2026])
)
redeem_op = st.tuples(st.just("redeem"), st.integers(0, 3), st.integers(0, 1), st.just(0))
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 20), st.just(0), st.just(0))
expire_op = st.tuples(st.just("expire"), st.sampled_from([2024, 2025]), st.just(0), st.just(0))
groups = st.lists(
    st.lists(st.one_of(scan_op, scan_op, redeem_op, cancel_op, expire_op), min_size=1, max_size=4),
    min_size=1,
    max_size=6,
)


async def _run(url: str, prefix: str, plan) -> None:  # type: ignore[no-untyped-def]
    import redis.asyncio as aioredis

    engine = create_engine(url, pool_size=8)
    client = aioredis.from_url(REDIS_URL)
    sessions = session_factory(engine)
    try:
        async with session_scope(sessions) as session:
            tenant = (await get_or_create_tenant(session, f"p{next(_tenants)}", "p")).id
            await loyalty_config.update(
                session,
                tenant,
                daily_scan_cap=1000,
                monthly_scan_cap=1000,
                member_velocity=[[60, 100000]],
                source_velocity=[[60, 100000]],
                scan_points_default=15,
            )
        guard = FraudGuard(client, Keys(f"{prefix}{tenant}:"))
        scanner = Scanner(sessions, KEYS, guard, ConfigCache(sessions, ttl=3600))
        batch = await make_batch(sessions, tenant, region=None)
        members = [await adult(sessions, tenant) for _ in range(4)]
        async with session_scope(sessions) as session:
            items = []
            for cost, stock in ((20, 2), (35, 1)):
                item = RewardItem(
                    tenant_id=tenant, catalog="gift", name=f"礼品{cost}", points_cost=cost, stock=stock
                )
                session.add(item)
                await session.flush()
                items.append(item.id)
        orders: list[int] = []

        async def do(op) -> None:  # type: ignore[no-untyped-def]
            kind, a, b, year = op
            if kind == "scan":
                when = datetime(year, 6, 1, tzinfo=UTC)
                await scanner.scan(
                    ScanRequest(tenant, members[a], make(KEYS, tenant, batch.id, b), "mp", scanned_at=when)
                )
            elif kind == "redeem":
                try:
                    async with session_scope(sessions) as session:
                        orders.append((await redemption.redeem(session, tenant, members[a], items[b])).id)
                except (InsufficientPoints, OutOfStock, LimitReached):
                    pass
            elif kind == "cancel" and orders:
                async with session_scope(sessions) as session:
                    await redemption.cancel(session, tenant, orders[a % len(orders)])
            elif kind == "expire":
                await expiry.run_expiry(sessions, a, tenant_id=tenant, now=datetime(a + 2, 1, 2, tzinfo=UTC))

        for group in plan:
            await asyncio.gather(*(do(op) for op in group))

        async with session_scope(sessions) as session:
            checked, bad = await ledger.audit(session, tenant)
            assert bad == [], (checked, bad)
            lowest = select(func.coalesce(func.min(PointsAccount.balance), 0))
            assert (await session.execute(lowest)).scalar_one() >= 0
            redeemed = (
                await session.execute(
                    select(func.count()).select_from(CodeRedemption).where(CodeRedemption.tenant_id == tenant)
                )
            ).scalar_one()
            credits = (
                await session.execute(
                    select(func.count()).where(
                        PointsLedger.tenant_id == tenant, PointsLedger.source_kind == "bottle_code"
                    )
                )
            ).scalar_one()
            assert credits == redeemed <= 8
            for item_id, initial in zip(items, (2, 1), strict=True):
                stock = (await session.get(RewardItem, item_id)).stock
                live = (
                    await session.execute(
                        select(func.coalesce(func.sum(RedemptionOrder.quantity), 0)).where(
                            RedemptionOrder.item_id == item_id, RedemptionOrder.status != "cancelled"
                        )
                    )
                ).scalar_one()
                assert stock >= 0 and stock + live == initial
    finally:
        await client.aclose()
        await engine.dispose()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=groups)
def test_random_interleavings_keep_the_ledger_true(db_url, redis_prefix, plan):
    asyncio.run(_run(db_url, redis_prefix, plan))
