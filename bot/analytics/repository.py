"""Reading and writing the analytics tables (events, rollups, alerts, reports)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.analytics.interface import Event, Record
from bot.analytics.models import AnalyticsEvent
from bot.db import insert_ignore_statement, is_postgres
from bot.membership.models import Member, Store


async def _stamps(
    session: AsyncSession, member_ids: Iterable[int], store_ids: Iterable[int]
) -> tuple[dict[int, tuple[int | None, str, str, str]], dict[int, tuple[str, str]]]:
    """member -> (store, region, distributor, tier); store -> (region, distributor)."""
    members: dict[int, tuple[int | None, str, str, str]] = {}
    wanted = sorted(set(member_ids))
    stores: dict[int, tuple[str, str]] = {}
    if wanted:
        rows = await session.execute(
            select(
                Member.id,
                Member.store_id,
                Member.region_code,
                Member.distributor_code,
                Member.tier,
                Store.region_code,
                Store.distributor_code,
            )
            .outerjoin(Store, Store.id == Member.store_id)
            .where(Member.id.in_(wanted))
        )
        for m_id, store_id, m_region, m_dist, tier, s_region, s_dist in rows:
            members[m_id] = (store_id, s_region or m_region or "", s_dist or m_dist or "", tier or "")
    wanted_stores = sorted(set(store_ids))
    if wanted_stores:
        found = await session.execute(
            select(Store.id, Store.region_code, Store.distributor_code).where(Store.id.in_(wanted_stores))
        )
        stores = {s_id: (region or "", dist or "") for s_id, region, dist in found}
    return members, stores


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


COLUMNS = (
    "tenant_id",
    "event_id",
    "occurred_at",
    "name",
    "source",
    "member_id",
    "store_id",
    "region_code",
    "distributor_code",
    "tier",
    "sku",
    "quantity",
    "amount_fen",
    "dwell_ms",
    "props",
    "received_at",
)
_COLS = ", ".join(COLUMNS)
# PostgreSQL: a batch is COPYed into a per-connection temporary table (emptied at commit) and
# moved with one INSERT ... SELECT ... ON CONFLICT DO NOTHING: COPY has no conflict clause, and
# it takes rows as tuples in the driver's C code instead of one bound parameter set per row.
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS analytics_stage "
    "(LIKE analytics_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_COPY = f"COPY analytics_stage ({_COLS}) FROM STDIN"
_MOVE = f"INSERT INTO analytics_events ({_COLS}) SELECT {_COLS} FROM analytics_stage ON CONFLICT DO NOTHING"


def _rows(
    events: list[Record],
    members: dict[int, tuple[int | None, str, str, str]],
    stores: dict[int, tuple[str, str]],
    received_at: datetime,
) -> list[tuple[Any, ...]]:
    rows = []
    nobody = (None, "", "", "")
    for e in events:
        store_id, region, distributor, tier = members.get(e.member_id or 0, nobody)
        if e.store_id:
            store_id = e.store_id
            region, distributor = stores.get(e.store_id, (region, distributor))
        rows.append(
            (
                e.tenant_id,
                e.event_id[:96],
                _when(e.occurred_at),
                e.name[:32],
                e.source[:8],
                e.member_id,
                store_id,
                (e.region_code or region)[:64],
                (e.distributor_code or distributor)[:64],
                tier[:24],
                e.sku[:64],
                e.quantity,
                e.amount_fen,
                e.dwell_ms,
                e.props,
                received_at,
            )
        )
    return rows


async def _copy(session: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    pg = raw.driver_connection
    assert pg is not None
    try:
        async with pg.cursor() as cur:
            await cur.execute(_STAGE)
            async with cur.copy(_COPY) as copy:
                for row in rows:
                    await copy.write_row(row)
            await cur.execute(_MOVE)
            await cur.execute("TRUNCATE analytics_stage")  # a retry in this transaction starts empty
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        # the caller's contract (the writer falls back to one by one): SQLAlchemy's errors
        error = DataError if isinstance(exc, psycopg.DataError) else IntegrityError
        raise error(_COPY, None, exc) from exc


async def store_events(session: AsyncSession, events: list[Event], *, received_at: datetime) -> None:
    await store_records(session, [Record.of(e) for e in events], received_at=received_at)


async def store_records(session: AsyncSession, events: list[Record], *, received_at: datetime) -> None:
    """Stamp and store events as the writer reads them; a duplicate event id is ignored."""
    if not events:
        return
    members, stores = await _stamps(
        session,
        (e.member_id for e in events if e.member_id),
        (e.store_id for e in events if e.store_id),
    )
    rows = _rows(events, members, stores, received_at)
    if is_postgres(session):
        await _copy(session, rows)
        return
    await session.execute(
        insert_ignore_statement(
            session, AnalyticsEvent.__table__, index_elements=["tenant_id", "event_id", "occurred_at"]
        ),
        [dict(zip(COLUMNS, row, strict=True)) for row in rows],
    )
