"""Migrations and models agree on both databases, and upgrading is repeatable."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from bot.migrate import alembic_config, upgrade
from bot.models import Base


def _sync(url: str) -> str:
    return url.replace("sqlite+aiosqlite", "sqlite")


def test_migrated_schema_matches_the_models(db_url):
    engine = create_engine(_sync(db_url))
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"


def test_database_is_at_every_head_and_upgrade_is_idempotent(db_url):
    upgrade(db_url)  # a second upgrade is a no-op
    script = ScriptDirectory.from_config(alembic_config(db_url))
    heads = set(script.get_heads())
    engine = create_engine(_sync(db_url))
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    # a head another branch's revision depends on (``depends_on``) is applied without being
    # listed as current: every head is current or below a current revision
    applied = {rev.revision for rev in script.iterate_revisions(tuple(current), "base")}
    assert current <= heads
    assert heads <= applied
