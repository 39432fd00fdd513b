"""Small helpers shared by the route modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core.api.registry import Call
from reference_core.idempotency import Deferred, Outcome, run_idempotent

T = TypeVar("T")


async def read(call: Call, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async with call.core.readers() as session:
        return await work(session)


async def write(
    call: Call, work: Callable[[AsyncSession], Awaitable[BaseModel | Deferred]], *, status: int = 200
) -> Outcome:
    """One transaction, under the request's Idempotency-Key if it has one; wakes the webhook
    dispatcher after a commit (the work may have written events)."""
    return await run_idempotent(
        call.core.sessions, call.idem, work, status=status, after_commit=call.core.webhook_wakeup.set
    )
