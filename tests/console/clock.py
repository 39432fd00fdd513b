"""A clock the tests move by hand (sessions and lockout take it by parameter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 12, 6, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    @classmethod
    def real_now(cls) -> FakeClock:
        """Starting at the wall clock (for rows other code stamps with the real time)."""
        return cls(datetime.now(UTC))

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
