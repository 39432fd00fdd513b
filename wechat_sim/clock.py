"""Injectable time. Every rule with a window (token expiry, the 48-hour window, code lifetimes,
daily quotas) reads the simulator's clock, so tests can move time instead of sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that stands still until told to move (for deterministic tests)."""

    def __init__(self, start: float | None = None) -> None:
        self._now = float(start if start is not None else int(time.time()))

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, timestamp: float) -> None:
        self._now = float(timestamp)


class OffsetClock:
    """Real time plus an adjustable offset: time keeps flowing (asyncio timeouts stay meaningful)
    while a test or a demo jumps ahead, e.g. past the 48-hour window."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


BEIJING_OFFSET = 8 * 3600


def beijing_day(timestamp: float) -> int:
    """Day number in Asia/Shanghai: WeChat's daily quotas reset at Beijing midnight."""
    return int((timestamp + BEIJING_OFFSET) // 86400)
