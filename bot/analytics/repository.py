"""Reading and writing the analytics tables (events, rollups, alerts, reports)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.analytics.interface import Event
from bot.analytics.models import AnalyticsEvent
from bot.db import insert_ignore_statement
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


async def store_events(session: AsyncSession, events: list[Event], *, received_at: datetime) -> None:
    if not events:
        return
    members, stores = await _stamps(
        session,
        (e.member_id for e in events if e.member_id),
        (e.store_id for e in events if e.store_id),
    )
    rows = []
    for e in events:
        store_id, region, distributor, tier = members.get(e.member_id or 0, (None, "", "", ""))
        if e.store_id:
            store_id = e.store_id
            region, distributor = stores.get(e.store_id, (region, distributor))
        rows.append(
            {
                "tenant_id": e.tenant_id,
                "event_id": e.event_id[:96],
                "occurred_at": _when(e.occurred_at),
                "name": e.name[:32],
                "source": e.source[:8],
                "member_id": e.member_id,
                "store_id": store_id,
                "region_code": (e.region_code or region)[:64],
                "distributor_code": (e.distributor_code or distributor)[:64],
                "tier": tier[:24],
                "sku": e.sku[:64],
                "quantity": e.quantity,
                "amount_fen": e.amount_fen,
                "dwell_ms": e.dwell_ms,
                "props": orjson.dumps(e.props).decode(),
                "received_at": received_at,
            }
        )
    await session.execute(
        insert_ignore_statement(
            session, AnalyticsEvent.__table__, index_elements=["tenant_id", "event_id", "occurred_at"]
        ),
        rows,
    )
