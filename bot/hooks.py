"""What happened to a member that other features act on at once: a follow, a credited bottle
scan, a claimed coupon, a placed order.

The feature where it happens emits a ``Happened`` after its own transaction committed; features
that care (content credits the forwarder who brought the member) listen. A listener's failure is
logged and never fails the emitter; listeners are idempotent (content's credits are unique per
subject), and whatever a crash between the commit and the emit loses is picked up by the
listener's own safety net (content's sweep, every 15 minutes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog

log = structlog.get_logger(__name__)

Kind = Literal["follow", "scan", "coupon", "order"]


@dataclass(frozen=True, slots=True)
class Happened:
    tenant_id: int
    kind: Kind
    at: datetime
    member_id: int | None = None  # None: an order the core told us about (the buyer is looked up)
    order_id: str | None = None  # orders: the core's order id


Listener = Callable[[Happened], Awaitable[None]]


class Hooks:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._pending: set[asyncio.Task[None]] = set()

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def emit(self, happened: Happened) -> None:
        for listener in self._listeners:
            try:
                await listener(happened)
            except Exception:  # the emitter's work is done; the listener's safety net catches up
                log.warning("hook_failed", kind=happened.kind, tenant=happened.tenant_id, exc_info=True)

    def soon(self, happened: Happened) -> None:
        """``emit`` without holding the emitter's answer: for a hot path (a credited scan), whose
        listeners' extra transaction would otherwise be paid by every request. Pending tasks are
        awaited by ``settled`` (the runtime's close, tests)."""
        if not self._listeners:
            return
        task = asyncio.get_running_loop().create_task(self.emit(happened))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settled(self, grace: float = 10.0) -> None:
        """Wait for the listeners started by ``soon`` (emit never raises, so neither does this)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=grace)
