"""Fixtures of the membership tests: a session factory on a fresh database and a tenant."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import create_engine, session_factory, session_scope
from bot.membership import actions
from bot.tenancy.repository import get_or_create_tenant

_openids = itertools.count(1)


@pytest.fixture
async def engine(db_url: str):
    engine = create_engine(db_url, pool_size=20)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def tenant_id(sessions) -> int:
    async with session_scope(sessions) as session:
        return (await get_or_create_tenant(session, "brand", "品牌")).id


async def new_member(sessions, tenant_id: int, *, appid: str = "wxoa", unionid: str | None = None) -> int:
    async with session_scope(sessions) as session:
        return await actions.ensure_member(session, tenant_id, appid, f"o-{next(_openids)}", unionid=unionid)


class StatementCounter:
    """Counts SQL statements sent by an engine (proves a path does not touch the database)."""

    def __init__(self, engine) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []

    def _on(self, conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on)


@pytest.fixture
def count_sql(engine):
    return lambda: StatementCounter(engine)


async def drain(it: AsyncIterator) -> list:
    return [x async for x in it]
