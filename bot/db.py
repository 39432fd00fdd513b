"""Database engine, declarative base and sessions.

SQLite follows the recipe measured in STACK.md: WAL, ``busy_timeout=5000``, the driver's own
transaction handling switched off and every transaction opened with ``BEGIN IMMEDIATE`` (the default
handling lost 435 of 600 concurrent read-modify-write updates). PostgreSQL uses psycopg 3.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Table, event
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, CursorResult, Result, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


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
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)

    if TYPE_CHECKING:
        # Every model here is mapped to a plain Table (none to a join or a select), which the
        # statements built from ``Model.__table__`` rely on; DeclarativeBase types it as FromClause.
        __table__: ClassVar[Table]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def create_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, hide_parameters: bool = True
) -> AsyncEngine:
    """``hide_parameters``: SQL errors (and so 500 tracebacks in the log) show the statement but
    not its values: phone numbers, openids, tokens. Pass False only to debug locally."""
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": 30}, hide_parameters=hide_parameters
        )
        _install_sqlite_recipe(engine)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
        hide_parameters=hide_parameters,
    )


def _install_sqlite_recipe(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:  # Any: the DBAPI connection
        # Let SQLAlchemy emit BEGIN itself (below) instead of the driver's deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on any exception."""
    async with factory() as session, session.begin():
        yield session


@asynccontextmanager
async def autocommit_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """For work that is ONE statement (a read, or a database function that is its own
    transaction): on PostgreSQL the connection runs in autocommit, which saves the BEGIN and
    COMMIT round trips; on SQLite it is ``session_scope``. The connection's isolation is
    restored when it returns to the pool."""
    async with factory() as session:
        if is_postgres(session):
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
        else:
            async with session.begin():
                yield session


def is_postgres(session_or_engine: AsyncSession | AsyncEngine) -> bool:
    bind = session_or_engine.bind if isinstance(session_or_engine, AsyncSession) else session_or_engine
    if bind is None:
        raise RuntimeError("the session is not bound to an engine")
    return bind.dialect.name == "postgresql"


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched. ``session.execute`` types its result as ``Result``;
    a DML statement's is a ``CursorResult``, the one that has ``rowcount``."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"rowcount of a {type(result).__name__}, not of a DML statement's result")
    return result.rowcount


BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit primary keys on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY."""


def insert_ignore(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]], *, index_elements: list[str]
) -> PgInsert | SqliteInsert:
    """``INSERT ... ON CONFLICT DO NOTHING`` on either database; returns the executable.

    One row uses the single-row form: a list of rows is a multi-row VALUES, which SQLAlchemy
    compiles afresh every time (its cache cannot hold it); several rows are best executed with
    ``insert_ignore_statement`` and a list of parameters."""
    insert = (pg_insert if is_postgres(session) else sqlite_insert)(table)
    stmt = insert.values(rows[0]) if len(rows) == 1 else insert.values(rows)
    return stmt.on_conflict_do_nothing(index_elements=index_elements)


def insert_ignore_statement(
    session: AsyncSession, table: Table, *, index_elements: list[str]
) -> PgInsert | SqliteInsert:
    """The same statement without values: execute it with a list of rows (executemany), which
    SQLAlchemy compiles once and caches, unlike a multi-row VALUES of varying length."""
    stmt = (pg_insert if is_postgres(session) else sqlite_insert)(table)
    return stmt.on_conflict_do_nothing(index_elements=index_elements)
