"""The scheduled loyalty jobs: nightly audit, yearly expiry (every tenant, idempotent)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from bot.db import session_scope
from bot.membership import jobs, ledger
from bot.membership.ledger import EARN, Posting
from bot.membership.ledger_models import CONSUMPTION, PointsAccount
from tests.membership.conftest import new_member


async def _earn(sessions, tenant_id, member, delta, source, when):
    async with session_scope(sessions) as session:
        account = await ledger.account_for(session, tenant_id, CONSUMPTION, member_id=member)
        await ledger.post(session, tenant_id, Posting(account, delta, EARN, "t", source), now=when)
    return account


async def test_yearly_expiry_runs_for_every_tenant_once(sessions, tenant_id):
    member = await new_member(sessions, tenant_id)
    account = await _earn(sessions, tenant_id, member, 80, "a", datetime(2024, 5, 1, tzinfo=UTC))
    await _earn(sessions, tenant_id, member, 5, "b", datetime(2025, 5, 1, tzinfo=UTC))
    new_year = datetime(2026, 1, 1, 4, 0, tzinfo=UTC)  # noon in Shanghai, 1 January 2026
    assert await jobs.yearly_expiry(sessions, now=new_year) == 80
    assert await jobs.yearly_expiry(sessions, now=new_year) == 0  # a second fire changes nothing
    async with session_scope(sessions) as session:
        assert await ledger.balance(session, account) == 5


async def test_nightly_audit_reports_a_balance_that_disagrees_with_its_ledger(sessions, tenant_id):
    member = await new_member(sessions, tenant_id)
    account = await _earn(sessions, tenant_id, member, 10, "a", datetime(2026, 3, 1, tzinfo=UTC))
    assert await jobs.nightly_audit(sessions) == 0
    assert jobs.AUDIT_MISMATCHES._value.get() == 0
    async with session_scope(sessions) as session:  # a defect: someone wrote the balance directly
        await session.execute(update(PointsAccount).where(PointsAccount.id == account).values(balance=11))
    assert await jobs.nightly_audit(sessions) == 1
    assert jobs.AUDIT_MISMATCHES._value.get() == 1
