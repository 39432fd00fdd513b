"""Read side of the organisation, catalog and stock (queries taking an AsyncSession)."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import credit, pricing
from reference_core import cursor as cursors
from reference_core.errors import not_found
from reference_core.models import Distributor, Inventory, Product, Region, Store, Warehouse
from reference_core.schemas import org as s


def store_out(row: Store, overdue_fen: int = 0) -> s.Store:
    return s.Store(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=row.kind,
        region_id=row.region_id,
        distributor_id=row.distributor_id,
        owner_name=row.owner_name,
        owner_phone=row.owner_phone,
        city=row.city,
        address=row.address,
        lat=row.lat,
        lng=row.lng,
        tier=row.tier,  # type: ignore[arg-type]
        credit_limit_fen=row.credit_limit_fen,
        credit_used_fen=row.credit_used_fen,
        credit_available_fen=max(0, row.credit_limit_fen - row.credit_used_fen),
        credit_overdue_fen=overdue_fen,
        status=row.status,  # type: ignore[arg-type]
    )


def product_out(row: Product) -> s.Product:
    return s.Product(
        sku=row.sku,
        name=row.name,
        brand=row.brand,
        series=row.series,
        category=row.category,  # type: ignore[arg-type]
        aroma=row.aroma,
        abv=row.abv,
        ml=row.ml,
        bottles_per_case=row.bottles_per_case,
        aliases=list(row.aliases or []),
        image_url=row.image_url,
        status=row.status,  # type: ignore[arg-type]
        base_price_fen=row.base_price_fen,
    )


def warehouse_out(row: Warehouse) -> s.Warehouse:
    return s.Warehouse(id=row.id, code=row.code, name=row.name, city=row.city, lat=row.lat, lng=row.lng)


async def regions(session: AsyncSession, tenant_id: int) -> s.RegionList:
    rows = (
        await session.scalars(select(Region).where(Region.tenant_id == tenant_id).order_by(Region.id))
    ).all()
    return s.RegionList(items=[s.Region(id=r.id, code=r.code, name=r.name) for r in rows])


async def distributors(session: AsyncSession, tenant_id: int, region_id: int | None) -> s.DistributorList:
    stmt = select(Distributor).where(Distributor.tenant_id == tenant_id).order_by(Distributor.id)
    if region_id is not None:
        stmt = stmt.where(Distributor.region_id == region_id)
    rows = (await session.scalars(stmt)).all()
    return s.DistributorList(
        items=[
            s.Distributor(
                id=r.id,
                code=r.code,
                name=r.name,
                region_id=r.region_id,
                city=r.city,
                contact_phone=r.contact_phone,
            )
            for r in rows
        ]
    )


async def get_store(session: AsyncSession, tenant_id: int, store_id: int) -> Store:
    row = await session.scalar(
        select(Store)
        .where(Store.tenant_id == tenant_id, Store.id == store_id)
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise not_found("store", store_id)
    return row


async def stores(session: AsyncSession, tenant_id: int, query: s.StoreQuery) -> s.StorePage:
    after = cursors.decode(query.cursor)
    stmt = select(Store).where(Store.tenant_id == tenant_id).order_by(Store.id).limit(query.limit + 1)
    if after is not None:
        stmt = stmt.where(Store.id > after)
    if query.owner_phone is not None:
        stmt = stmt.where(Store.owner_phone == query.owner_phone)
    if query.region_id is not None:
        stmt = stmt.where(Store.region_id == query.region_id)
    if query.distributor_id is not None:
        stmt = stmt.where(Store.distributor_id == query.distributor_id)
    if query.q is not None:
        pattern = f"%{_escape_like(query.q)}%"
        stmt = stmt.where(or_(Store.name.like(pattern, escape="\\"), Store.code.like(pattern, escape="\\")))
    rows = (await session.scalars(stmt)).all()
    page, more = rows[: query.limit], len(rows) > query.limit
    owed = await credit.overdue(session, [r.id for r in page])
    return s.StorePage(
        items=[store_out(r, owed.get(r.id, 0)) for r in page],
        next_cursor=cursors.encode(page[-1].id) if more else None,
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def products(session: AsyncSession, tenant_id: int, query: s.ProductQuery) -> s.ProductPage:
    """Search: every whitespace-separated term must appear in the product's search text; exact
    matches of the name or an alias rank first, then prefixes, then the rest (by SKU)."""
    offset = cursors.decode(query.cursor) or 0
    stmt = select(Product).where(Product.tenant_id == tenant_id)
    if query.status != "all":
        stmt = stmt.where(Product.status == query.status)
    if query.category is not None:
        stmt = stmt.where(Product.category == query.category)
    if query.aroma is not None:
        stmt = stmt.where(Product.aroma == query.aroma)
    if query.brand is not None:
        stmt = stmt.where(Product.brand == query.brand)
    terms = query.q.lower().split() if query.q else []
    if terms:
        stmt = stmt.where(
            and_(*[Product.search_text.like(f"%{_escape_like(t)}%", escape="\\") for t in terms])
        )
    rows = list((await session.scalars(stmt)).all())
    if query.q:
        wanted = query.q.lower().strip()
        rows.sort(key=lambda p: (_rank(p, wanted), p.sku))
    else:
        rows.sort(key=lambda p: p.sku)
    page = rows[offset : offset + query.limit]
    more = len(rows) > offset + query.limit
    return s.ProductPage(
        items=[product_out(p) for p in page],
        next_cursor=cursors.encode(offset + query.limit) if more else None,
    )


def _rank(product: Product, q: str) -> int:
    """0: the name, SKU or an alias; 1: their pinyin or initials; 2: the brand or series (or their
    pinyin); 3: the start of any word; 4: anywhere."""
    if q in [product.name.lower(), product.sku.lower(), *[a.lower() for a in product.aliases or []]]:
        return 0
    own, _, shared = product.search_text.partition(" | ")
    if q in own.split():
        return 1
    if q in shared.split():
        return 2
    return 3 if any(w.startswith(q) for w in product.search_text.split()) else 4


async def get_product(session: AsyncSession, tenant_id: int, sku: str) -> Product:
    row = await session.scalar(select(Product).where(Product.tenant_id == tenant_id, Product.sku == sku))
    if row is None:
        raise not_found("product", sku)
    return row


async def warehouses(session: AsyncSession, tenant_id: int) -> list[Warehouse]:
    stmt = select(Warehouse).where(Warehouse.tenant_id == tenant_id).order_by(Warehouse.id)
    return list((await session.scalars(stmt)).all())


async def stock(session: AsyncSession, tenant_id: int, query: s.StockQuery) -> s.StockList:
    stmt = (
        select(Inventory, Product.sku)
        .join(Product, Product.id == Inventory.product_id)
        .where(Inventory.tenant_id == tenant_id)
        .order_by(Product.sku, Inventory.warehouse_id)
    )
    if query.sku:
        stmt = stmt.where(Product.sku.in_(query.sku))
    if query.warehouse_id is not None:
        stmt = stmt.where(Inventory.warehouse_id == query.warehouse_id)
    rows = (await session.execute(stmt)).all()
    return s.StockList(
        items=[
            s.StockLevel(
                sku=sku,
                warehouse_id=inv.warehouse_id,
                on_hand=inv.on_hand,
                reserved=inv.reserved,
                available=inv.on_hand - inv.reserved,
            )
            for inv, sku in rows
        ]
    )


async def store_prices(session: AsyncSession, tenant_id: int, store_id: int, skus: list[str]) -> s.PriceList:
    store = await get_store(session, tenant_id, store_id)
    stmt = select(Product).where(Product.tenant_id == tenant_id).order_by(Product.sku)
    stmt = stmt.where(Product.sku.in_(skus)) if skus else stmt.where(Product.status == "active")
    products = list((await session.scalars(stmt)).all())
    prices = await pricing.prices_for(session, store, products)
    return s.PriceList(
        store_id=store.id,
        items=[
            s.Price(
                sku=p.sku,
                bottle_price_fen=prices[p.id].bottle_price_fen,
                case_price_fen=prices[p.id].case_price_fen,
                bottles_per_case=p.bottles_per_case,
                min_order_bottles=prices[p.id].min_order_bottles,
                price_list=prices[p.id].price_list,
            )
            for p in products
        ],
    )
