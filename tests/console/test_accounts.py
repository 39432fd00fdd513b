"""Operator accounts on both databases: the CLI, the per-account lockout counter (also under
concurrent failures), version-checked edits and the append-only audit log."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from bot.cli import main
from bot.console import accounts, audit, lockout
from bot.console.models import AuditEntry, Operator
from bot.db import create_engine, session_factory, session_scope
from tests.console.clock import FakeClock
from tests.membership.test_batches import _seed_tenant


@pytest.fixture
async def sessions(db_url):
    await _seed_tenant(db_url)
    engine = create_engine(db_url)
    yield session_factory(engine)
    await engine.dispose()


async def _tenant(sessions) -> int:
    async with session_scope(sessions) as session:
        return (await session.execute(text("select id from tenants where slug = 'default'"))).scalar_one()


def test_cli_add_list_disable_reset(db_url, monkeypatch, capsys):
    monkeypatch.setenv("JIUBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("JIUBOT_SECRET_KEY", "test-secret-key-0123456789")
    monkeypatch.setenv("JIUBOT_OPERATOR_PASSWORD", "first admin 2026")
    asyncio.run(_seed_tenant(db_url))
    assert main(["operator", "add", "Boss", "--role", "hq_admin", "--name", "总部管理员"]) == 0
    assert main(["operator", "add", "boss", "--role", "hq_admin"]) == 1  # usernames are case-folded
    assert main(["operator", "add", "r1", "--role", "region_manager", "--scope", "region:12"]) == 0
    assert main(["operator", "add", "bad", "--role", "region_manager"]) == 1  # a region role needs a region
    monkeypatch.setenv("JIUBOT_OPERATOR_PASSWORD", "weak")
    with pytest.raises(SystemExit):
        main(["operator", "add", "weakling", "--role", "auditor"])
    capsys.readouterr()
    assert main(["operator", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[1:] for line in listed] == [
        ["boss", "hq_admin", "tenant", "active"],
        ["r1", "region_manager", "region:12", "active"],
    ]
    assert main(["operator", "disable", "r1"]) == 0
    assert main(["operator", "reset", "boss", "--generate"]) == 0
    out = capsys.readouterr().out
    assert "password: " in out

    async def check() -> None:
        engine = create_engine(db_url)
        try:
            async with session_scope(session_factory(engine)) as session:
                rows = {r.username: r for r in (await session.execute(select(Operator))).scalars()}
                log = [
                    (e.action, e.operator_username)
                    for e in (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()
                ]
        finally:
            await engine.dispose()
        assert rows["r1"].disabled and not rows["boss"].disabled
        assert rows["boss"].version == 2  # the reset was a versioned edit
        assert log == [
            ("operator.create", "cli"),
            ("operator.create", "cli"),
            ("operator.disable", "cli"),
            ("operator.reset_password", "cli"),
        ]

    asyncio.run(check())


async def test_account_locks_after_five_failures_even_when_concurrent(sessions):
    tenant = await _tenant(sessions)
    clock = FakeClock()
    async with session_scope(sessions) as session:
        op = await accounts.create(
            session, tenant, username="op-a", password="pass word 1", role="hq_operator"
        )

    async def fail() -> bool:
        async with session_scope(sessions) as session:
            return await lockout.account_failure(session, op.id, clock())

    results = await asyncio.gather(*(fail() for _ in range(5)))
    assert results.count(True) == 1  # exactly the fifth failure locks
    async with session_scope(sessions) as session:
        row = await accounts.by_username(session, tenant, "op-a")
        assert lockout.account_locked(row.locked_until, clock())
        assert not lockout.account_locked(row.locked_until, clock() + lockout.LOCK)


async def test_failures_outside_the_window_do_not_add_up(sessions):
    tenant = await _tenant(sessions)
    clock = FakeClock()
    async with session_scope(sessions) as session:
        op = await accounts.create(
            session, tenant, username="op-b", password="pass word 1", role="hq_operator"
        )
    for _ in range(4):
        async with session_scope(sessions) as session:
            assert not await lockout.account_failure(session, op.id, clock())
    clock.advance(minutes=16)
    async with session_scope(sessions) as session:
        assert not await lockout.account_failure(session, op.id, clock())  # a fresh window
        row = await accounts.by_username(session, tenant, "op-b")
        assert row.failed_logins == 1 and row.locked_until is None


async def test_a_stale_version_is_refused_and_changes_nothing(sessions):
    tenant = await _tenant(sessions)
    async with session_scope(sessions) as session:
        op = await accounts.create(session, tenant, username="op-c", password="pass word 1", role="auditor")
    async with session_scope(sessions) as session:
        moved = await accounts.change(session, tenant, op.id, op.version, display_name="张三")
    assert moved.version == op.version + 1 and moved.display_name == "张三"
    with pytest.raises(accounts.AccountError) as refused:
        async with session_scope(sessions) as session:
            await accounts.change(session, tenant, op.id, op.version, display_name="李四")
    assert refused.value.code == "stale"
    async with session_scope(sessions) as session:
        assert (await accounts.get(session, tenant, op.id)).display_name == "张三"
        assert await accounts.get(session, tenant + 1, op.id) is None  # another tenant sees nothing


async def test_audit_log_refuses_update_and_delete(sessions):
    tenant = await _tenant(sessions)
    async with session_scope(sessions) as session:
        await audit.record(session, audit.Who(tenant, None, "cli"), "test.action", target_id="1")
    for sql in ("update console_audit_log set action = 'x'", "delete from console_audit_log"):
        with pytest.raises(Exception, match="append-only"):
            async with session_scope(sessions) as session:
                await session.execute(text(sql))
    async with session_scope(sessions) as session:
        found = await audit.search(session, tenant)
    assert [(e.action, e.target_id) for e in found] == [("test.action", "1")]
