"""Round trips of one credited scan on PostgreSQL (issue 17: the scan path in fewer round trips)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from bot.membership.codes import make
from bot.membership.interface import CREDITED, ScanRequest
from tests.membership.conftest import adult, make_batch


@pytest.fixture
def db_url(pg_url: str) -> str:
    """PostgreSQL only: the one-round-trip path is PostgreSQL's."""
    return pg_url


class RoundTrips:
    def __init__(self, engine) -> None:
        self.engine = engine.sync_engine
        self.sql: list[str] = []

    def _stmt(self, conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        self.sql.append(statement.split("\n")[0][:100])

    def _begin(self, conn) -> None:  # type: ignore[no-untyped-def]
        self.sql.append("BEGIN")

    def _commit(self, conn) -> None:  # type: ignore[no-untyped-def]
        self.sql.append("COMMIT")

    def _checkout(self, *args) -> None:  # type: ignore[no-untyped-def]
        self.sql.append("CHECKOUT")

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._stmt)
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine.pool, "checkout", self._checkout)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._stmt)
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine.pool, "checkout", self._checkout)


async def test_a_credited_scan_is_one_statement_and_one_redis_call_on_postgresql(
    engine, sessions, tenant_id, scanner, code_keys, redis
):
    """Issue 17: the credited scan was eight statements in its transaction plus two Redis calls;
    now the claim and the posting are one call of ``jiubot_scan_credit`` and the lockout and
    velocity windows one script. Round trips counted: the pool's checkout (its pre-ping), BEGIN,
    each statement, COMMIT."""
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
    # 四川 is inside the batch's region (西南): no diversion alert, so nothing else to write
    assert (result.outcome, result.points, result.balance, result.first_place, result.diverted) == (
        CREDITED,
        10,
        20,
        "四川省成都",
        False,
    )
    statements = [s for s in trips.sql if s not in ("CHECKOUT", "BEGIN", "COMMIT")]
    assert len(statements) == 1 and statements[0].startswith("SELECT * FROM jiubot_scan_credit(")
    assert trips.sql == ["CHECKOUT", "BEGIN", statements[0], "COMMIT"]
    assert calls == ["EVALSHA"]
