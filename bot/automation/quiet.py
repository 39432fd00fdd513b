"""Quiet hours: no marketing between 21:30 and 08:30 Asia/Shanghai (configurable). A message due
inside the window is held until it ends, never dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.automation.clock import SHANGHAI


@dataclass(frozen=True)
class QuietHours:
    start: time = time(21, 30)
    end: time = time(8, 30)

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"21:30-08:30"``; an empty string means no quiet hours (start == end)."""
        if not text.strip():
            return cls(time(0, 0), time(0, 0))
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-", 1))
        return cls(start, end)

    def quiet(self, at: datetime) -> bool:
        local = at.astimezone(SHANGHAI).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def release(self, at: datetime) -> datetime:
        """``at`` itself outside the window, else the window's end (the first moment to send)."""
        if not self.quiet(at):
            return at
        local = at.astimezone(SHANGHAI)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end
