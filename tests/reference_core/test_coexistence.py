"""The core shares a database server with jiubot, not tables: its own core_* tables sit beside
jiubot's migrated schema in one database, and neither touches the other's."""

from __future__ import annotations

from sqlalchemy import inspect

from reference_core.db import Base, create_engine
from reference_core.seed import seed_core


async def test_core_tables_beside_jiubots_schema(db_url):
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            before = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        result = await seed_core(db_url, stores=3, orders_per_store=1)
        async with engine.connect() as conn:
            after = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert "alembic_version" in before and not any(t.startswith("core_") for t in before)
    assert after - before == set(Base.metadata.tables)
    assert all(t.startswith("core_") for t in Base.metadata.tables)
    assert result.store_count == 3
