"""Errors of the analytics domain."""

from __future__ import annotations


class AnalyticsError(Exception):
    pass


class BadEvents(AnalyticsError):
    """A batch of events broke the schema: ``field`` names the first place (``events[2].sku``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class EventTooOld(BadEvents):
    pass


class UnknownWeek(AnalyticsError):
    """A week that is not ISO ``YYYY-Www``."""
