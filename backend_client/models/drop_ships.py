"""Drop-ships (一键代发): goods sent from the store's stock straight to its customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Recipient:
    name: str
    phone: str
    address: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "phone": self.phone, "address": self.address}


@dataclass(frozen=True)
class DropShip:
    id: int
    store_id: int
    sku: str
    name: str
    bottles: int
    warehouse_id: int
    warehouse_name: str
    recipient: Recipient
    status: str  # "shipped": the core ships on creation
    carrier: str
    waybill: str
    note: str
    created_at: datetime
