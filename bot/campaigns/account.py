"""The store's own account as the core keeps it: its credit (授信/订货贷: limit, used,
available, overdue) and the stock by warehouse of what it orders (the products of its recent orders)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Credit:
    limit_fen: int
    used_fen: int
    available_fen: int
    overdue_fen: int = 0  # owed past its terms (逾期)

    @property
    def used_percent(self) -> int:
        return round(100 * self.used_fen / self.limit_fen) if self.limit_fen else 0


@dataclass(frozen=True, slots=True)
class WarehouseStock:
    warehouse: str
    city: str
    available: int


@dataclass(frozen=True, slots=True)
class ProductStock:
    sku: str
    name: str
    total: int
    by_warehouse: tuple[WarehouseStock, ...]  # most available first, empty warehouses left out


@dataclass(frozen=True, slots=True)
class Account:
    store: str
    credit: Credit
    stock: tuple[ProductStock, ...]


async def account(core: Any, store_id: int, *, recent_orders: int = 5, products: int = 5) -> Account:
    store, page, warehouses = await asyncio.gather(
        core.org.store(store_id),
        core.orders.list_for_store(store_id, limit=recent_orders),
        core.catalog.warehouses(),
    )
    names: dict[str, str] = {}
    for order in page.items:
        for line in order.lines:
            if not line.is_gift and line.sku not in names and len(names) < products:
                names[line.sku] = line.name
    levels = await core.catalog.stock(list(names)) if names else ()
    where = {w.id: w for w in warehouses}
    stock = []
    for sku, name in names.items():
        rows = sorted(
            (lv for lv in levels if lv.sku == sku and lv.available > 0),
            key=lambda lv: lv.available,
            reverse=True,
        )
        by = tuple(
            WarehouseStock(
                where[r.warehouse_id].name if r.warehouse_id in where else str(r.warehouse_id),
                where[r.warehouse_id].city if r.warehouse_id in where else "",
                r.available,
            )
            for r in rows
        )
        stock.append(ProductStock(sku, name, sum(w.available for w in by), by))
    credit = Credit(
        store.credit_limit_fen, store.credit_used_fen, store.credit_available_fen, store.credit_overdue_fen
    )
    return Account(store.name, credit, tuple(stock))
