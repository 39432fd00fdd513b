"""Round trips of one credited scan on PostgreSQL (issue 17: the scan path in fewer round trips)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.membership import ledger, rules
from bot.membership.codes import make
from bot.membership.interface import CREDITED, ScanRequest
from bot.membership.ledger_models import PointsLedger
from tests.membership.conftest import RoundTrips, adult, make_batch


@pytest.fixture
def db_url(pg_url: str) -> str:
    """PostgreSQL only: the one-round-trip path is PostgreSQL's."""
    return pg_url


def _statements(trips: RoundTrips) -> list[str]:
    return [s for s in trips.sql if s not in ("PING", "BEGIN", "COMMIT")]


async def test_a_credited_scan_is_one_round_trip_and_one_redis_call_on_postgresql(
    engine, sessions, tenant_id, scanner, code_keys, redis
):
    """Issue 17: a credited scan was ten round trips to PostgreSQL (BEGIN, eight statements,
    COMMIT, after the pool's pre-ping) and two Redis calls. Now it is one call of
    ``jiubot_scan_credit`` in autocommit (its own transaction) and one Redis script (lockout
    and velocity windows)."""
    batch = await make_batch(sessions, tenant_id)
    member = await adult(sessions, tenant_id)
    warm = await scanner.scan(
        ScanRequest(tenant_id, member, make(code_keys, tenant_id, batch.id, 1), "mp", ip="203.0.113.5")
    )
    assert warm.outcome == CREDITED  # batch, rules, region and knobs now cached, as in a running process
    calls: list[str] = []
    original = redis.execute_command

    async def counted(*args, **kw):  # type: ignore[no-untyped-def]
        calls.append(str(args[0]))
        return await original(*args, **kw)

    redis.execute_command = counted
    with RoundTrips(engine) as trips:
        result = await scanner.scan(
            ScanRequest(tenant_id, member, make(code_keys, tenant_id, batch.id, 2), "mp", ip="203.0.113.5")
        )
    # 四川 is inside the batch's region (西南): no diversion alert, nothing else to write
    assert (result.outcome, result.points, result.balance, result.first_place, result.diverted) == (
        CREDITED,
        10,
        20,
        "四川省成都",
        False,
    )
    assert len(trips.sql) == 2 and trips.sql[0] == "PING"
    assert trips.sql[1].startswith("SELECT * FROM jiubot_scan_credit(")
    assert calls == ["EVALSHA"]
    async with session_scope(sessions) as session:
        assert (await ledger.audit(session))[1] == []


async def test_a_credit_with_follow_ups_runs_them_in_one_transaction(
    engine, sessions, tenant_id, scanner, code_keys
):
    """A credit that writes more (here the store's 开瓶奖励) is refused by the fast call, which
    writes nothing, and made in a transaction with its follow-ups."""
    batch = await make_batch(sessions, tenant_id, store="S-9")
    async with session_scope(sessions) as session:
        await rules.set_rule(session, tenant_id, "JX-500", scan_points=10, store_reward=2)
    member = await adult(sessions, tenant_id)
    with RoundTrips(engine) as trips:
        result = await scanner.scan(
            ScanRequest(tenant_id, member, make(code_keys, tenant_id, batch.id, 1), "mp")
        )
    assert (result.outcome, result.points, result.store_reward) == (CREDITED, 10, 2)
    calls = [s for s in _statements(trips) if s.startswith("SELECT * FROM jiubot_scan_credit(")]
    assert len(calls) == 2  # the fast call (nothing written), then the call in the transaction
    second = trips.sql.index(calls[1], trips.sql.index(calls[0]) + 1)
    assert trips.sql[second - 1] == "BEGIN" and trips.sql[-1] == "COMMIT"
    async with session_scope(sessions) as session:
        assert (await ledger.audit(session))[1] == []
        rows = (await session.execute(select(PointsLedger.source_kind).order_by(PointsLedger.id))).scalars()
        assert list(rows) == ["bottle_code", "open_reward"]
