"""Profiles as pure functions of facts: recency, frequency, monetary value, the RFM cell,
aroma/brand affinity and the lifecycle stage, all as of an explicit ``now``.

RFM scores are quintiles among the tenant's peers of the same kind (5 = best: most recent, most
frequent, highest value); a subject with no purchase scores 1 on all three."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

NEW = "new"
ACTIVE = "active"
LAPSING = "lapsing"
DORMANT = "dormant"
WON_BACK = "won_back"
NONE = "none"  # never bought


@dataclass(frozen=True)
class Purchase:
    at: datetime
    amount_fen: int
    skus: tuple[tuple[str, int], ...] = ()  # (sku, amount_fen or quantity weight)


@dataclass(frozen=True)
class SkuInfo:
    brand: str = ""
    aroma: str = ""
    category: str = ""


@dataclass(frozen=True)
class LifecycleRules:
    """Days without a purchase after which a subject is lapsing / dormant; "new" lasts
    ``new_days`` after the first purchase, "won back" ``won_back_days`` after a purchase that
    ended a gap of at least ``lapse_days``."""

    lapse_days: int = 30
    dormant_days: int = 60
    new_days: int = 30
    won_back_days: int = 30
    window_days: int = 365  # frequency and monetary count this far back


@dataclass(frozen=True)
class Facts:
    recency_days: int | None
    frequency: int
    monetary_fen: int
    last_at: datetime | None
    lifecycle: str
    aroma: dict[str, float] = field(default_factory=dict)  # share of spend, sums to 1
    brand: dict[str, float] = field(default_factory=dict)

    @property
    def top_aroma(self) -> str:
        return _top(self.aroma)

    @property
    def top_brand(self) -> str:
        return _top(self.brand)


def _top(shares: dict[str, float]) -> str:
    if not shares:
        return ""
    return max(sorted(shares), key=lambda k: shares[k])


def lifecycle(times: Sequence[datetime], now: datetime, rules: LifecycleRules = LifecycleRules()) -> str:
    past = sorted(t for t in times if t <= now)
    if not past:
        return NONE
    idle = now - past[-1]
    if idle >= timedelta(days=rules.dormant_days):
        return DORMANT
    if idle >= timedelta(days=rules.lapse_days):
        return LAPSING
    if now - past[0] < timedelta(days=rules.new_days):
        return NEW
    gap = past[-1] - past[-2] if len(past) >= 2 else timedelta(0)
    if gap >= timedelta(days=rules.lapse_days) and now - past[-1] < timedelta(days=rules.won_back_days):
        return WON_BACK
    return ACTIVE


def facts(
    purchases: Sequence[Purchase],
    now: datetime,
    catalog: dict[str, SkuInfo] | None = None,
    rules: LifecycleRules = LifecycleRules(),
) -> Facts:
    catalog = catalog or {}
    past = [p for p in purchases if p.at <= now]
    since = now - timedelta(days=rules.window_days)
    window = [p for p in past if p.at >= since]
    last = max((p.at for p in past), default=None)
    aroma: Counter[str] = Counter()
    brand: Counter[str] = Counter()
    for p in window:
        for sku, weight in p.skus:
            info = catalog.get(sku)
            if info is None:
                continue
            if info.aroma:
                aroma[info.aroma] += weight
            if info.brand:
                brand[info.brand] += weight
    return Facts(
        recency_days=(now - last).days if last else None,
        frequency=len(window),
        monetary_fen=sum(p.amount_fen for p in window),
        last_at=last,
        lifecycle=lifecycle([p.at for p in past], now, rules),
        aroma=_shares(aroma),
        brand=_shares(brand),
    )


def _shares(counts: Counter[str]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: round(v / total, 4) for k, v in counts.items()} if total else {}


def quintile_edges(values: Sequence[float]) -> list[float]:
    """The 20/40/60/80th percentile cut points of the values (sorted, nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return []
    return [ordered[min(len(ordered) - 1, (len(ordered) * q) // 5)] for q in (1, 2, 3, 4)]


def score(value: float, edges: list[float]) -> int:
    """1..5: how many cut points the value reaches, plus one."""
    return 1 + bisect.bisect_right(edges, value) if edges else 1


def rfm_cells(all_facts: dict[str, Facts]) -> dict[str, str]:
    """The RFM cell ("545") of every subject, scored among its peers."""
    buyers = {k: f for k, f in all_facts.items() if f.recency_days is not None}
    # recency: fewer days is better, so score the negated value
    r_edges = quintile_edges([-f.recency_days for f in buyers.values()])  # type: ignore[operator]
    f_edges = quintile_edges([f.frequency for f in buyers.values()])
    m_edges = quintile_edges([f.monetary_fen for f in buyers.values()])
    cells = {}
    for key, f in all_facts.items():
        if f.recency_days is None:
            cells[key] = "111"
            continue
        cells[key] = (
            f"{score(-f.recency_days, r_edges)}{score(f.frequency, f_edges)}{score(f.monetary_fen, m_edges)}"
        )
    return cells
