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


def _seasonal_history(rng: random.Random, store: str, *, until: datetime, festival: str) -> list:
    """Three years of a store that orders every 28 days, but every 12 days in the six weeks
    before ``festival`` (gift boxes), with a little noise; ends with the held-out order."""
    from bot.automation.seasons import season_of

    out = []
    at = datetime(2023, 3, 1, 10, tzinfo=UTC) + timedelta(days=rng.random() * 20)
    while at <= until:
        out.append((store, "FT", at))
        season = season_of(at)
        base = 12 if season is not None and season[0] == festival else 28
        at += timedelta(days=base * (1 + rng.gauss(0, 0.06)))
    return out


def test_the_weeks_before_a_festival_have_the_stores_own_rhythm():
    from bot.automation.seasons import season_of

    assert season_of(datetime(2026, 1, 20, tzinfo=UTC)) == ("春节", datetime(2026, 2, 17).date())
    assert season_of(datetime(2026, 9, 1, tzinfo=UTC)) == ("中秋", datetime(2026, 9, 25).date())
    assert season_of(datetime(2026, 5, 1, tzinfo=UTC)) is None
    rng = random.Random(5)
    # stores whose history shows the 春节 rush (2024, 2025), predicted inside the 2026 rush
    orders = []
    for s in range(40):
        history = _seasonal_history(rng, f"S{s}", until=datetime(2026, 2, 10, tzinfo=UTC), festival="春节")
        orders += history
    by_store: dict[str, list] = {}
    for o in orders:
        by_store.setdefault(o[0], []).append(o)
    seasonal = backtest(orders)
    plain = backtest(orders, seasonal=False)
    assert seasonal.stores == plain.stores == 40
    # the plain rhythm misses the rush by about two weeks; the seasonal one does not
    assert plain.share <= 0.3, plain
    assert seasonal.share >= 0.9, seasonal
    # a prediction made in the rush says so and comes early
    held_in = [o for o in by_store["S0"] if season_of(o[2])]
    [p] = predict([o for o in by_store["S0"] if o[2] <= held_in[-1][2]])
    assert p.season == "春节" and p.interval < timedelta(days=16)
    # outside the season the same store keeps its plain 28 days
    spring = [o for o in by_store["S0"] if o[2] < datetime(2025, 6, 1, tzinfo=UTC)]
    [q] = predict(spring)
    assert q.season == "" and abs(q.interval - timedelta(days=28)) < timedelta(days=3)


def test_a_store_that_merely_orders_often_in_january_is_not_seasonal():
    # one year of history: the January gaps are short, but no earlier 春节 taught it that
    rng = random.Random(9)
    at = datetime(2025, 6, 1, tzinfo=UTC)
    orders = []
    while at < datetime(2026, 2, 1, tzinfo=UTC):
        orders.append(("S1", "FT", at))
        at += timedelta(days=(12 if at.month == 1 else 28) + rng.random())
    [p] = predict(orders)
    assert p.season == ""
