"""Organisation, catalog, prices and stock."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import credit, org
from reference_core.api.registry import Call, Routes
from reference_core.api.support import read
from reference_core.errors import ErrorCode
from reference_core.schemas import org as s

routes = Routes("organisation & catalog")
NF = (ErrorCode.NOT_FOUND,)


@routes.op("GET", "/v1/regions", "listRegions", "Regions (marketing centres)", response=s.RegionList)
async def list_regions(call: Call) -> s.RegionList:
    return await read(call, lambda session: org.regions(session, call.tenant.id))


@routes.op(
    "GET",
    "/v1/distributors",
    "listDistributors",
    "Distributors",
    query=s.DistributorQuery,
    response=s.DistributorList,
)
async def list_distributors(call: Call) -> s.DistributorList:
    return await read(call, lambda session: org.distributors(session, call.tenant.id, call.query.region_id))


@routes.op(
    "GET",
    "/v1/stores",
    "listStores",
    "Stores; filter by owner phone to bind a store in chat",
    query=s.StoreQuery,
    response=s.StorePage,
)
async def list_stores(call: Call) -> s.StorePage:
    """Ordered by id. ``owner_phone`` is an exact match (one owner may have several stores)."""
    return await read(call, lambda session: org.stores(session, call.tenant.id, call.query))


@routes.op(
    "GET",
    "/v1/stores/{store_id}",
    "getStore",
    "One store",
    path_params=s.StorePath,
    response=s.Store,
    errors=NF,
)
async def get_store(call: Call) -> s.Store:
    async def work(session: AsyncSession) -> s.Store:
        row = await org.get_store(session, call.tenant.id, call.path.store_id)
        return org.store_out(row, (await credit.overdue(session, [row.id])).get(row.id, 0))

    return await read(call, work)


@routes.op(
    "GET", "/v1/products", "searchProducts", "Catalog search", query=s.ProductQuery, response=s.ProductPage
)
async def search_products(call: Call) -> s.ProductPage:
    """Every word of ``q`` must match the name, brand, series, SKU, an alias or the pinyin
    (full or initials: ``feitian``, ``ft``). Exact name/alias matches come first."""
    return await read(call, lambda session: org.products(session, call.tenant.id, call.query))


@routes.op(
    "GET",
    "/v1/products/{sku}",
    "getProduct",
    "One product (SKU)",
    path_params=s.ProductPath,
    response=s.Product,
    errors=NF,
)
async def get_product(call: Call) -> s.Product:
    async def work(session: AsyncSession) -> s.Product:
        return org.product_out(await org.get_product(session, call.tenant.id, call.path.sku))

    return await read(call, work)


@routes.op(
    "GET",
    "/v1/stores/{store_id}/prices",
    "getStorePrices",
    "The store's prices",
    path_params=s.StorePath,
    query=s.PriceQuery,
    response=s.PriceList,
    errors=NF,
)
async def store_prices(call: Call) -> s.PriceList:
    """Bottle and case price and the minimum order quantity of each SKU for this store (its price
    list by tier and region). Without ``sku``, every active product. Unknown SKUs are left out."""

    return await read(
        call, lambda session: org.store_prices(session, call.tenant.id, call.path.store_id, call.query.sku)
    )


@routes.op("GET", "/v1/warehouses", "listWarehouses", "Warehouses", response=s.WarehouseList)
async def list_warehouses(call: Call) -> s.WarehouseList:
    async def work(session: AsyncSession) -> s.WarehouseList:
        return s.WarehouseList(
            items=[org.warehouse_out(w) for w in await org.warehouses(session, call.tenant.id)]
        )

    return await read(call, work)


@routes.op(
    "GET", "/v1/inventory", "listInventory", "Stock per warehouse", query=s.StockQuery, response=s.StockList
)
async def list_inventory(call: Call) -> s.StockList:
    """``available = on_hand - reserved``; bottles are reserved when an order is created and leave
    ``on_hand`` when it ships."""
    return await read(call, lambda session: org.stock(session, call.tenant.id, call.query))
