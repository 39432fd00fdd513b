"""Organisation and catalog resources."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from reference_core.schemas.common import (
    Category,
    Count,
    Cursor,
    Fen,
    Id,
    Model,
    Out,
    Phone,
    Sku,
    Tier,
    text,
)


class Region(Out):
    id: int
    code: str
    name: str


class RegionList(Out):
    items: list[Region]


class Distributor(Out):
    id: int
    code: str
    name: str
    region_id: int
    city: str
    contact_phone: str


class DistributorList(Out):
    items: list[Distributor]


class DistributorQuery(Model):
    region_id: Id | None = None


class Store(Out):
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
    tier: Tier
    credit_limit_fen: int
    credit_used_fen: int
    credit_available_fen: int
    credit_overdue_fen: int = 0
    status: Literal["active", "suspended", "closed"]


class StorePage(Out):
    items: list[Store]
    next_cursor: str | None


class StoreQuery(Cursor):
    owner_phone: Phone | None = Field(
        default=None, description="exact owner phone (for binding a store)", examples=["13800000001"]
    )
    region_id: Id | None = None
    distributor_id: Id | None = None
    q: Annotated[str, text(100, 1)] | None = Field(default=None, description="part of the store name or code")


class StorePath(Model):
    store_id: Id = Field(examples=[1])


class Product(Out):
    sku: str
    name: str
    brand: str
    series: str
    category: Category
    aroma: str | None = Field(description="香型 (酱香, 浓香, 清香...); null for wine and beer")
    abv: float
    ml: int
    bottles_per_case: int
    aliases: list[str]
    image_url: str
    status: Literal["active", "inactive"]
    base_price_fen: int


class ProductPage(Out):
    items: list[Product]
    next_cursor: str | None


class ProductQuery(Cursor):
    q: Annotated[str, text(100, 1)] | None = Field(
        default=None, description="matches name, brand, series, SKU and aliases (简称, 拼音缩写)"
    )
    category: Category | None = None
    aroma: Annotated[str, text(16, 1)] | None = None
    brand: Annotated[str, text(100, 1)] | None = None
    status: Literal["active", "inactive", "all"] = "active"


class ProductPath(Model):
    sku: Sku = Field(examples=["MT-FT-53-500"])


class Price(Out):
    sku: str
    bottle_price_fen: int
    case_price_fen: int
    bottles_per_case: int
    min_order_bottles: int = Field(description="minimum bottles per order line (MOQ)")
    price_list: str = Field(description="code of the price list the price comes from; 'base' if none")


class PriceList(Out):
    store_id: int
    items: list[Price]


class PriceQuery(Model):
    sku: list[Sku] = Field(default_factory=list, max_length=100, description="repeat for several SKUs")


class Warehouse(Out):
    id: int
    code: str
    name: str
    city: str
    lat: float
    lng: float


class WarehouseList(Out):
    items: list[Warehouse]


class StockLevel(Out):
    sku: str
    warehouse_id: int
    on_hand: int
    reserved: int
    available: int = Field(description="on_hand - reserved")


class StockList(Out):
    items: list[StockLevel]


class StockQuery(Model):
    sku: list[Sku] = Field(default_factory=list, max_length=100)
    warehouse_id: Id | None = None


class StockSet(Model):
    warehouse_id: Id
    sku: Sku
    on_hand: Count


class OverdueSet(Model):
    overdue_fen: Fen


class CreditRuleSet(Model):
    refuse_when_overdue: bool


class CreditRuleOut(Out):
    refuse_when_overdue: bool
