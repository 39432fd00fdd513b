"""Orders, their lines, the sourcing result (allocations), shipments and the status timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reference_core.db import Base, BigIntPK, UTCDateTime, utcnow


class Order(Base):
    __tablename__ = "core_orders"
    __table_args__ = (
        Index("ix_core_orders_store", "tenant_id", "store_id", "id"),
        Index("ix_core_orders_due", "next_transition_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("core_stores.id"))
    status: Mapped[str] = mapped_column(String(16), default="created")
    # how many steps of ``plan`` are done; every move is a conditional update on it, so two clocks
    # (or a clock and the admin endpoint) cannot both move the order
    transit_step: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16), default="api")
    subtotal_fen: Mapped[int] = mapped_column(BigInteger)
    discount_fen: Mapped[int] = mapped_column(BigInteger)
    coupon_discount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    coupon_claim_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    pricing: Mapped[dict] = mapped_column(JSON, default=dict)
    # the logistics plan: hours per step, transit nodes
    plan: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(500), default="")
    eta: Mapped[datetime] = mapped_column(UTCDateTime)
    next_transition_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderLine(Base):
    __tablename__ = "core_order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("core_orders.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("core_products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    cases: Mapped[int] = mapped_column(Integer)
    bottles: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)  # total bottles
    bottle_price_fen: Mapped[int] = mapped_column(BigInteger)
    case_price_fen: Mapped[int] = mapped_column(BigInteger)
    list_amount_fen: Mapped[int] = mapped_column(BigInteger)
    discount_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    promotion_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    is_gift: Mapped[bool] = mapped_column(Boolean, default=False)


class Allocation(Base):
    """Which warehouse ships how many bottles of which line (the sourcing result)."""

    __tablename__ = "core_order_allocations"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("core_orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("core_products.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("core_warehouses.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    distance_km: Mapped[float] = mapped_column(default=0.0)


class Shipment(Base):
    __tablename__ = "core_shipments"
    __table_args__ = (UniqueConstraint("order_id", "warehouse_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("core_orders.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("core_warehouses.id"))
    carrier: Mapped[str] = mapped_column(String(64), default="")
    waybill: Mapped[str] = mapped_column(String(64), default="")
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OrderEvent(Base):
    """The status timeline; in-transit nodes are events with a ``location``."""

    __tablename__ = "core_order_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("core_orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    location: Mapped[str] = mapped_column(String(200), default="")
    carrier: Mapped[str] = mapped_column(String(64), default="")
    waybill: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(300), default="")


class DropShip(Base):
    """一键代发: goods the store asks to go straight to its customer. Taken from the stock of the
    warehouse nearest the store that holds them and shipped at once (a waybill on creation)."""

    __tablename__ = "core_drop_ships"
    __table_args__ = (Index("ix_core_drop_ships_store", "tenant_id", "store_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("core_stores.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("core_products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)  # bottles
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("core_warehouses.id"))
    recipient_name: Mapped[str] = mapped_column(String(100))
    recipient_phone: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="shipped")
    carrier: Mapped[str] = mapped_column(String(64), default="")
    waybill: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
