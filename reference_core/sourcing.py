"""Sourcing (寻源): which warehouses ship a line. Pure functions over a snapshot of availability.

Rules (configurable, see SourcingConfig): ``nearest_single_then_split`` takes the nearest warehouse
that can fill the whole line; when none can, it splits across the nearest warehouses that have stock
(at most ``max_warehouses_per_line``). ``nearest_split`` always fills from the nearest first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    warehouse_id: int
    code: str
    name: str
    city: str
    distance_km: float


@dataclass(frozen=True)
class Pick:
    site: Site
    quantity: int


@dataclass(frozen=True)
class Plan:
    picks: tuple[Pick, ...]
    shortfall: int

    @property
    def filled(self) -> int:
        return sum(p.quantity for p in self.picks)


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine), rounded to 0.1 km."""
    r = 6371.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * r * math.asin(min(1.0, math.sqrt(a))), 1)


def plan_line(
    quantity: int,
    sites: list[Site],
    available: dict[int, int],
    *,
    strategy: str = "nearest_single_then_split",
    max_warehouses: int = 3,
) -> Plan:
    """Choose warehouses for ``quantity`` bottles; ``available`` maps warehouse id -> bottles."""
    ordered = sorted(sites, key=lambda s: (s.distance_km, s.warehouse_id))
    if strategy == "nearest_single_then_split":
        for site in ordered:
            if available.get(site.warehouse_id, 0) >= quantity:
                return Plan((Pick(site, quantity),), 0)
    picks: list[Pick] = []
    left = quantity
    for site in ordered:
        if left == 0 or len(picks) == max_warehouses:
            break
        take = min(left, available.get(site.warehouse_id, 0))
        if take > 0:
            picks.append(Pick(site, take))
            left -= take
    return Plan(tuple(picks), left)


class StockSnapshot:
    """Availability per (warehouse, product) that planning several lines draws down, so two lines of
    the same product (a bought line and a gift) are not both promised the same bottles."""

    def __init__(self, available: dict[tuple[int, int], int]) -> None:
        self._available = dict(available)

    def for_product(self, product_id: int) -> dict[int, int]:
        return {wid: qty for (wid, pid), qty in self._available.items() if pid == product_id}

    def total(self, product_id: int, only: int | None = None) -> int:
        return sum(q for wid, q in self.for_product(product_id).items() if only is None or wid == only)

    def take(self, product_id: int, plan: Plan) -> None:
        for pick in plan.picks:
            key = (pick.site.warehouse_id, product_id)
            self._available[key] = self._available.get(key, 0) - pick.quantity
