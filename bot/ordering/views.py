"""Frozen dataclasses chat ordering hands to flows, the mini-program API and templates: who a
member is for ordering, carts, quotes and orders as the store owner reads them.

Money is integer fen everywhere; ``yuan()`` formats it once, here, for every channel. Quantities,
statuses and times stay data (cases, bottles, status codes, China-time datetimes): the words
("2箱（24瓶）", "已发货", "11月22日") are in ``templates/replies/order_macros.j2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
OWNER = "store_owner"
STAFF = "store_staff"
STORE_ROLES = frozenset({OWNER, STAFF})


def yuan(fen: int | None) -> str:
    """12345678 -> "123,456.78" (no currency sign: templates say 元 or ¥ as they read best)."""
    if fen is None:
        return "-"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def china(at: datetime | None) -> datetime | None:
    """A timestamp in China time, as store owners read it."""
    return at.astimezone(CHINA) if at is not None else None


@dataclass(frozen=True, slots=True)
class StoreRef:
    store_id: int  # jiubot's stores.id
    core_store_id: int  # the core's store id (every core call)
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Binding:
    """What ordering knows of a member: their role and, for store members, the store."""

    member_id: int
    tenant_id: int
    role: str
    store: StoreRef | None = None

    @property
    def bound(self) -> bool:
        return self.role in STORE_ROLES and self.store is not None

    @property
    def is_owner(self) -> bool:
        return self.bound and self.role == OWNER


@dataclass(frozen=True, slots=True)
class CartLine:
    sku: str
    name: str
    cases: int
    bottles: int
    bottles_per_case: int

    @property
    def total_bottles(self) -> int:
        return self.cases * self.bottles_per_case + self.bottles

    def note(self) -> dict:
        """The line as a template note value (name and quantity)."""
        return {
            "name": self.name,
            "cases": self.cases,
            "bottles": self.bottles,
            "per_case": self.bottles_per_case,
        }


@dataclass(frozen=True, slots=True)
class Cart:
    """A member's cart; ``version`` moves on every change (and after a refused order), and the
    order's Idempotency-Key is derived from (``id``, ``version``)."""

    id: str
    version: int
    core_store_id: int
    lines: tuple[CartLine, ...] = ()
    updated_at: float = 0.0

    @property
    def empty(self) -> bool:
        return not self.lines

    def line(self, sku: str) -> CartLine | None:
        return next((li for li in self.lines if li.sku == sku), None)


@dataclass(frozen=True, slots=True)
class PricePart:
    """One price the line's subtotal is made of: ``price`` a ``unit`` ("case" | "bottle") times
    ``count``. A line of 1箱6瓶 has two parts; their products add up to the subtotal exactly."""

    unit: str
    price: str
    count: int


@dataclass(frozen=True, slots=True)
class PricedLine:
    sku: str
    name: str
    cases: int
    bottles: int
    per_case: int
    unit_price: str  # per bottle as the core prices the line (a channel's price when one priced it)
    amount: str  # what the line costs after its own discount (subtotal - discount)
    discount: str  # "" when none
    is_gift: bool
    requested: int  # bottles
    available: int
    short: bool
    parts: tuple[PricePart, ...] = ()  # the unit prices the subtotal uses (case and/or bottle)
    subtotal: str = ""  # sum of the parts: the line at this store's regular prices
    per_bottle: str = ""  # the subtotal per bottle, for a line with cases ("" otherwise)
    per_bottle_exact: bool = True  # False when ``per_bottle`` is rounded to the fen
    channel_price: str = ""  # the flash sale / auction / group price per bottle, when one applied


@dataclass(frozen=True, slots=True)
class PromotionNote:
    """A promotion the quote considered. ``reason`` is the core's code when it did not apply
    (threshold_not_met, not_combinable, better_discount, gift_out_of_stock, ...); ``need`` is how
    much more would unlock it (threshold_not_met)."""

    name: str
    kind: str
    applied: bool
    discount: str  # "" when none
    gift: str  # the gift's name and bottles, or ""
    reason: str
    need: str = ""


@dataclass(frozen=True, slots=True)
class Shortage:
    sku: str
    name: str
    requested: int
    available: int


@dataclass(frozen=True, slots=True)
class QuoteView:
    """A quote as the store owner reads it before confirming."""

    lines: tuple[PricedLine, ...]
    promotions: tuple[PromotionNote, ...]
    coupon: str  # "门店订货满2000减100 -100.00" or ""
    subtotal: str
    promotion_discount: str
    coupon_discount: str
    total: str
    total_fen: int
    coupon_claim_id: int | None
    credit_ok: bool
    credit_available: str
    credit_required: str
    shortages: tuple[Shortage, ...]
    below_minimum: tuple[str, ...]  # "精酿 至少24瓶"
    other_issues: tuple[str, ...]  # issue codes the flow does not offer a fix for
    orderable: bool
    credit_overdue: str = ""  # the overdue amount when the tenant's rule refuses for it ("" = not)


@dataclass(frozen=True, slots=True)
class TimelineStep:
    status: str  # the core's status code
    at: datetime | None  # China time
    where: str
    note: str


@dataclass(frozen=True, slots=True)
class OrderLineView:
    name: str
    cases: int
    bottles: int
    per_case: int
    gift: bool


@dataclass(frozen=True, slots=True)
class OrderView:
    id: int
    number: str
    status: str  # created | allocated | shipped | in_transit | delivered | cancelled
    created: datetime | None  # China time
    total: str
    lines: tuple[OrderLineView, ...]
    timeline: tuple[TimelineStep, ...] = ()
    carrier: str = ""
    waybill: str = ""
    eta: datetime | None = None  # China time; None once delivered or cancelled
    link: str = ""

    @property
    def bought(self) -> tuple[OrderLineView, ...]:
        return tuple(li for li in self.lines if not li.gift)


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """What became of a confirmed order: ``placed`` (``order``), ``refused`` (``error_code``,
    ``details``), or ``pending`` (the core did not answer in time; the result will be pushed)."""

    status: str
    intent_id: int
    key: str
    order_id: int | None = None
    number: str = ""
    total_fen: int | None = None
    error_code: str = ""
    details: dict = field(default_factory=dict)
    replayed: bool = False  # the same key was confirmed before (a double tap or a retry)
