"""Uplift of a journey: treatment vs control conversion with a 95% confidence interval.

The interval of a difference of two proportions is Newcombe's hybrid score interval (method 10),
built from each arm's Wilson interval: it behaves at small counts and near 0 or 1, where the
normal approximation (Wald) undercovers."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Uplift:
    treatment_rate: float
    control_rate: float
    difference: float  # treatment - control, absolute
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def uplift(t_conv: int, t_n: int, c_conv: int, c_n: int, z: float = Z95) -> Uplift | None:
    """None when an arm is empty (no comparison is possible)."""
    if t_n == 0 or c_n == 0:
        return None
    p1, p2 = t_conv / t_n, c_conv / c_n
    l1, u1 = wilson(t_conv, t_n, z)
    l2, u2 = wilson(c_conv, c_n, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Uplift(p1, p2, d, max(-1.0, low), min(1.0, high))
