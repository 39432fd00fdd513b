"""Frozen dataclasses the ordering package hands to flows, the mini-program API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Unit(StrEnum):
    """The unit a quantity was read in. A case is ``bottles_per_case``, a pack ``bottles_per_pack``."""

    CASE = "case"  # 箱 / 件
    PACK = "pack"  # 提
    BOTTLE = "bottle"  # 瓶 / 支 / 个 / 罐 / 听 / 盒 / 桶


class Flag(StrEnum):
    """Why a line deserves a second look; the chat flow decides how to ask."""

    UNIT_ASSUMED = "unit_assumed"  # a bare number: read as cases (see parser.DEFAULT_UNIT)
    QUANTITY_MISSING = "quantity_missing"  # a product without any quantity
    OVER_LIMIT = "over_limit"  # above ParseLimits: confirm, never assume
    ZERO_QUANTITY = "zero_quantity"
    FUZZY = "fuzzy"  # matched through a typo or pinyin: echo the product name back


# Flags that must be settled with the store owner before the line can go into a cart.
CONFIRM_FLAGS = frozenset({Flag.QUANTITY_MISSING, Flag.OVER_LIMIT, Flag.ZERO_QUANTITY})


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    sku: str
    name: str
    brand: str
    series: str
    category: str  # 白酒 | 红酒 | 精酿
    bottles_per_case: int
    bottles_per_pack: int
    ml: int
    abv: float | None = None
    aliases: tuple[str, ...] = ()
    aroma: str | None = None
    status: str = "active"
    base_price_fen: int | None = None
    image: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class Brand:
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Catalog:
    """What the parser reads against: products in display order (flagships first) and brand aliases."""

    entries: tuple[CatalogEntry, ...]
    brands: tuple[Brand, ...] = ()


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Sanity limits per line: above either, the line is flagged ``over_limit``."""

    max_cases: int = 50
    max_bottles: int = 2000


@dataclass(frozen=True, slots=True)
class ParsedLine:
    sku: str
    name: str
    quantity: int | None  # as the store owner said it, in ``unit``
    unit: Unit | None
    bottles: int | None
    text: str  # the words that named the product, as typed
    flags: tuple[Flag, ...] = ()

    @property
    def needs_confirmation(self) -> bool:
        return any(flag in CONFIRM_FLAGS for flag in self.flags)


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """A mention that fits several products; ``candidates`` are SKUs in catalog order."""

    text: str
    candidates: tuple[str, ...]
    quantity: int | None
    unit: Unit | None
    unit_assumed: bool = False
    half: bool = False  # plus half a unit: 一箱半


@dataclass(frozen=True, slots=True)
class Unmatched:
    """Words that look like a product the catalog does not sell (or no longer sells)."""

    text: str
    suggestions: tuple[str, ...] = ()  # SKUs, nearest first
    quantity: int | None = None
    unit: Unit | None = None
    reason: str = "unknown"  # unknown | inactive


@dataclass(frozen=True, slots=True)
class ParseResult:
    text: str
    lines: tuple[ParsedLine, ...] = ()
    ambiguous: tuple[Ambiguity, ...] = ()
    unmatched: tuple[Unmatched, ...] = ()
    notes: tuple[str, ...] = field(default=())  # leftover words, e.g. "明天送"
    question: bool = False  # asks about price or stock ("飞天什么价") rather than orders
    asked: tuple[str, ...] = ()  # SKUs a question names
    topic: str | None = None  # not an order but: "after_sales" (破了, 退货) | "tracking" (到了没, 物流)

    @property
    def is_order(self) -> bool:
        """True when the message names at least one product, known or not."""
        return bool(self.lines or self.ambiguous or self.unmatched)

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.ambiguous or self.unmatched) or any(li.needs_confirmation for li in self.lines)
