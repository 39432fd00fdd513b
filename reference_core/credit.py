"""The store's overdue amount (逾期) and the tenant's rule on it: refuse new orders while a
store has anything overdue. Two small tables beside the store (no row: nothing overdue, rule off)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core.db import insert_ignore, utcnow
from reference_core.models import CreditOverdue, CreditRule


@dataclass(frozen=True)
class Terms:
    overdue_fen: int = 0
    refuse_when_overdue: bool = False

    @property
    def blocked(self) -> bool:
        return self.refuse_when_overdue and self.overdue_fen > 0


async def overdue(session: AsyncSession, store_ids: Iterable[int]) -> dict[int, int]:
    ids = list(store_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(CreditOverdue.store_id, CreditOverdue.overdue_fen).where(CreditOverdue.store_id.in_(ids))
    )
    return {store_id: fen for store_id, fen in rows}


async def terms(session: AsyncSession, tenant_id: int, store_id: int) -> Terms:
    owed = (await overdue(session, [store_id])).get(store_id, 0)
    rule = await session.scalar(
        select(CreditRule.refuse_when_overdue).where(CreditRule.tenant_id == tenant_id)
    )
    return Terms(owed, bool(rule))


async def set_overdue(session: AsyncSession, tenant_id: int, store_id: int, overdue_fen: int) -> None:
    await session.execute(
        insert_ignore(
            session,
            CreditOverdue.__table__,
            {"store_id": store_id, "tenant_id": tenant_id, "overdue_fen": 0, "updated_at": utcnow()},
            index_elements=["store_id"],
        )
    )
    row = await session.get(CreditOverdue, store_id)
    assert row is not None
    row.overdue_fen, row.updated_at = overdue_fen, utcnow()


async def set_rule(session: AsyncSession, tenant_id: int, refuse_when_overdue: bool) -> None:
    await session.execute(
        insert_ignore(
            session,
            CreditRule.__table__,
            {"tenant_id": tenant_id, "refuse_when_overdue": False},
            index_elements=["tenant_id"],
        )
    )
    row = await session.get(CreditRule, tenant_id)
    assert row is not None
    row.refuse_when_overdue = refuse_when_overdue
