"""Ordering points from order webhooks, expiry as ledger rows, tiers by the rolling year."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.db import session_scope
from bot.membership import expiry, ledger, orders, tiers
from bot.membership.ledger import EARN, SPEND, Posting
from bot.membership.ledger_models import CONSUMPTION, ORDERING, PointsAccount, PointsLedger
from bot.membership.loyalty_config import LoyaltyConfig
from bot.membership.models import Member
from tests.membership.conftest import new_member

CONFIG = LoyaltyConfig()


async def _order(sessions, tenant_id, order_id, status, amount=123_456, store="S1"):
    async with session_scope(sessions) as session:
        return await orders.order_status_changed(
            session,
            tenant_id,
            order_id=order_id,
            store_code=store,
            amount_fen=amount,
            status=status,
            config=CONFIG,
        )


async def _store_balance(sessions, store="S1") -> tuple[int, list[tuple[int, str]]]:
    async with session_scope(sessions) as session:
        account = (
            await session.execute(select(PointsAccount).where(PointsAccount.kind == ORDERING))
        ).scalar_one()
        rows = (
            await session.execute(
                select(PointsLedger.delta, PointsLedger.source_kind)
                .where(PointsLedger.account_id == account.id)
                .order_by(PointsLedger.id)
            )
        ).all()
        return account.balance, [tuple(r) for r in rows]


async def test_paid_order_credits_once_per_yuan_and_cancel_reverses(sessions, tenant_id):
    first = await _order(sessions, tenant_id, "O1", "paid")
    again = await _order(sessions, tenant_id, "O1", "completed")
    assert (first.state, first.points, again.points) == ("credited", 1234, 0)
    assert await _store_balance(sessions) == (1234, [(1234, "order")])
    cancelled = await _order(sessions, tenant_id, "O1", "cancelled")
    assert (cancelled.state, cancelled.points, cancelled.shortfall) == ("reversed", 1234, 0)
    await _order(sessions, tenant_id, "O1", "cancelled")
    await _order(sessions, tenant_id, "O1", "paid")  # a stale retry after the cancel
    assert await _store_balance(sessions) == (0, [(1234, "order"), (-1234, "order_reversal")])


async def test_cancel_arriving_before_paid_voids_the_order(sessions, tenant_id):
    assert (await _order(sessions, tenant_id, "O2", "cancelled")).state == "void"
    assert (await _order(sessions, tenant_id, "O2", "paid")).points == 0
    assert await _store_balance(sessions) == (0, [])


async def test_concurrent_webhooks_for_one_order_credit_once(sessions, tenant_id):
    results = await asyncio.gather(*(_order(sessions, tenant_id, "O3", "paid", 10_000) for _ in range(15)))
    assert sorted(r.points for r in results) == [0] * 14 + [100]
    assert await _store_balance(sessions) == (100, [(100, "order")])


async def test_reversal_of_spent_points_takes_what_is_left_and_reports_the_rest(sessions, tenant_id):
    await _order(sessions, tenant_id, "O4", "paid", 50_000)
    async with session_scope(sessions) as session:
        account = (await session.execute(select(PointsAccount.id))).scalar_one()
        await ledger.post(session, tenant_id, Posting(account, -450, SPEND, "redemption", "r1"))
    result = await _order(sessions, tenant_id, "O4", "refunded")
    assert (result.points, result.shortfall) == (50, 450)
    assert (await _store_balance(sessions))[0] == 0


def _at(year, month, day) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


async def test_points_expire_at_the_end_of_the_following_year_oldest_first(sessions, tenant_id):
    member = await new_member(sessions, tenant_id)
    async with session_scope(sessions) as session:
        account = await ledger.account_for(session, tenant_id, CONSUMPTION, member_id=member)
        for source, delta, category, when in (
            ("a", 100, EARN, _at(2024, 3, 1)),
            ("b", -30, SPEND, _at(2025, 2, 1)),  # spends 2024 points first
            ("c", 50, EARN, _at(2025, 6, 1)),
            ("d", 20, EARN, _at(2026, 1, 5)),
        ):
            await ledger.post(session, tenant_id, Posting(account, delta, category, "t", source), now=when)
    early = await expiry.run_expiry(sessions, 2024, now=_at(2025, 12, 30))
    assert early.points == 0  # not yet the end of 2025
    run = await expiry.run_expiry(sessions, 2024, now=_at(2026, 1, 10))
    assert (run.expired_accounts, run.points) == (1, 70)  # 100 - 30 spent; the 2025 points stay
    again = await expiry.run_expiry(sessions, 2024, now=_at(2026, 1, 11))
    assert again.points == 0
    async with session_scope(sessions) as session:
        assert await ledger.balance(session, account) == 70
        rows = (
            await session.execute(select(PointsLedger.source_id).where(PointsLedger.category == "expire"))
        ).scalars()
        assert list(rows) == [f"{account}:2024"]
        assert (await ledger.audit(session))[1] == []


async def test_tiers_upgrade_at_once_and_downgrade_only_at_review(sessions, tenant_id):
    config = LoyaltyConfig.from_dict(
        {"tiers": [["basic", "普通", 0], ["silver", "银卡", 100], ["gold", "金卡", 300]]}
    )
    member = await new_member(sessions, tenant_id)
    start = datetime(2026, 1, 10, tzinfo=UTC)
    async with session_scope(sessions) as session:
        account = await ledger.account_for(session, tenant_id, CONSUMPTION, member_id=member)
        await ledger.post(session, tenant_id, Posting(account, 120, EARN, "t", "1"), now=start)
        assert await tiers.upgrade_if_due(session, member, config, now=start) == "silver"
        await ledger.post(session, tenant_id, Posting(account, 200, EARN, "t", "2"), now=start)
        assert await tiers.upgrade_if_due(session, member, config, now=start) == "gold"
        assert await tiers.upgrade_if_due(session, member, config, now=start) is None
    # 13 months later nothing was earned in the rolling year, but only the review downgrades
    later = start + timedelta(days=400)
    async with session_scope(sessions) as session:
        assert await tiers.upgrade_if_due(session, member, config, now=later) is None
        assert (await session.get(Member, member)).tier == "gold"
    review = await tiers.review_tiers(sessions, tenant_id, config, now=later)
    assert (review.members, review.upgraded, review.downgraded) == (1, 0, 1)
    assert (await tiers.review_tiers(sessions, tenant_id, config, now=later)).downgraded == 0
    async with session_scope(sessions) as session:
        assert (await session.get(Member, member)).tier == "basic"
