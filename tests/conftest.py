"""Shared fixtures: real PostgreSQL and Redis, a fresh database per test on both backends.

Tests that take ``db_url`` (or anything built on it) run twice: on SQLite and on PostgreSQL.
Each test gets its own database cloned from a migrated template, and its own Redis key prefix.
If PostgreSQL or Redis does not answer, the run stops at once with the reason: a backend is
never skipped silently.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
import redis as sync_redis

from bot.config import Settings, load_settings
from bot.migrate import upgrade

PG_DSN = os.environ.get("JIUBOT_TEST_PG_DSN", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")
REDIS_URL = os.environ.get("JIUBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:8]

OA_APPID = "wxtestoa00000001"
OA_TOKEN = "jiubotToken123"
OA_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OA_PREV_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


def _pg_url(dbname: str) -> str:
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{dbname}"


def pytest_sessionstart(session: pytest.Session) -> None:
    from bot.observability import configure_logging

    configure_logging("WARNING", "console", secret_key="test-secret-key-0123456789")
    problems = []
    try:
        with psycopg.connect(PG_DSN, connect_timeout=5) as conn:
            conn.execute("select 1")
    except Exception as exc:
        problems.append(f"PostgreSQL unreachable at {PG_DSN}: {exc} (run ./scripts/services)")
    try:
        sync_redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except Exception as exc:
        problems.append(f"Redis unreachable at {REDIS_URL}: {exc} (run ./scripts/services)")
    if problems:
        pytest.exit("\n".join(problems), returncode=3)


def _admin(sql: str) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"jt_{RUN_ID}_tpl"
    _admin(f'DROP DATABASE IF EXISTS "{name}"')
    _admin(f'CREATE DATABASE "{name}"')
    upgrade(_pg_url(name))
    yield name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


_counter = iter(range(1, 10**9))


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (for PostgreSQL-only tests)."""
    name = f"jt_{RUN_ID}_{next(_counter)}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield _pg_url(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "jiubot.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database; every test using it runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"jt:{RUN_ID}:{next(_counter)}:"
    yield prefix
    client = sync_redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def make_settings(db_url: str, redis_prefix: str):
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": db_url,
            "redis_url": REDIS_URL,
            "redis_prefix": redis_prefix,
            "oa_appid": OA_APPID,
            "oa_token": OA_TOKEN,
            "oa_aes_key": OA_AES_KEY,
            "oa_mode": "safe",
            "log_format": "console",
            "log_level": "WARNING",
            "secret_key": "test-secret-key-0123456789",
            "_env_file": None,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def settings(make_settings) -> Settings:
    return make_settings()


@pytest.fixture
async def redis_client(redis_prefix: str) -> AsyncIterator[object]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_URL)
    yield client
    await client.aclose()
