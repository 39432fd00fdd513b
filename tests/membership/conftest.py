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


class RoundTrips:
    """What goes over the wire to PostgreSQL, as psycopg sends it: the pool's pre-ping at each
    checkout, BEGIN before a transaction's first statement and COMMIT at its end (neither in
    autocommit), and each statement."""

    def __init__(self, engine) -> None:
        self.engine = engine.sync_engine
        self.sql: list[str] = []
        self._begun = False

    @staticmethod
    def _autocommit(conn) -> bool:  # type: ignore[no-untyped-def]
        return bool(conn.connection.dbapi_connection.autocommit)

    def _stmt(self, conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if self._begun and not self._autocommit(conn):
            self.sql.append("BEGIN")
        self._begun = False
        self.sql.append(statement.split("\n")[0][:100])

    def _begin(self, conn) -> None:  # type: ignore[no-untyped-def]
        self._begun = True

    def _commit(self, conn) -> None:  # type: ignore[no-untyped-def]
        if not self._autocommit(conn):
            self.sql.append("COMMIT")

    def _checkout(self, *args) -> None:  # type: ignore[no-untyped-def]
        self.sql.append("PING")

    def __enter__(self) -> RoundTrips:
        event.listen(self.engine, "before_cursor_execute", self._stmt)
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine.pool, "checkout", self._checkout)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._stmt)
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine.pool, "checkout", self._checkout)


@pytest.fixture
def count_sql(engine):
    return lambda: StatementCounter(engine)


async def drain(it: AsyncIterator) -> list:
    return [x async for x in it]


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis(redis_prefix):
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
def code_keys():
    from bot.membership.codes import CodeKeys

    return CodeKeys(b"test-code-master-key-0123456789abcdef")


@pytest.fixture
def scanner(sessions, redis, redis_prefix, code_keys):
    from bot.membership.fraud import FraudGuard
    from bot.membership.loyalty_config import ConfigCache
    from bot.membership.scanning import Scanner
    from bot.redis import Keys

    return Scanner(
        sessions, code_keys, FraudGuard(redis, Keys(redis_prefix)), ConfigCache(sessions, ttl=3600)
    )


async def adult(sessions, tenant_id: int, **kw) -> int:
    member = await new_member(sessions, tenant_id, **kw)
    async with session_scope(sessions) as session:
        await actions.confirm_age(session, member)
    return member


async def make_batch(
    sessions, tenant_id: int, *, size=1000, region="SW", activate=True, store=None, sku="JX-500"
):
    from bot.membership import batches, regions

    async with session_scope(sessions) as session:
        if region and await regions.get_region(session, tenant_id, region) is None:
            await regions.define_region(
                session, tenant_id, region, "西南大区", provinces=["四川", "贵州"], cities=["重庆"]
            )
        batch = await batches.create_batch(
            session,
            tenant_id,
            brand="黔酒",
            sku=sku,
            product_name="黔酒·酱香典藏 53度 500ml",
            size=size,
            region_code=region,
            distributor_code="D-CD-01",
        )
        if activate:
            await batches.mark_range(session, tenant_id, batch.id, 1, size, "activate", store_code=store)
    return batch


async def set_config(sessions, tenant_id: int, scanner=None, **changes) -> None:
    from bot.membership import loyalty_config

    async with session_scope(sessions) as session:
        await loyalty_config.update(session, tenant_id, **changes)
    if scanner is not None:
        scanner.forget()
