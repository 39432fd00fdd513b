"""What the callback pipeline answers and how each of its Redis steps keeps to the budget."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from redis.exceptions import RedisError

T = TypeVar("T")

# The finishing round trip may use this much beyond the budget (WeChat waits 5 s; the budget is
# at most 4.9 s, 4.5 s by default).
SETTLE_GRACE = 0.3


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the HTTP layer sends: ``xml`` (plain reply XML) or an ack when None."""

    xml: bytes | None
    status: str  # replied, acked, deferred, duplicate, failed, replay, unknown_type, unavailable


class ReplayedNonce(Exception):
    pass


class RedisUnavailable(Exception):
    """A Redis step of the callback did not complete within its share of the budget."""


async def within(seconds: float, step: Awaitable[T]) -> T:
    """Await ``step`` for at most ``seconds``; Redis errors and the deadline become RedisUnavailable."""
    try:
        async with asyncio.timeout(max(seconds, 0.0)):
            return await step
    except (TimeoutError, RedisError, OSError) as exc:
        raise RedisUnavailable(f"{type(exc).__name__}: {exc}") from exc
