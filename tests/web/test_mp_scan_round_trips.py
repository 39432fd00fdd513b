"""``POST /mp/api/scan`` on PostgreSQL: what one credited scan costs the database, end to end
through the mini-program API (issue 17: the scan path in fewer round trips)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.membership.conftest import RoundTrips


@pytest.fixture
def db_url(pg_url: str) -> str:
    """PostgreSQL only: the one-statement scan is PostgreSQL's."""
    return pg_url


async def test_a_credited_scan_through_the_api_is_two_round_trips(member_app):
    """The session's member is checked by the scan's own call (no separate read, which cost a
    pre-ping, BEGIN, a SELECT and COMMIT), and the scan is one autocommitted function call."""
    m = await member_app()
    batch = await m.batch()
    member = await m.member("mp-rt")

    async def scan(serial: int) -> dict:  # type: ignore[type-arg]
        q = quote(f"https://jb.example.cn/c/{m.code(batch.id, serial)}", safe="")
        resp = await m.client.post("/mp/api/scan", json={"q": q}, headers=m.bearer(member))
        assert resp.status == 200
        return await resp.json()

    assert (await scan(1))["outcome"] == "credited"  # caches warm, as in a running process
    with RoundTrips(m.services.sessions.kw["bind"]) as trips:
        answer = await scan(2)
    assert (answer["outcome"], answer["points"], answer["balance"]) == ("credited", 10, 20)
    assert len(trips.sql) == 2 and trips.sql[0] == "PING", trips.sql
    assert trips.sql[1].startswith("SELECT * FROM jiubot_scan_credit(")
