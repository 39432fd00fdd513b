"""Placing orders exactly once, even when the core is slow or down (ARCHITECTURE.md mechanism 3).

A confirmed order becomes an **intent** row first (unique Idempotency-Key, the exact request body),
then goes to the core. The confirming turn waits up to its budget:

* the core answers in time -> the turn shows the order (or the refusal);
* it does not -> the turn answers "稍后确认" and sets ``notify`` on the intent; the attempt goes on
  in the background, and a worker retries pending intents with the **same key and body** (backoff
  from ``retry_base`` to 5 minutes) until the core accepts or refuses, or ``max_age`` passes.

Whoever moves an intent out of ``pending`` does so with a conditional update that also reads
``notify``: if it is set, the result is pushed (``on_settled``), else the turn reports it itself.
The turn sets ``notify`` with a conditional update too, so exactly one of them tells the store
owner, and the core's Idempotency-Key makes every try after the first a replay.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend_client import BackendUnavailable, CoreError, LineRequest, ProtocolError, Unauthorized
from bot.db import insert_ignore, rowcount, session_scope, utcnow
from bot.hooks import Happened, Hooks
from bot.ordering.models import OrderIntent
from bot.ordering.views import PlaceResult

log = structlog.get_logger(__name__)

PENDING, PLACED, REFUSED, EXPIRED = "pending", "placed", "refused", "expired"
MAX_BACKOFF = 300.0
# errors that say nothing about the order: try again with the same key
TRANSIENT = (BackendUnavailable, ProtocolError, Unauthorized)

Settled = Callable[[OrderIntent, PlaceResult], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Submission:
    tenant_id: int
    member_id: int | None
    appid: str
    openid: str
    channel: str  # chat | mp
    key: str
    body: dict[str, Any]


def result_of(row: OrderIntent, *, replayed: bool = False) -> PlaceResult:
    details = orjson.loads(row.error_detail) if row.error_detail else {}
    return PlaceResult(
        status=row.status,
        intent_id=row.id,
        key=row.idempotency_key,
        order_id=row.order_id,
        number=row.order_number,
        total_fen=row.total_fen,
        error_code=row.error_code,
        details=details,
        replayed=replayed,
    )


class OrderPlacer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        orders: Callable[[int], Awaitable[Any]],  # tenant id -> its core's ``client.orders`` area
        *,
        retry_base: float = 2.0,
        max_age: float = 24 * 3600,
        lease: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.orders = orders
        self.retry_base = retry_base
        self.max_age = max_age
        self.lease = lease
        self.clock = clock
        self.on_settled: Settled | None = None
        self.hooks: Hooks | None = None  # told of each placed order
        self._tasks: set[asyncio.Task[Any]] = set()

    # the confirming turn ---------------------------------------------------------------------------
    async def place(self, sub: Submission, *, budget: float) -> PlaceResult:
        """Record the intent and try it, waiting at most ``budget`` seconds."""
        row, fresh = await self._submit(sub)
        if row.status != PENDING:
            return result_of(row, replayed=True)
        if not fresh and not await self._claim(row.id, notify=False):
            # another try of this very order is in flight (a double tap, a WeChat retry)
            await self._mark_notify(row.id)
            return result_of(await self._load(row.id), replayed=True)
        task = asyncio.ensure_future(self._attempt(row.id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        done, _ = await asyncio.wait({task}, timeout=budget)
        if (
            task in done
            and not task.cancelled()
            and task.exception() is None
            and task.result().status != PENDING
        ):
            return task.result()
        # still trying (or a quick transient failure): from now on the result is pushed
        if await self._mark_notify(row.id):
            return result_of(await self._load(row.id), replayed=not fresh)
        return result_of(await self._load(row.id))  # settled just now: the turn reports it

    async def status(self, tenant_id: int, key: str, *, core_store_id: int | None) -> PlaceResult | None:
        """The intent ``key`` of the tenant, only if it orders for ``core_store_id`` (the caller's
        bound store): another store's key is as unknown as a key that does not exist. ``None`` only
        for a key the server itself kept for the member (the chat's last confirmed order)."""
        async with session_scope(self.sessions) as session:
            row = await _by_key(session, tenant_id, key)
            if row is None or (core_store_id is not None and row.core_store_id != core_store_id):
                return None
            return result_of(row, replayed=True)

    # the worker ------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, poll: float | None = None) -> None:
        poll = poll if poll is not None else min(1.0, self.retry_base)
        while not stop.is_set():
            try:
                await self.retry_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("order_retry_round_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)

    async def retry_due(self, limit: int = 20) -> int:
        now = self.clock()
        async with session_scope(self.sessions) as session:
            ids = (
                await session.scalars(
                    select(OrderIntent.id)
                    .where(OrderIntent.status == PENDING, OrderIntent.next_attempt_at <= now)
                    .order_by(OrderIntent.next_attempt_at)
                    .limit(limit)
                )
            ).all()
        claimed = [i for i in ids if await self._claim(i, notify=True)]
        await asyncio.gather(*(self._attempt(i) for i in claimed), return_exceptions=True)
        return len(claimed)

    async def drain(self, grace: float = 5.0) -> None:
        """On shutdown: let in-flight tries finish briefly; the rest stay pending for the worker."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()

    # internals ----------------------------------------------------------------------------------
    async def _submit(self, sub: Submission) -> tuple[OrderIntent, bool]:
        now = self.clock()
        row = {
            "tenant_id": sub.tenant_id,
            "member_id": sub.member_id,
            "appid": sub.appid,
            "openid": sub.openid,
            "channel": sub.channel,
            "core_store_id": int(sub.body["store_id"]),
            "idempotency_key": sub.key,
            "body": orjson.dumps(sub.body, option=orjson.OPT_SORT_KEYS).decode(),
            "status": PENDING,
            "notify": False,
            "attempts": 1,
            "next_attempt_at": now + timedelta(seconds=self.lease),
            "order_number": "",
            "error_code": "",
            "error_detail": "",
            "created_at": now,
            "updated_at": now,
        }
        async with session_scope(self.sessions) as session:
            stmt = insert_ignore(
                session, OrderIntent.__table__, [row], index_elements=["tenant_id", "idempotency_key"]
            )
            fresh = (await session.execute(stmt.returning(OrderIntent.__table__.c.id))).first() is not None
            found = await _by_key(session, sub.tenant_id, sub.key)
            assert found is not None
            return found, fresh

    async def _load(self, intent_id: int) -> OrderIntent:
        async with session_scope(self.sessions) as session:
            return (
                await session.execute(select(OrderIntent).where(OrderIntent.id == intent_id))
            ).scalar_one()

    async def _claim(self, intent_id: int, *, notify: bool) -> bool:
        """Take the next try of a due intent (a conditional update: one taker per lease)."""
        now = self.clock()
        values: dict[str, Any] = {
            "next_attempt_at": now + timedelta(seconds=self.lease),
            "attempts": OrderIntent.attempts + 1,
            "updated_at": now,
        }
        if notify:
            values["notify"] = True
        async with session_scope(self.sessions) as session:
            result = await session.execute(
                update(OrderIntent)
                .where(
                    OrderIntent.id == intent_id,
                    OrderIntent.status == PENDING,
                    OrderIntent.next_attempt_at <= now,
                )
                .values(**values)
            )
            return rowcount(result) == 1

    async def _mark_notify(self, intent_id: int) -> bool:
        async with session_scope(self.sessions) as session:
            result = await session.execute(
                update(OrderIntent)
                .where(OrderIntent.id == intent_id, OrderIntent.status == PENDING)
                .values(notify=True)
            )
            return rowcount(result) == 1

    async def _attempt(self, intent_id: int) -> PlaceResult:
        row = await self._load(intent_id)
        body = orjson.loads(row.body)
        try:
            orders = await self.orders(row.tenant_id)
            order = await orders.create(
                int(body["store_id"]),
                [LineRequest(**line) for line in body["lines"]],
                idempotency_key=row.idempotency_key,
                coupon_claim_id=body.get("coupon_claim_id"),
                note=body.get("note", ""),
                expected_total_fen=body.get("expected_total_fen"),
            )
        except TRANSIENT as exc:
            return await self._transient(row, exc)
        except CoreError as exc:
            detail = {"code": exc.code, **dict(exc.details)}
            return await self._settle(row, REFUSED, error_code=exc.code, error_detail=detail)
        return await self._settle(
            row, PLACED, order_id=order.id, order_number=order.number, total_fen=order.total_fen
        )

    async def _transient(self, row: OrderIntent, exc: Exception) -> PlaceResult:
        now = self.clock()
        if (now - row.created_at).total_seconds() >= self.max_age:
            return await self._settle(
                row, EXPIRED, error_code="core_unavailable", error_detail={"error": str(exc)[:300]}
            )
        delay = min(MAX_BACKOFF, self.retry_base * 2 ** max(row.attempts - 1, 0))
        async with session_scope(self.sessions) as session:
            await session.execute(
                update(OrderIntent)
                .where(OrderIntent.id == row.id, OrderIntent.status == PENDING)
                .values(
                    next_attempt_at=now + timedelta(seconds=delay),
                    updated_at=now,
                    error_code="core_unavailable",
                )
            )
        log.warning(
            "order_intent_retry", intent=row.id, attempts=row.attempts, delay=delay, error=str(exc)[:200]
        )
        return PlaceResult(PENDING, row.id, row.idempotency_key, error_code="core_unavailable")

    async def _settle(
        self, row: OrderIntent, status: str, *, error_detail: dict | None = None, **values: Any
    ) -> PlaceResult:
        now = self.clock()
        detail = orjson.dumps(error_detail, default=str).decode() if error_detail else ""
        async with session_scope(self.sessions) as session:
            settled = (
                await session.execute(
                    update(OrderIntent)
                    .where(OrderIntent.id == row.id, OrderIntent.status == PENDING)
                    .values(status=status, updated_at=now, error_detail=detail, **values)
                    .returning(OrderIntent.notify)
                )
            ).first()
            final = (await session.execute(select(OrderIntent).where(OrderIntent.id == row.id))).scalar_one()
        result = result_of(final)
        if settled is None:
            return result_of(final, replayed=True)  # someone else settled it first
        log.info("order_intent_settled", intent=row.id, status=status, order=final.order_number or None)
        if status == PLACED and self.hooks is not None and final.order_id is not None:
            happened = Happened(
                final.tenant_id, "order", now, member_id=final.member_id, order_id=str(final.order_id)
            )
            await self.hooks.emit(happened)
        if settled.notify and self.on_settled is not None:
            try:
                await self.on_settled(final, result)
            except Exception:
                log.exception("order_result_push_failed", intent=row.id)
        return result


async def _by_key(session: AsyncSession, tenant_id: int, key: str) -> OrderIntent | None:
    return (
        await session.execute(
            select(OrderIntent).where(OrderIntent.tenant_id == tenant_id, OrderIntent.idempotency_key == key)
        )
    ).scalar_one_or_none()
