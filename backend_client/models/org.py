"""Organisation, catalog, prices and stock."""

from __future__ import annotations

from dataclasses import dataclass


# organisation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Region:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class Distributor:
    id: int
    code: str
    name: str
    region_id: int
    city: str
    contact_phone: str


@dataclass(frozen=True)
class Store:
    id: int
    code: str
    name: str
    kind: str
    region_id: int
    distributor_id: int
    owner_name: str
    owner_phone: str
    city: str
    address: str
    lat: float
    lng: float
    tier: str
    credit_limit_fen: int
    credit_used_fen: int
    credit_available_fen: int
    status: str
    credit_overdue_fen: int = 0  # owed past its terms (逾期); a core without it reports none


@dataclass(frozen=True)
class StorePage:
    items: tuple[Store, ...]
    next_cursor: str | None


# catalog, prices, stock ---------------------------------------------------------------------
@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    brand: str
    series: str
    category: str
    aroma: str | None
    abv: float
    ml: int
    bottles_per_case: int
    aliases: tuple[str, ...]
    image_url: str
    status: str
    base_price_fen: int


@dataclass(frozen=True)
class ProductPage:
    items: tuple[Product, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class Price:
    sku: str
    bottle_price_fen: int
    case_price_fen: int
    bottles_per_case: int
    min_order_bottles: int
    price_list: str


@dataclass(frozen=True)
class Warehouse:
    id: int
    code: str
    name: str
    city: str
    lat: float
    lng: float


@dataclass(frozen=True)
class StockLevel:
    sku: str
    warehouse_id: int
    on_hand: int
    reserved: int
    available: int


# list envelopes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegionList:
    items: tuple[Region, ...]


@dataclass(frozen=True)
class DistributorList:
    items: tuple[Distributor, ...]


@dataclass(frozen=True)
class PriceList:
    store_id: int
    items: tuple[Price, ...]


@dataclass(frozen=True)
class WarehouseList:
    items: tuple[Warehouse, ...]


@dataclass(frozen=True)
class StockList:
    items: tuple[StockLevel, ...]
