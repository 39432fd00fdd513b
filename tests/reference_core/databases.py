"""Fresh databases with the core's tables, per test, on SQLite and PostgreSQL (the same recipe as
tests/conftest.py: a template created once per run, cloned per test)."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from reference_core.app import create_tables
from reference_core.db import create_engine
from tests.conftest import PG_DSN, _pg_url

RUN = uuid.uuid4().hex[:8]
_counter = iter(range(1, 10**9))


def admin(sql: str) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(sql)


def make_tables(url: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            await create_tables(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def core_pg_template() -> Iterator[str]:
    name = f"jc_{RUN}_tpl"
    admin(f'DROP DATABASE IF EXISTS "{name}"')
    admin(f'CREATE DATABASE "{name}"')
    make_tables(_pg_url(name))
    yield name
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def core_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("core") / "template.sqlite3"
    make_tables(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def core_pg_url(core_pg_template: str) -> Iterator[str]:
    name = f"jc_{RUN}_{next(_counter)}"
    admin(f'CREATE DATABASE "{name}" TEMPLATE "{core_pg_template}"')
    yield _pg_url(name)
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def core_sqlite_url(core_sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "core.sqlite3"
    shutil.copy(core_sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def core_db_url(request: pytest.FixtureRequest) -> str:
    """A fresh database with the core's tables; tests using it run on SQLite and on PostgreSQL."""
    return request.getfixturevalue("core_sqlite_url" if request.param == "sqlite" else "core_pg_url")
