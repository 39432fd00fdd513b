"""Errors of the ordering package: a stable code and the data, never user-facing text."""

from __future__ import annotations

from enum import StrEnum


class OrderingErrorCode(StrEnum):
    CATALOG_INVALID = "catalog_invalid"


class OrderingError(Exception):
    code: OrderingErrorCode


class CatalogInvalid(OrderingError):
    """The catalog file cannot be read; ``problems`` lists each bad entry."""

    code = OrderingErrorCode.CATALOG_INVALID

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems
