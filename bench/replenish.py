"""Predictive replenishment backtest (issue 13, Deliver 5): the share of repeat stores whose
held-out reorders are all predicted within 7 days, with the festival seasons and without them
(the plain rhythm), on the same made-up history in the same run.

The history is synthetic (no real brand's orders are available here) and says what it assumes:
stores reorder each SKU on their own rhythm (7 to 45 days, 10% noise); a share of them stocks
up before 春节 and/or 中秋 (the interval shrinks to 45% / 60% in the six weeks before); a share
orders erratically (50% noise); every store's history starts in 2023 and stops on its own day
between mid-2025 and early 2026, so the held-out orders fall in and out of the seasons. The
backtest itself is ``bot.automation.replenish.backtest`` (what ``jiubot profiles backtest``
runs on the tenant's order facts).

    .venv/bin/python bench/replenish.py [--stores 2000] [--seed 13]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.automation.replenish import backtest
from bot.automation.seasons import season_of

START = datetime(2023, 3, 1, 10, tzinfo=UTC)


def history(stores: int, rng: random.Random) -> tuple[list[tuple[str, str, datetime]], int]:
    orders: list[tuple[str, str, datetime]] = []
    held_in_season = 0
    for s in range(stores):
        code = f"S{s:05d}"
        rush = {"春节": 0.45} if rng.random() < 0.35 else {}
        if rng.random() < 0.25:
            rush["中秋"] = 0.6
        noise = 0.5 if rng.random() < 0.10 else 0.10
        end = datetime(2025, 6, 1, tzinfo=UTC) + timedelta(days=rng.random() * 270)
        for sku in rng.sample(["FT", "WLY", "GJ", "LZ"], k=rng.randint(1, 2)):
            rhythm = rng.choice((7, 10, 14, 21, 30, 45))
            at = START + timedelta(days=rng.random() * rhythm)
            last = at
            while at <= end:
                orders.append((code, sku, at))
                last = at
                season = season_of(at)
                factor = rush.get(season[0], 1.0) if season else 1.0
                at += timedelta(days=max(1.0, rhythm * factor * (1 + rng.gauss(0, noise))))
            held_in_season += season_of(last) is not None
    return orders, held_in_season


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--days", type=float, default=7)
    args = parser.parse_args()
    orders, in_season = history(args.stores, random.Random(args.seed))
    began = time.perf_counter()
    seasonal = backtest(orders, args.days)
    took = time.perf_counter() - began
    plain = backtest(orders, args.days, seasonal=False)
    print(f"history: {args.stores} stores, {len(orders)} orders (seed {args.seed})")
    print(f"held-out reorders placed in a festival season: {in_season} of {seasonal.pairs} pairs")
    for name, r in (("with seasons", seasonal), ("plain rhythm", plain)):
        print(
            f"{name}: {r.within}/{r.stores} repeat stores ({r.share:.1%}) within {args.days:g} days, "
            f"mean error {r.mean_error_days:.1f} days"
        )
    print(f"ratio seasonal/plain share: {seasonal.share / plain.share:.2f}  (backtest {took:.2f} s)")


if __name__ == "__main__":
    main()
