"""Drop-ship requests (一键代发): goods from the store's stock sent straight to its customer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from reference_core.schemas.common import Id, Model, Out, Phone, Sku, text
from reference_core.schemas.org import StorePath

__all__ = ["DropShip", "DropShipCreate", "DropShipPath", "StorePath"]


class Recipient(Model):
    name: Annotated[str, text(50, 1)] = Field(examples=["张三"])
    phone: Phone = Field(examples=["13800138000"])
    address: Annotated[str, text(200, 5)] = Field(examples=["浙江省杭州市西湖区文三路90号"])


class DropShipCreate(Model):
    sku: Sku = Field(examples=["MT-FT-53-500"])
    bottles: int = Field(ge=1, le=1_000, examples=[6])
    recipient: Recipient
    note: Annotated[str, text(200)] = ""


class DropShipPath(Model):
    drop_ship_id: Id = Field(examples=[1])


class RecipientOut(Out):
    name: str
    phone: str
    address: str


class DropShip(Out):
    id: int
    store_id: int
    sku: str
    name: str
    bottles: int
    warehouse_id: int
    warehouse_name: str
    recipient: RecipientOut
    status: Literal["shipped"]
    carrier: str
    waybill: str
    note: str
    created_at: datetime
