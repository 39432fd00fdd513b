"""Facts kept locally: store orders (from the core's webhooks and order history) and SKUs.

``record_order`` is what the core webhook calls (one line there): an upsert per (tenant, core
order), so redelivery and the backfill agree. ``backfill_store`` pages through a store's order
history in the core."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation.models import OrderFact, SkuFact
from bot.automation.profiles import SkuInfo
from bot.db import insert_ignore, is_postgres, utcnow


@dataclass(frozen=True)
class OrderLineFact:
    sku: str
    quantity: int
    amount_fen: int


@dataclass(frozen=True)
class StoreOrder:
    core_order_id: int
    core_store_id: int
    store_code: str
    status: str
    total_fen: int
    ordered_at: datetime
    coupon_discount_fen: int = 0
    lines: tuple[OrderLineFact, ...] | None = None  # None: not known (webhook only)


async def record_order(session: AsyncSession, tenant_id: int, order: StoreOrder) -> None:
    """Insert or update the fact; lines and the total are kept when the update does not know them."""
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "core_order_id": order.core_order_id,
        "core_store_id": order.core_store_id,
        "store_code": order.store_code,
        "status": order.status,
        "total_fen": order.total_fen,
        "coupon_discount_fen": order.coupon_discount_fen,
        "ordered_at": order.ordered_at,
        "updated_at": utcnow(),
        "lines": orjson.dumps([line.__dict__ for line in order.lines or ()]).decode(),
    }
    insert = (pg_insert if is_postgres(session) else sqlite_insert)(OrderFact.__table__)
    changes: dict[str, Any] = {"status": insert.excluded.status, "updated_at": insert.excluded.updated_at}
    if order.lines is not None:  # the order itself (history): authoritative for time and lines
        changes["lines"] = insert.excluded.lines
        changes["coupon_discount_fen"] = insert.excluded.coupon_discount_fen
        changes["ordered_at"] = insert.excluded.ordered_at
    if order.total_fen:
        changes["total_fen"] = insert.excluded.total_fen
    stmt = insert.values(values).on_conflict_do_update(
        index_elements=["tenant_id", "core_order_id"], set_=changes
    )
    await session.execute(stmt)


async def remember_skus(
    session: AsyncSession, tenant_id: int, skus: Iterable[tuple[str, str, SkuInfo]]
) -> None:
    """(sku, name, info) rows; a known SKU keeps its first description."""
    for sku, name, info in skus:
        row = {
            "tenant_id": tenant_id,
            "sku": sku,
            "name": name,
            "brand": info.brand,
            "aroma": info.aroma,
            "category": info.category,
        }
        await session.execute(
            insert_ignore(session, SkuFact.__table__, [row], index_elements=["tenant_id", "sku"])
        )


async def catalog(session: AsyncSession, tenant_id: int) -> dict[str, SkuInfo]:
    rows = await session.execute(select(SkuFact).where(SkuFact.tenant_id == tenant_id))
    return {r.sku: SkuInfo(r.brand, r.aroma, r.category) for r in rows.scalars()}


# the core's order history ---------------------------------------------------------------------
class OrderHistory(Protocol):
    """What the backfill needs of the core (``CoreClient.orders`` satisfies it)."""

    async def list_for_store(
        self, store_id: int, *, status: str | None = None, cursor: str | None = None, limit: int = 20
    ) -> Any: ...


def from_event(event: Any, store_code: str, total_fen: int | None) -> StoreOrder:
    """A ``backend_client.OrderStatusChanged`` as a fact: no lines (the nightly backfill adds
    them); its time stands for the order's until the history says otherwise."""
    return StoreOrder(
        core_order_id=event.order_id,
        core_store_id=event.store_id,
        store_code=store_code,
        status=event.status,
        total_fen=total_fen or 0,
        ordered_at=event.at,
    )


def from_core(order: Any, store_code: str) -> StoreOrder:
    """A ``backend_client.Order`` as a fact (gifts count as zero-amount lines)."""
    return StoreOrder(
        core_order_id=order.id,
        core_store_id=order.store_id,
        store_code=store_code,
        status=order.status,
        total_fen=order.total_fen,
        ordered_at=order.created_at,
        coupon_discount_fen=order.coupon_discount_fen,
        lines=tuple(OrderLineFact(ln.sku, ln.quantity, ln.amount_fen) for ln in order.lines),
    )


async def backfill_store(
    history: OrderHistory,
    session: AsyncSession,
    tenant_id: int,
    core_store_id: int,
    store_code: str,
    *,
    page_size: int = 50,
    max_pages: int = 40,
) -> int:
    """Copy a store's order history from the core; returns how many orders were seen."""
    cursor: str | None = None
    seen = 0
    for _ in range(max_pages):
        page = await history.list_for_store(core_store_id, cursor=cursor, limit=page_size)
        for order in page.items:
            await record_order(session, tenant_id, from_core(order, store_code))
            seen += 1
        cursor = page.next_cursor
        if not cursor:
            break
    return seen


def lines_of(row: OrderFact) -> Sequence[OrderLineFact]:
    return [OrderLineFact(**item) for item in orjson.loads(row.lines or "[]")]


# the whole tenant, from the core -------------------------------------------------------------------
@dataclass(frozen=True)
class BackfillReport:
    stores: int
    orders: int
    skus: int


async def backfill(
    core: Any, session: AsyncSession, tenant_id: int, *, max_stores: int = 100_000
) -> BackfillReport:
    """Every store's order history (``core.org.stores`` pages, ``core.orders.list_for_store``)
    and the catalog facts (brand, aroma, category) of every SKU seen (``core.catalog.product``).
    ``core`` is a ``backend_client.CoreClient``; its errors propagate (the nightly job retries)."""
    stores = orders = 0
    cursor: str | None = None
    while stores < max_stores:
        page = await core.org.stores(cursor=cursor, limit=100)
        for store in page.items:
            orders += await backfill_store(core.orders, session, tenant_id, store.id, store.code)
            stores += 1
        cursor = page.next_cursor
        if not cursor:
            break
    known = set(await catalog(session, tenant_id))
    seen = {
        line.sku
        for row in (
            await session.execute(select(OrderFact).where(OrderFact.tenant_id == tenant_id))
        ).scalars()
        for line in lines_of(row)
    }
    fresh = []
    for sku in sorted(seen - known):
        product = await core.catalog.product(sku)
        fresh.append((sku, product.name, SkuInfo(product.brand, product.aroma or "", product.category)))
    await remember_skus(session, tenant_id, fresh)
    return BackfillReport(stores, orders, len(fresh))
