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
from datetime import UTC, datetime

import orjson
import redis.asyncio as aioredis
import structlog
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.analytics import repository
from bot.analytics.interface import Event, Record
from bot.db import session_scope
from bot.redis import Keys
from bot.redis_mux import Mux
from bot.streams import Entry, Store, StreamConsumer

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
        self.consumer = StreamConsumer(redis, self.stream, GROUP)
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
        await self.consumer.ensure_group()

    def _store_with(
        self, sessions: async_sessionmaker[AsyncSession], moved: list[int] | None = None
    ) -> Store:
        async def store(entries: list[Entry]) -> None:
            events: list[Record] = []
            for fields in entries:
                try:
                    events.extend(records(fields[b"b"]))
                except (KeyError, TypeError, orjson.JSONDecodeError):
                    log.error("analytics_entry_unreadable")
            if not events:
                return
            received = datetime.now(UTC)
            try:
                async with session_scope(sessions) as session:
                    await repository.store_records(session, events, received_at=received)
            except (IntegrityError, DataError):
                # one bad event must not hold the stream up forever: store one by one, drop
                # (loudly) what still fails
                await self._store_one_by_one(sessions, events, received)
            if moved is not None:
                moved.append(len(events))

        return store

    async def write_batch(
        self,
        sessions: async_sessionmaker[AsyncSession],
        consumer: str,
        *,
        block_ms: int = 1000,
        count: int = 200,
    ) -> int:
        """Move one read of the stream into the database; returns the number of events."""
        moved: list[int] = []
        await self.consumer.batch(self._store_with(sessions, moved), consumer, block_ms=block_ms, count=count)
        return sum(moved)

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
        """Write everything in the stream now (tests, the CLI); returns how many events this
        call wrote."""
        moved: list[int] = []
        await self.consumer.drain(self._store_with(sessions, moved), consumer, wait_seconds=wait_seconds)
        return sum(moved)

    async def run_writer(self, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
        await self.consumer.run(self._store_with(sessions), stop, errors=(SQLAlchemyError,), count=200)
