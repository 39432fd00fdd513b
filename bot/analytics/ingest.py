"""Events go behind the hot path: ``emit`` appends to a Redis stream (one command, which the
callback adds to its finishing round trip), and a writer in every worker process (a consumer
group, so entries are shared and survive a crash) stores them in batches (COPY on PostgreSQL,
see ``repository``), ignoring conflicts on ``(tenant_id, event_id, occurred_at)``: an event
delivered twice is stored once. Entries carry ``Record`` arrays (one JSON pass each way).

The writer stamps each event with its store, region, distributor and tier: from the event's own
store when it names one, else from the member's (one read per batch for all its members).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.analytics import repository
from bot.analytics.interface import Event, Record
from bot.db import session_scope
from bot.redis import Keys
from bot.redis_mux import Mux

log = structlog.get_logger(__name__)

GROUP = "analytics-writer"


def records(raw: bytes) -> list[Record]:
    """A stream entry's events: arrays in ``Record`` order (an entry written by an older
    version carries objects with ``Event``'s fields)."""
    return [
        Record._make(item) if isinstance(item, list) else Record.of(Event(**item))
        for item in orjson.loads(raw)
    ]


class EventStream:
    def __init__(
        self, redis: aioredis.Redis, mux: Mux | None, keys: Keys, *, maxlen: int = 1_000_000
    ) -> None:
        self.redis = redis  # redis-py: the writer's blocking reads, emits outside the hot path
        self.mux = mux  # the hot path's multiplexed connection, when there is one
        self.stream = keys("analytics-events")
        self.maxlen = maxlen

    def command(self, events: list[Event]) -> tuple:
        """One XADD carrying ``events`` (a batch travels as one stream entry)."""
        return (
            "XADD",
            self.stream,
            "MAXLEN",
            "~",
            self.maxlen,
            "*",
            "b",
            orjson.dumps([Record.of(e) for e in events], default=tuple),  # a NamedTuple as an array
        )

    async def emit(self, *events: Event) -> None:
        """The one way to record events, from the mini-program API or from jiubot itself."""
        if not events:
            return
        command = self.command(list(events))
        if self.mux is not None:
            await self.mux.execute(*command)
        else:
            await self.redis.execute_command(*command)

    # writer -------------------------------------------------------------------------------
    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def write_batch(
        self,
        sessions: async_sessionmaker[AsyncSession],
        consumer: str,
        *,
        block_ms: int = 1000,
        count: int = 200,
    ) -> int:
        """Move one read of the stream into the database; returns the number of events."""
        claimed = await self.redis.xautoclaim(self.stream, GROUP, consumer, min_idle_time=60_000, count=count)
        items = list(claimed[1]) if claimed and claimed[1] else []
        if not items:
            response: Any = await self.redis.xreadgroup(
                GROUP, consumer, {self.stream: ">"}, count=count, block=block_ms
            )
            items = list(response[0][1]) if response else []
        items = [(i, f) for i, f in items if f]
        if not items:
            return 0
        events: list[Record] = []
        for _, fields in items:
            try:
                events.extend(records(fields[b"b"]))
            except (KeyError, TypeError, orjson.JSONDecodeError):
                log.error("analytics_entry_unreadable")
        if events:
            received = datetime.now(UTC)
            try:
                async with session_scope(sessions) as session:
                    await repository.store_records(session, events, received_at=received)
            except (IntegrityError, DataError):
                # one bad event must not hold the stream up forever: store one by one, drop
                # (loudly) what still fails
                await self._store_one_by_one(sessions, events, received)
        ids = [i for i, _ in items]
        await self.redis.xack(self.stream, GROUP, *ids)
        await self.redis.xdel(self.stream, *ids)
        return len(events)

    async def _store_one_by_one(
        self, sessions: async_sessionmaker[AsyncSession], events: list[Record], received: datetime
    ) -> None:
        for event in events:
            try:
                async with session_scope(sessions) as session:
                    await repository.store_records(session, [event], received_at=received)
            except (IntegrityError, DataError):
                log.error("analytics_event_dropped", event_id=event.event_id[:96], name=event.name)

    async def drain(
        self,
        sessions: async_sessionmaker[AsyncSession],
        consumer: str = "drain",
        *,
        wait_seconds: float = 30.0,
    ) -> int:
        """Write everything in the stream now (tests, the CLI); returns how many this call wrote.

        Waits while another consumer holds entries (a writer mid-batch); the stream is empty
        once every entry is written, since written entries are deleted."""
        await self.ensure_group()
        total = 0
        deadline = time.monotonic() + wait_seconds
        while await self.redis.xlen(self.stream) and time.monotonic() < deadline:
            moved = await self.write_batch(sessions, consumer, block_ms=1, count=500)
            total += moved
            if not moved:
                await asyncio.sleep(0.02)
        return total

    async def run_writer(self, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
        consumer = f"{socket.gethostname()}-{os.getpid()}"
        await self.ensure_group()
        while not stop.is_set():
            try:
                await self.write_batch(sessions, consumer)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc) and "UNBLOCKED" not in str(exc):
                    log.exception("analytics_writer_error")
                    await asyncio.sleep(1.0)
                    continue
                # the stream was deleted (Redis flushed): make the group again and carry on
                await asyncio.sleep(0.2)
                with contextlib.suppress(RedisError):
                    await self.ensure_group()
            except (RedisError, SQLAlchemyError, OSError):
                log.exception("analytics_writer_error")
                await asyncio.sleep(1.0)
