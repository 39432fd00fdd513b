"""``seed_core``: a realistic demo tenant, idempotently (a second run adds what is missing and keeps
everything else: stock levels, orders, claims).

The catalog comes from ``reference_core/data/catalog.yaml``; regions, distributors, warehouses in
six cities, stores (the first few with known owner phones, so chat binding can be shown), price
lists by tier, stock, promotions of every kind, coupon campaigns and delivered order history.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import seed_data as d
from reference_core.app import create_tables
from reference_core.db import create_engine, insert_ignore, session_factory
from reference_core.models import (
    ApiKey,
    CouponCampaign,
    Distributor,
    Inventory,
    PriceList,
    PriceListItem,
    Product,
    Promotion,
    Region,
    Store,
    Tenant,
    Warehouse,
)
from reference_core.seed_history import add_history
from reference_core.seed_offers import add_campaigns, add_promotions
from reference_core.tenants import add_key, ensure_tenant


@dataclass(frozen=True)
class SeededStore:
    id: int
    code: str
    name: str
    owner_name: str
    owner_phone: str
    city: str
    tier: str
    region_code: str


@dataclass(frozen=True)
class SeedResult:
    tenant: str
    api_keys: tuple[str, ...]
    stores: tuple[SeededStore, ...]  # the stores whose owner phones are known (d.KNOWN_PHONES)
    store_count: int
    product_count: int
    warehouse_count: int
    orders_created: int


async def seed_core(
    database_url: str,
    *,
    tenant: str = "demo",
    tenant_name: str = "示例酒业",
    api_key: str | None = None,
    stores: int = 200,
    orders_per_store: int = 3,
    catalog: Path | None = None,
    random_seed: int = 2026,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    now: datetime | None = None,
) -> SeedResult:
    """Seed (or top up) a tenant. Without ``api_key``, a key is generated on the first run and the
    same key is returned by later runs; with one, that key is registered (idempotently)."""
    now = now or datetime.now(UTC)
    rng = random.Random(random_seed)
    engine = create_engine(database_url)
    try:
        await create_tables(engine)
        async with session_factory(engine)() as session, session.begin():
            row = await ensure_tenant(session, tenant, tenant_name)
            if webhook_url is not None:
                row.webhook_url, row.webhook_secret = webhook_url, webhook_secret or row.webhook_secret
            keys = await _keys(session, row, api_key)
            regions = await _regions(session, row.id)
            distributors = await _distributors(session, row.id, regions)
            warehouses = await _warehouses(session, row.id)
            products = await _products(session, row.id, d.load_catalog(catalog))
            await _price_lists(session, row.id, regions, products)
            await _stock(session, row.id, warehouses, products, rng)
            store_rows = await _stores(session, row.id, regions, distributors, stores, rng)
            if not await session.scalar(select(func.count()).where(Promotion.tenant_id == row.id)):
                await add_promotions(session, row.id, products, warehouses, now)
            if not await session.scalar(select(func.count()).where(CouponCampaign.tenant_id == row.id)):
                add_campaigns(session, row.id, now)
            created = await add_history(session, row.id, store_rows, orders_per_store, rng, now)
            region_code = {v: k for k, v in regions.items()}
            known = [
                SeededStore(
                    s.id,
                    s.code,
                    s.name,
                    s.owner_name,
                    s.owner_phone,
                    s.city,
                    s.tier,
                    region_code[s.region_id],
                )
                for s in store_rows[: len(d.KNOWN_PHONES)]
            ]
            return SeedResult(
                tenant=tenant,
                api_keys=keys,
                stores=tuple(known),
                store_count=len(store_rows),
                product_count=len(products),
                warehouse_count=len(warehouses),
                orders_created=created,
            )
    finally:
        await engine.dispose()


async def _keys(session: AsyncSession, tenant: Tenant, api_key: str | None) -> tuple[str, ...]:
    if api_key:
        await add_key(session, tenant, api_key, label="seed")
        return (api_key,)
    existing = await session.scalar(
        select(ApiKey.seed_key)
        .where(ApiKey.tenant_id == tenant.id, ApiKey.seed_key.is_not(None))
        .order_by(ApiKey.id)
    )
    if existing:
        return (existing,)
    generated = "core_" + secrets.token_urlsafe(24)
    # demo convenience: the plaintext of a generated key is kept so re-runs can hand it out again
    await add_key(session, tenant, generated, label="seed", keep_plain=True)
    return (generated,)


async def _ids(
    session: AsyncSession, model: type[Region | Distributor | Warehouse | PriceList], tenant_id: int
) -> dict[str, int]:
    rows = await session.execute(select(model.code, model.id).where(model.tenant_id == tenant_id))
    return {code: id_ for code, id_ in rows}


async def _regions(session: AsyncSession, tenant_id: int) -> dict[str, int]:
    rows = [{"tenant_id": tenant_id, "code": code, "name": name} for code, name in d.REGIONS]
    await session.execute(
        insert_ignore(session, Region.__table__, rows, index_elements=["tenant_id", "code"])
    )
    return await _ids(session, Region, tenant_id)


async def _distributors(session: AsyncSession, tenant_id: int, regions: dict[str, int]) -> dict[str, int]:
    rng = random.Random(7)
    rows = [
        {
            "tenant_id": tenant_id,
            "code": code,
            "name": name,
            "region_id": regions[region],
            "city": city,
            "contact_phone": d.phone(rng),
        }
        for code, name, region, city in d.DISTRIBUTORS
    ]
    await session.execute(
        insert_ignore(session, Distributor.__table__, rows, index_elements=["tenant_id", "code"])
    )
    return await _ids(session, Distributor, tenant_id)


async def _warehouses(session: AsyncSession, tenant_id: int) -> dict[str, int]:
    rows = [
        {"tenant_id": tenant_id, "code": code, "name": name, "city": city, "lat": lat, "lng": lng}
        for code, name, city, lat, lng in d.WAREHOUSES
    ]
    await session.execute(
        insert_ignore(session, Warehouse.__table__, rows, index_elements=["tenant_id", "code"])
    )
    return await _ids(session, Warehouse, tenant_id)


async def _products(
    session: AsyncSession, tenant_id: int, catalog: list[dict[str, Any]]
) -> dict[str, Product]:
    rows = [
        {
            "tenant_id": tenant_id,
            "sku": p["sku"],
            "name": p["name"],
            "brand": p.get("brand") or "",
            "series": str(p.get("series") or ""),
            "category": p["category"],
            "aroma": p.get("aroma"),
            "abv": float(p.get("abv") or 0),
            "ml": int(p.get("ml") or 0),
            "bottles_per_case": int(p.get("bottles_per_case") or 1),
            "aliases": [str(a) for a in p.get("aliases") or []],
            "image_url": p.get("image") or "",
            "status": "active" if p.get("status", "active") == "active" else "inactive",
            "base_price_fen": int(p["base_price_fen"]),
            "search_text": d.search_text(p),
        }
        for p in catalog
    ]
    for start in range(0, len(rows), 100):
        await session.execute(
            insert_ignore(
                session, Product.__table__, rows[start : start + 100], index_elements=["tenant_id", "sku"]
            )
        )
    found = await session.scalars(select(Product).where(Product.tenant_id == tenant_id))
    return {p.sku: p for p in found}


async def _price_lists(
    session: AsyncSession, tenant_id: int, regions: dict[str, int], products: dict[str, Product]
) -> None:
    # (code, name, region, tier, bottle factor, categories it covers or None for all)
    lists = [
        ("STD", "标准门店价", None, None, 1.0, None),
        ("TIER-STRATEGIC", "战略门店价", None, "strategic", 0.94, None),
        ("TIER-CORE", "核心门店价", None, "core", 0.97, None),
        ("SOUTH-CORE-BEER", "华南核心门店精酿价", "SOUTH", "core", 0.92, {"精酿"}),
    ]
    rows = [
        {
            "tenant_id": tenant_id,
            "code": code,
            "name": name,
            "region_id": regions[region] if region else None,
            "tier": tier,
            "priority": 0,
        }
        for code, name, region, tier, _, _ in lists
    ]
    await session.execute(
        insert_ignore(session, PriceList.__table__, rows, index_elements=["tenant_id", "code"])
    )
    ids = await _ids(session, PriceList, tenant_id)
    items = []
    for code, _, _, _, factor, categories in lists:
        for p in products.values():
            if categories and p.category not in categories:
                continue
            bottle = int(round(p.base_price_fen * factor / 100) * 100) or p.base_price_fen
            case = int(bottle * p.bottles_per_case * 0.98 // 100 * 100)  # a case is ~2% cheaper
            moq = p.bottles_per_case if p.category == "精酿" else 1  # beer is sold by the case
            items.append(
                {
                    "price_list_id": ids[code],
                    "product_id": p.id,
                    "bottle_price_fen": bottle,
                    "case_price_fen": case,
                    "min_order_bottles": moq,
                }
            )
    for start in range(0, len(items), 200):
        await session.execute(
            insert_ignore(
                session,
                PriceListItem.__table__,
                items[start : start + 200],
                index_elements=["price_list_id", "product_id"],
            )
        )


async def _stock(
    session: AsyncSession,
    tenant_id: int,
    warehouses: dict[str, int],
    products: dict[str, Product],
    rng: random.Random,
) -> None:
    rows = []
    for wcode in sorted(warehouses):
        for sku in sorted(products):
            p = products[sku]
            if p.status != "active" or rng.random() < 0.15:
                on_hand = 0  # some gaps, so sourcing has to look further or split
            elif p.base_price_fen >= 100_000:
                on_hand = rng.randint(12, 120)
            else:
                on_hand = rng.randint(60, 1200)
            rows.append(
                {
                    "warehouse_id": warehouses[wcode],
                    "product_id": p.id,
                    "tenant_id": tenant_id,
                    "on_hand": on_hand,
                    "reserved": 0,
                }
            )
    for start in range(0, len(rows), 200):
        await session.execute(
            insert_ignore(
                session,
                Inventory.__table__,
                rows[start : start + 200],
                index_elements=["warehouse_id", "product_id"],
            )
        )


async def _stores(
    session: AsyncSession,
    tenant_id: int,
    regions: dict[str, int],
    distributors: dict[str, int],
    count: int,
    rng: random.Random,
) -> list[Store]:
    by_city = {code: city for code, _, _, city in d.DISTRIBUTORS}
    rows = []
    for n in range(1, count + 1):
        city, region, (lat, lng), districts = d.CITIES[(n - 1) % len(d.CITIES)]
        district = rng.choice(districts)
        kind, name = d.store_name(rng, city, district)
        tier, credit = d.tier(rng)
        if n <= 2:
            tier, credit = ("strategic", 200_000_000) if n == 1 else ("core", 50_000_000)
        dcode = next((c for c, city_ in by_city.items() if city_ == city), None) or next(
            c for c, _, r, _ in d.DISTRIBUTORS if r == region
        )
        rows.append(
            {
                "tenant_id": tenant_id,
                "code": f"S{n:04d}",
                "name": name,
                "kind": kind,
                "region_id": regions[region],
                "distributor_id": distributors[dcode],
                "owner_name": d.person(rng),
                "owner_phone": d.KNOWN_PHONES[n - 1] if n <= len(d.KNOWN_PHONES) else d.phone(rng),
                "city": city,
                "address": f"{city}市{district}区{rng.randint(1, 999)}号",
                "lat": round(lat + rng.uniform(-0.08, 0.08), 5),
                "lng": round(lng + rng.uniform(-0.08, 0.08), 5),
                "tier": tier,
                "credit_limit_fen": credit,
                "credit_used_fen": 0,
                "status": "active",
            }
        )
    for start in range(0, len(rows), 100):
        await session.execute(
            insert_ignore(
                session, Store.__table__, rows[start : start + 100], index_elements=["tenant_id", "code"]
            )
        )
    found = await session.scalars(select(Store).where(Store.tenant_id == tenant_id).order_by(Store.code))
    return list(found)
