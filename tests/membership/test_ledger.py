"""The ledger: one posting per source, balance == sum(ledger), never negative, under concurrency."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from bot.db import session_scope
from bot.membership import ledger
from bot.membership.errors import InsufficientPoints
from bot.membership.ledger import EARN, SPEND, Posting
from bot.membership.ledger_models import CONSUMPTION, PointsLedger
from tests.membership.conftest import new_member


async def _account(sessions, tenant_id) -> int:
    member = await new_member(sessions, tenant_id)
    async with session_scope(sessions) as session:
        return await ledger.account_for(session, tenant_id, CONSUMPTION, member_id=member)


async def _post(sessions, tenant_id, posting) -> bool:
    async with session_scope(sessions) as session:
        return await ledger.post(session, tenant_id, posting)


async def _state(sessions, account) -> tuple[int, int, int]:
    async with session_scope(sessions) as session:
        rows = (
            await session.execute(select(func.count()).where(PointsLedger.account_id == account))
        ).scalar_one()
        return await ledger.balance(session, account), await ledger.ledger_sum(session, account), rows


async def test_a_source_posts_once(sessions, tenant_id):
    account = await _account(sessions, tenant_id)
    assert await _post(sessions, tenant_id, Posting(account, 30, EARN, "bottle_code", "1:1"))
    assert not await _post(sessions, tenant_id, Posting(account, 30, EARN, "bottle_code", "1:1"))
    assert await _state(sessions, account) == (30, 30, 1)


async def test_overdraft_is_refused_and_leaves_no_row_even_if_caught(sessions, tenant_id):
    account = await _account(sessions, tenant_id)
    await _post(sessions, tenant_id, Posting(account, 10, EARN, "bottle_code", "1:2"))
    async with session_scope(sessions) as session:
        with pytest.raises(InsufficientPoints):
            await ledger.post(session, tenant_id, Posting(account, -11, SPEND, "redemption", "r1"))
        # the caller swallowed the error and committed: still no stray ledger row
    assert await _state(sessions, account) == (10, 10, 1)


async def test_concurrent_distinct_postings_all_count(sessions, tenant_id):
    account = await _account(sessions, tenant_id)
    results = await asyncio.gather(
        *(_post(sessions, tenant_id, Posting(account, 7, EARN, "bottle_code", f"9:{i}")) for i in range(40))
    )
    assert all(results)
    assert await _state(sessions, account) == (280, 280, 40)


async def test_concurrent_same_source_posts_once(sessions, tenant_id):
    account = await _account(sessions, tenant_id)
    results = await asyncio.gather(
        *(_post(sessions, tenant_id, Posting(account, 5, EARN, "bottle_code", "7:7")) for _ in range(25))
    )
    assert sum(results) == 1
    assert await _state(sessions, account) == (5, 5, 1)


async def test_concurrent_spending_never_goes_negative(sessions, tenant_id):
    account = await _account(sessions, tenant_id)
    await _post(sessions, tenant_id, Posting(account, 100, EARN, "bottle_code", "3:1"))

    async def spend(i: int) -> bool:
        try:
            return await _post(sessions, tenant_id, Posting(account, -30, SPEND, "redemption", f"s{i}"))
        except InsufficientPoints:
            return False

    results = await asyncio.gather(*(spend(i) for i in range(10)))
    assert sum(results) == 3
    assert await _state(sessions, account) == (10, 10, 4)


async def test_audit_passes_then_catches_a_tampered_balance(sessions, tenant_id):
    account = await _account(sessions, tenant_id)
    await _post(sessions, tenant_id, Posting(account, 42, EARN, "bottle_code", "5:5"))
    async with session_scope(sessions) as session:
        checked, bad = await ledger.audit(session)
    assert checked == 1 and bad == []
    async with session_scope(sessions) as session:
        await session.execute(text("UPDATE points_accounts SET balance = 41 WHERE id = :id"), {"id": account})
    async with session_scope(sessions) as session:
        _, bad = await ledger.audit(session)
    assert [(m.account_id, m.balance, m.ledger_sum) for m in bad] == [(account, 41, 42)]


async def test_database_refuses_a_negative_balance_whatever_the_caller(sessions, tenant_id):
    account = await _account(sessions, tenant_id)
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        async with session_scope(sessions) as session:
            await session.execute(
                text("UPDATE points_accounts SET balance = -1 WHERE id = :id"), {"id": account}
            )
