"""Code batches and their lifecycle: generated -> activated (shipped) -> redeemed, or voided.

A batch is one row; activation and voiding are range rows over serials (the newest row that
covers a serial decides its state), so shipping a million bottles is one row, not a million.
A code gets a row of its own only when it is redeemed (``code_redemptions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import utcnow
from bot.membership.code_models import CodeBatch, CodeRange, SalesRegion
from bot.membership.codes import MAX_BATCH, MAX_SERIAL
from bot.membership.errors import BadRange, UnknownBatch

GENERATED, ACTIVATED, VOIDED = "generated", "activated", "voided"


@dataclass(frozen=True, slots=True)
class BatchView:
    id: int
    tenant_id: int
    brand: str
    sku: str
    product_name: str
    region_code: str | None
    distributor_code: str | None
    size: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CodeState:
    state: str  # generated | activated | voided
    store_code: str | None = None
    distributor_code: str | None = None
    changed_at: datetime | None = None


def _view(row: CodeBatch) -> BatchView:
    return BatchView(
        row.id,
        row.tenant_id,
        row.brand,
        row.sku,
        row.product_name,
        row.region_code,
        row.distributor_code,
        row.size,
        row.created_at,
    )


async def create_batch(
    session: AsyncSession,
    tenant_id: int,
    *,
    brand: str,
    sku: str,
    product_name: str,
    size: int,
    region_code: str | None = None,
    distributor_code: str | None = None,
    note: str = "",
) -> BatchView:
    if not 0 < size <= MAX_SERIAL:
        raise BadRange(f"a batch holds 1..{MAX_SERIAL} codes")
    if region_code is not None:
        found = await session.execute(
            select(SalesRegion.id).where(SalesRegion.tenant_id == tenant_id, SalesRegion.code == region_code)
        )
        if found.scalar_one_or_none() is None:
            raise BadRange(
                f"unknown region {region_code!r}; define it first: "
                f"jiubot codes region --code {region_code} --name NAME --provinces ..."
            )
    row = CodeBatch(
        tenant_id=tenant_id,
        brand=brand,
        sku=sku,
        product_name=product_name,
        size=size,
        region_code=region_code,
        distributor_code=distributor_code,
        note=note[:200],
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    if row.id > MAX_BATCH:
        raise BadRange("batch ids are exhausted for this code format")
    return _view(row)


async def get_batch(session: AsyncSession, batch_id: int, tenant_id: int | None = None) -> BatchView:
    row = await session.get(CodeBatch, batch_id)
    if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
        raise UnknownBatch(f"no batch {batch_id}", batch_id=batch_id)
    return _view(row)


async def list_batches(session: AsyncSession, tenant_id: int) -> list[BatchView]:
    stmt = select(CodeBatch).where(CodeBatch.tenant_id == tenant_id).order_by(CodeBatch.id)
    return [_view(r) for r in (await session.execute(stmt)).scalars()]


async def mark_range(
    session: AsyncSession,
    tenant_id: int,
    batch_id: int,
    first: int,
    last: int,
    action: str,
    *,
    store_code: str | None = None,
    distributor_code: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> int:
    """Activate (shipped, optionally to a store/distributor) or void serials [first, last]."""
    if action not in {"activate", "void"}:
        raise BadRange("action is activate or void")
    batch = await get_batch(session, batch_id, tenant_id)
    if not 1 <= first <= last <= batch.size:
        raise BadRange(f"serials must lie in 1..{batch.size} with first <= last")
    row = CodeRange(
        tenant_id=tenant_id,
        batch_id=batch_id,
        first_serial=first,
        last_serial=last,
        action=action,
        store_code=store_code,
        distributor_code=distributor_code,
        note=note[:200],
        created_at=now or utcnow(),
    )
    session.add(row)
    await session.flush()
    return row.id


async def code_state(session: AsyncSession, batch_id: int, serial: int) -> CodeState:
    stmt = (
        select(CodeRange)
        .where(
            CodeRange.batch_id == batch_id, CodeRange.first_serial <= serial, CodeRange.last_serial >= serial
        )
        .order_by(CodeRange.id.desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        return CodeState(GENERATED)
    return CodeState(
        ACTIVATED if row.action == "activate" else VOIDED,
        row.store_code,
        row.distributor_code,
        row.created_at,
    )


class BatchCache:
    """Batches never change once created: keep them in memory so a scan reads none."""

    def __init__(self, limit: int = 4096) -> None:
        self._items: dict[int, BatchView] = {}
        self.limit = limit

    async def get(self, session: AsyncSession, batch_id: int) -> BatchView:
        hit = self._items.get(batch_id)
        if hit is not None:
            return hit
        view = await get_batch(session, batch_id)
        if len(self._items) >= self.limit:
            self._items.pop(next(iter(self._items)))
        self._items[batch_id] = view
        return view
