"""What crosses the analytics package's boundary: frozen values, no ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

import orjson

# Events jiubot emits itself (beside the mini-program's, see schema.MP_EVENTS).
SERVER_EVENTS = (
    "chat_turn",
    "scan",
    "coupon_claimed",
    "coupon_used",
    "order",
    "order_line",
    "forward",
    "journey_step",
)


@dataclass(frozen=True, slots=True)
class Event:
    """One behaviour event. ``event_id`` is unique per tenant: the client's id prefixed by the
    member (``mp:<member>:<id>``) or the server-side cause (``scan:<redemption id>``).
    ``member_id`` is the only person key: never an openid or a phone number."""

    tenant_id: int
    event_id: str
    name: str
    occurred_at: int  # epoch milliseconds
    source: str = "server"  # mp | server
    member_id: int | None = None
    store_id: int | None = None
    sku: str = ""
    quantity: int = 0
    amount_fen: int = 0
    dwell_ms: int = 0
    region_code: str = ""  # stamped from the store, else the member, when empty
    distributor_code: str = ""
    props: dict[str, str | int] = field(default_factory=dict)


class Record(NamedTuple):
    """An event as it travels the stream and reaches the writer: a JSON array in this order,
    ``props`` already JSON text, so the writer neither rebuilds an ``Event`` nor re-encodes
    the props (one JSON pass each way)."""

    tenant_id: int
    event_id: str
    name: str
    occurred_at: int
    source: str
    member_id: int | None
    store_id: int | None
    sku: str
    quantity: int
    amount_fen: int
    dwell_ms: int
    region_code: str
    distributor_code: str
    props: str

    @classmethod
    def of(cls, e: Event) -> Record:
        return cls(
            e.tenant_id,
            e.event_id,
            e.name,
            e.occurred_at,
            e.source,
            e.member_id,
            e.store_id,
            e.sku,
            e.quantity,
            e.amount_fen,
            e.dwell_ms,
            e.region_code,
            e.distributor_code,
            orjson.dumps(e.props).decode() if e.props else "{}",
        )


@dataclass(frozen=True, slots=True)
class Accepted:
    accepted: int
    received_at: int


@dataclass(frozen=True, slots=True)
class FunnelStep:
    name: str
    members: int


@dataclass(frozen=True, slots=True)
class Funnel:
    steps: tuple[FunnelStep, ...]
    window_seconds: int
    order: str  # ordered | strict | any

    def conversion(self) -> float:
        if not self.steps or not self.steps[0].members:
            return 0.0
        return self.steps[-1].members / self.steps[0].members


@dataclass(frozen=True, slots=True)
class CohortRow:
    week: str  # the cohort's ISO week
    size: int
    active: tuple[int, ...]  # members active in week +1 .. +N


@dataclass(frozen=True, slots=True)
class SellThrough:
    week: str
    sku: str
    region_code: str
    distributor_code: str
    ordered: int
    scanned: int

    @property
    def rate(self) -> float:
        return self.scanned / self.ordered if self.ordered else 0.0


@dataclass(frozen=True, slots=True)
class SlowMoving:
    store_id: int
    sku: str
    ordered: int
    scanned: int
    last_ordered_on: date


@dataclass(frozen=True, slots=True)
class Transfer:
    sku: str
    from_store_id: int
    to_store_id: int
    quantity: int
    region_code: str


@dataclass(frozen=True, slots=True)
class ReportRef:
    report_id: int
    week: str
    scope: str
    scope_code: str
    token: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Scope:
    kind: str = "tenant"  # tenant | region | distributor
    code: str = ""
