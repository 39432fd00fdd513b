"""Festival seasons for replenishment: 春节 and 中秋, whose dates move with the lunar calendar.

A store stocks up in the weeks before a festival (gift boxes, banquets), so its reorder interval
shortens there, and only there. ``season_of`` says which festival's stocking-up weeks (the
``LEAD_DAYS`` before it, Shanghai dates) a moment falls in. The dates are the public holidays'
first days, listed (a lunar calendar is not worth a dependency for two festivals a year); a year
outside the table simply has no season, so predictions fall back to the plain rhythm.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

from bot.automation.clock import SHANGHAI

LEAD_DAYS = 42  # six weeks of stocking up before the festival

FESTIVALS: dict[str, tuple[date, ...]] = {
    "春节": (
        date(2019, 2, 5),
        date(2020, 1, 25),
        date(2021, 2, 12),
        date(2022, 2, 1),
        date(2023, 1, 22),
        date(2024, 2, 10),
        date(2025, 1, 29),
        date(2026, 2, 17),
        date(2027, 2, 6),
        date(2028, 1, 26),
        date(2029, 2, 13),
        date(2030, 2, 3),
    ),
    "中秋": (
        date(2019, 9, 13),
        date(2020, 10, 1),
        date(2021, 9, 21),
        date(2022, 9, 10),
        date(2023, 9, 29),
        date(2024, 9, 17),
        date(2025, 10, 6),
        date(2026, 9, 25),
        date(2027, 9, 15),
        date(2028, 10, 3),
        date(2029, 9, 22),
        date(2030, 9, 12),
    ),
}


def season_of(at: datetime) -> tuple[str, date] | None:
    """(festival, its date) when ``at`` falls in the ``LEAD_DAYS`` before it (the day included)."""
    return _season_on(at.astimezone(SHANGHAI).date())


@functools.cache
def _season_on(day: date) -> tuple[str, date] | None:
    for name, dates in FESTIVALS.items():
        for festival in dates:
            if timedelta(0) <= festival - day <= timedelta(days=LEAD_DAYS):
                return name, festival
    return None
