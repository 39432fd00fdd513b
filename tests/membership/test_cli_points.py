"""``jiubot points audit`` exits 0 on a true ledger and 1 (naming the account) on a false one."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.cli import main
from bot.db import create_engine, session_factory, session_scope
from bot.membership import actions, points
from bot.membership.ledger import EARN
from bot.membership.ledger_models import CONSUMPTION
from bot.tenancy.repository import get_or_create_tenant


async def _seed(url: str) -> None:
    engine = create_engine(url)
    try:
        async with session_scope(session_factory(engine)) as session:
            tenant = (await get_or_create_tenant(session, "default", "品牌")).id
            member = await actions.ensure_member(session, tenant, "wxoa", "o-cli")
            await points.credit_member(
                session,
                tenant,
                member,
                kind=CONSUMPTION,
                delta=25,
                category=EARN,
                source_kind="t",
                source_id="1",
            )
    finally:
        await engine.dispose()


async def _tamper(url: str) -> None:
    engine = create_engine(url)
    try:
        async with session_scope(session_factory(engine)) as session:
            await session.execute(text("UPDATE points_accounts SET balance = balance + 1"))
    finally:
        await engine.dispose()


def test_points_audit_exit_codes(db_url, monkeypatch, capsys):
    monkeypatch.setenv("JIUBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("JIUBOT_SECRET_KEY", "test-secret-key-0123456789")
    asyncio.run(_seed(db_url))
    assert main(["points", "audit"]) == 0
    assert "1 accounts checked, 0 mismatched" in capsys.readouterr().out
    asyncio.run(_tamper(db_url))
    assert main(["points", "audit"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "balance=26 ledger_sum=25" in out
