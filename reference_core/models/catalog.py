"""Catalog, price lists, warehouses and stock."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reference_core.db import Base, BigIntPK


class Product(Base):
    """One sellable SKU (a product in one bottle size); ``series`` groups the sizes of a product."""

    __tablename__ = "core_products"
    __table_args__ = (UniqueConstraint("tenant_id", "sku"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(100), default="")
    series: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(16))
    aroma: Mapped[str | None] = mapped_column(String(16), nullable=True)
    abv: Mapped[float] = mapped_column(Float)
    ml: Mapped[int] = mapped_column(Integer)
    bottles_per_case: Mapped[int] = mapped_column(Integer)
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    image_url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    base_price_fen: Mapped[int] = mapped_column(BigInteger)
    # lower-cased name, brand, series, sku and aliases: what search matches against
    search_text: Mapped[str] = mapped_column(String(2000), default="")


class PriceList(Base):
    """Prices for stores of a tier and/or region; the most specific list wins, then ``priority``."""

    __tablename__ = "core_price_lists"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("core_regions.id"), nullable=True)
    tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)


class PriceListItem(Base):
    __tablename__ = "core_price_list_items"

    price_list_id: Mapped[int] = mapped_column(ForeignKey("core_price_lists.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("core_products.id"), primary_key=True)
    bottle_price_fen: Mapped[int] = mapped_column(BigInteger)
    case_price_fen: Mapped[int] = mapped_column(BigInteger)
    min_order_bottles: Mapped[int] = mapped_column(Integer, default=1)


class Warehouse(Base):
    __tablename__ = "core_warehouses"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(64))
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)


class Inventory(Base):
    """Bottles per warehouse. ``available = on_hand - reserved``; the CHECKs are the last line of defence
    behind the conditional updates that reserve stock."""

    __tablename__ = "core_inventory"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_nonneg"),
        CheckConstraint("on_hand >= reserved", name="reserved_le_on_hand"),
    )

    warehouse_id: Mapped[int] = mapped_column(ForeignKey("core_warehouses.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("core_products.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
