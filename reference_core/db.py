"""The core's own database plumbing (it must not import ``bot``; same recipe as ``bot/db.py``).

SQLite: WAL, ``busy_timeout``, the driver's transaction handling switched off and every transaction
opened with ``BEGIN IMMEDIATE`` (STACK.md measured the default handling losing 435 of 600 concurrent
updates). PostgreSQL: psycopg 3 at READ COMMITTED, where a conditional ``UPDATE ... WHERE x >= :n``
re-checks its condition after waiting for a concurrent writer, so it cannot oversell.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import psycopg
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Table, Update, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, CursorResult, Dialect, Result, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)

    if TYPE_CHECKING:
        # Every model here is mapped to a plain Table (none to a join or a select), which the
        # statements built from ``Model.__table__`` rely on; DeclarativeBase types it as FromClause.
        __table__: ClassVar[Table]


BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit keys on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY."""


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on both databases (SQLite has no timezone type)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs too, and pick the async drivers."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    return url


def create_engine(
    url: str, *, pool_size: int = 10, pool_timeout: float = 60.0, single_writer: bool = False
) -> AsyncEngine:
    """``single_writer`` (SQLite only): one pooled connection, so this process's write transactions
    queue fairly in the pool instead of polling SQLite's lock until busy_timeout gives up."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        sizing = {"pool_size": 1, "max_overflow": 0} if single_writer else {"pool_size": pool_size}
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_timeout=pool_timeout, **sizing)
        _install_sqlite_recipe(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        connect_args={"prepare_threshold": None},
    )


def _install_sqlite_recipe(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:  # Any: the DBAPI connection
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Readers take a deferred BEGIN (a consistent WAL snapshot that does not block writers);
        # anything that may write takes the write lock up front.
        if conn.get_execution_options().get(READONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


READONLY = "core_readonly"


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_engines(
    url: str, *, pool_size: int = 10, pool_timeout: float = 60.0
) -> tuple[AsyncEngine, AsyncEngine]:
    """(writer, reader). PostgreSQL: one engine for both. SQLite: a single-connection writer (SQLite
    has one writer at a time anyway) and a pool of readers on WAL snapshots."""
    if normalize_url(url).startswith("sqlite"):
        writer = create_engine(url, pool_timeout=pool_timeout, single_writer=True)
        return writer, create_engine(url, pool_size=pool_size, pool_timeout=pool_timeout)
    engine = create_engine(url, pool_size=pool_size, pool_timeout=pool_timeout)
    return engine, engine


def reader_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read (SQLite: deferred BEGIN instead of BEGIN IMMEDIATE)."""
    return async_sessionmaker(
        engine.execution_options(**{READONLY: True}), expire_on_commit=False, autoflush=False
    )


def is_postgres(session: AsyncSession) -> bool:
    if session.bind is None:
        raise RuntimeError("the session is not bound to an engine")
    return session.bind.dialect.name == "postgresql"


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched. ``session.execute`` types its result as ``Result``;
    a DML statement's is a ``CursorResult``, the one that has ``rowcount``."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"rowcount of a {type(result).__name__}, not of a DML statement's result")
    return result.rowcount


def insert_ignore(session: AsyncSession, table, values: dict | list[dict], *, index_elements: list[str]):
    """``INSERT ... ON CONFLICT DO NOTHING`` on either database."""
    stmt = (pg_insert if is_postgres(session) else sqlite_insert)(table).values(values)
    return stmt.on_conflict_do_nothing(index_elements=index_elements)


def utcnow() -> datetime:
    return datetime.now(UTC)


# PostgreSQL aborts one side of a deadlock (40P01) or a serialization conflict (40001); both are safe
# to re-run because the whole transaction rolled back. SQLite "database is locked" after busy_timeout
# is surfaced (as 503 busy) rather than retried here: the caller's own retry is cheaper than a pile-up.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}


def _is_retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    return code in _RETRYABLE_SQLSTATES


class RetryTransaction(Exception):
    """Raised by work whose conditional update lost a race to a concurrent transaction: everything
    rolls back and the work runs again on fresh data (it will then succeed or refuse properly)."""


class TooMuchContention(Exception):
    """The work lost its race every time it was run."""


async def run_transaction(
    factory: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    attempts: int = 16,
) -> T:
    """Run ``work`` in one transaction; run it again after a PostgreSQL deadlock or serialization
    abort, or when it raised RetryTransaction."""
    for attempt in range(1, attempts + 1):
        try:
            async with factory() as session, session.begin():
                return await work(session)
        except RetryTransaction:
            if attempt == attempts:
                raise TooMuchContention from None
        except DBAPIError as exc:
            if attempt == attempts or not _is_retryable(exc):
                raise
        await asyncio.sleep(random.uniform(0, 0.005 * attempt))
    raise AssertionError("unreachable")  # pragma: no cover


Take = tuple[Update, dict[str, int]]
"""A conditional UPDATE built once with ``bindparam``s, and this request's values for them."""

_compiled_takes: dict[tuple[int, str], tuple[str, dict[str, Any]]] = {}


def _take_sql(stmt: Update, dialect: Dialect, params: dict[str, int]) -> tuple[str, dict[str, Any]]:
    """The statement wrapped to fail when it changes no row, compiled once (the statements are
    module constants), with its literal values (``remaining > 0``) merged into this call's values."""
    key = (id(stmt), dialect.name)
    cached = _compiled_takes.get(key)
    if cached is None:
        compiled = stmt.compile(dialect=dialect)
        sql = f"WITH taken AS ({compiled} RETURNING 1) SELECT 1 / count(*) FROM taken"
        cached = _compiled_takes[key] = (sql, dict(compiled.params))
    sql, defaults = cached
    return sql, {**defaults, **params}


async def take_and_commit(session: AsyncSession, takes: Sequence[Take]) -> None:
    """Run conditional UPDATEs on contended rows (each must change exactly one row) and COMMIT.

    On PostgreSQL the UPDATEs and the COMMIT leave in one round trip (a psycopg pipeline), so the
    hot rows stay locked only while PostgreSQL executes them, not until this process gets round to
    sending COMMIT: on a busy event loop that wait, not the database, is what caps a hot row's
    throughput. An UPDATE that changes no row fails on purpose (``1 / count(*)``), so the COMMIT
    never runs; RetryTransaction then re-runs the work on fresh data, which succeeds or refuses with
    the right reason. SQLite has one writer at a time: plain UPDATEs in the open transaction."""
    if not takes:
        return
    if not is_postgres(session):
        for stmt, params in takes:
            if rowcount(await session.execute(stmt, params)) != 1:
                raise RetryTransaction
        return
    await session.flush()
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    if not isinstance(raw, psycopg.AsyncConnection):
        raise TypeError(f"expected a psycopg connection, got {type(raw).__name__}")
    try:
        async with raw.pipeline():
            for stmt, params in takes:
                await raw.execute(*_take_sql(stmt, connection.dialect, params))
            await raw.commit()
    except psycopg.errors.DivisionByZero:
        raise RetryTransaction from None
    # SQLAlchemy's own COMMIT that follows is a no-op for psycopg: the transaction is already over.
