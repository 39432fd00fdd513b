"""A Redis stream written on a hot path and moved into the database in batches behind it.

The hot path appends one entry (``XADD``, often inside a round trip it makes anyway); a writer in
every serving process reads the stream through one consumer group, so entries are shared between
processes and survive a crash: entries a dead consumer left pending are taken over after
``claim_idle_ms``. A batch is acknowledged and deleted only after ``store`` returned, so an entry
may be stored twice (a crash between the commit and the acknowledgement): stores make their
writes idempotent (insert-or-ignore on a key the entry carries).

Used by the inbound message log, the analytics events and the content views.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError, ResponseError

log = structlog.get_logger(__name__)

Entry = dict[bytes, bytes]
Store = Callable[[list[Entry]], Awaitable[None]]
"""Writes one batch of entries (in stream order); raising leaves them pending for a retry."""


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class StreamConsumer:
    def __init__(
        self, redis: aioredis.Redis, stream: str, group: str, *, claim_idle_ms: int = 60_000
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
        self.claim_idle_ms = claim_idle_ms

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, consumer: str, *, block_ms: int, count: int) -> list[tuple[bytes, Entry]]:
        """Entries abandoned by a dead consumer first, else new ones (blocking up to ``block_ms``)."""
        claimed = await self.redis.xautoclaim(
            self.stream, self.group, consumer, min_idle_time=self.claim_idle_ms, count=count
        )
        items = list(claimed[1]) if claimed and claimed[1] else []
        if not items:
            response: Any = await self.redis.xreadgroup(
                self.group, consumer, {self.stream: ">"}, count=count, block=block_ms
            )
            # A RESP2 reply, [[stream, entries]]: redis-py types it together with RESP3's mapping.
            items = list(response[0][1]) if response else []
        return [(i, f) for i, f in items if f]  # a deleted entry comes back with no fields

    async def batch(self, store: Store, consumer: str, *, block_ms: int = 1000, count: int = 500) -> int:
        """Store one read of the stream; returns the number of entries moved."""
        items = await self.read(consumer, block_ms=block_ms, count=count)
        if not items:
            return 0
        await store([fields for _, fields in items])
        ids = [i for i, _ in items]
        await self.redis.xack(self.stream, self.group, *ids)
        await self.redis.xdel(self.stream, *ids)
        return len(items)

    async def drain(self, store: Store, consumer: str = "drain", *, wait_seconds: float = 30.0) -> int:
        """Store everything in the stream now (tests, the CLI); returns how many this call moved.

        Waits while another consumer holds entries (a writer mid-batch): the stream is empty once
        every entry is stored, since stored entries are deleted."""
        await self.ensure_group()
        total = 0
        deadline = time.monotonic() + wait_seconds
        while await self.redis.xlen(self.stream) and time.monotonic() < deadline:
            moved = await self.batch(store, consumer, block_ms=1, count=500)
            total += moved
            if not moved:
                await asyncio.sleep(0.02)
        return total

    def _block_ms(self) -> int:
        # XREADGROUP BLOCK must end before the client's reply deadline (socket_timeout).
        pool = getattr(self.redis, "connection_pool", None)
        deadline = (getattr(pool, "connection_kwargs", None) or {}).get("socket_timeout")
        return max(10, min(1000, int(deadline * 500))) if deadline else 1000

    async def run(
        self,
        store: Store,
        stop: asyncio.Event,
        *,
        errors: tuple[type[BaseException], ...] = (),
        after: Callable[[], Awaitable[object]] | None = None,
        count: int = 500,
    ) -> None:
        """The writer loop until ``stop``: Redis and ``errors`` (the store's, e.g. the database's)
        are logged and retried after a second; a flushed Redis gets its group made again."""
        consumer, block_ms = consumer_name(), self._block_ms()
        retried: tuple[type[BaseException], ...] = (RedisError, OSError, *errors)
        await self.ensure_group()
        while not stop.is_set():
            try:
                await self.batch(store, consumer, block_ms=block_ms, count=count)
                if after is not None:
                    await after()
            except ResponseError as exc:
                if "NOGROUP" not in str(exc) and "UNBLOCKED" not in str(exc):
                    log.exception("stream_writer_error", stream=self.stream)
                    await asyncio.sleep(1.0)
                    continue
                await asyncio.sleep(0.2)  # the stream was deleted (Redis flushed)
                with contextlib.suppress(RedisError):
                    await self.ensure_group()
            except retried:
                log.exception("stream_writer_error", stream=self.stream)
                await asyncio.sleep(1.0)
