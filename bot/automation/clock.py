"""Time for automation is explicit: every function takes ``now`` or a ``Clock``.

``SystemClock`` in production; ``FixedClock`` lets ``jiubot journeys tick --at ...`` and the tests
replay weeks of journeys in seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> datetime:
        self.at = self.at + delta
        return self.at


def parse_at(text: str) -> datetime:
    """An ISO time for ``--at``; a time without an offset is read in Asia/Shanghai."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)
