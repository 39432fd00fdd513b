"""Predictive replenishment: intervals, the nudge a day before, and the backtest figure on a
seeded history of stores with their own rhythms and noise (the issue's bar: 70% within 7 days)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.automation.replenish import backtest, interval, predict

T = datetime(2026, 1, 1, tzinfo=UTC)


def test_interval_is_the_stores_own_rhythm():
    assert interval([T]) is None
    assert interval([T, T + timedelta(minutes=5)]) is None  # same-day orders are one restock
    assert interval([T + timedelta(days=d) for d in (0, 14, 28, 42)]) == timedelta(days=14)
    # one late order does not move the median much; the latest rhythm counts double
    assert interval([T + timedelta(days=d) for d in (0, 14, 28, 60, 74)]) == timedelta(days=14)
    [p] = predict([("S1", "FT", T), ("S1", "FT", T + timedelta(days=20)), ("S2", "FT", T)])
    assert (p.store, p.due_at, p.nudge_at) == ("S1", T + timedelta(days=40), T + timedelta(days=39))


def test_backtest_reports_the_share_within_seven_days():
    rng = random.Random(13)
    orders = []
    for s in range(300):
        rhythm = rng.choice((7, 10, 14, 21, 30))
        at = T + timedelta(days=rng.random() * 10)
        for _ in range(rng.randint(3, 12)):
            orders.append((f"S{s}", "FT", at))
            at += timedelta(days=rhythm + rng.gauss(0, rhythm * 0.12))
    result = backtest(orders)
    assert result.stores == 300 and result.pairs == 300
    assert result.share >= 0.7, result
    # a store with no rhythm at all is predicted badly, and the backtest says so
    chaos = [("X", "FT", T + timedelta(days=d)) for d in (0, 3, 60, 61, 150)]
    assert backtest(chaos).share == 0.0
