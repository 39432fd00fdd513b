"""SQLite under a write burst that outlasts ``busy_timeout``: "database is locked" is a 503 with
Retry-After and a Chinese message (JSON for the mini-program), never a plain-text 500, and the
refused requests wrote nothing (each transaction rolled back whole)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.membership.models import Member


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_locked_sqlite_answers_503_with_retry_after_and_writes_nothing(member_app, db_url):
    m = await member_app()
    members = [await m.member(f"mp-busy-{i}") for i in range(8)]
    blocker = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock past busy_timeout (5 s)
    try:
        burst = await asyncio.gather(
            *(
                m.client.post("/mp/api/member/push", json={"opt_out": True}, headers=m.bearer(x))
                for x in members
            )
        )
        for resp in burst:
            assert resp.status == 503
            assert resp.headers["Retry-After"] == "2"
            body = await resp.json()
            assert (body["error"], body["reason"]) == ("service_busy", "database_busy")
            assert "请稍后再试" in body["message"]
    finally:
        blocker.rollback()
        blocker.close()
    async with session_scope(m.services.sessions) as session:
        opted = (await session.execute(select(Member.push_opt_out).where(Member.id.in_(members)))).scalars()
        assert not any(opted)  # nothing was half-written
    # the lock is gone: the same burst goes through (the client's retry)
    again = await asyncio.gather(
        *(m.client.post("/mp/api/member/push", json={"opt_out": True}, headers=m.bearer(x)) for x in members)
    )
    assert [r.status for r in again] == [200] * len(members)
