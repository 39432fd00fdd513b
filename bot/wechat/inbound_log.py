"""The inbound message log and interaction records, written behind the hot path.

The callback appends an entry to a Redis stream in the same batched round trip that settles the
dedupe lease; a writer task in every serving process (a consumer group, so entries are shared and
survive a crash) inserts them into ``inbound_messages`` and ``interactions`` in batches and touches
the members' last-seen time. Inserts ignore conflicts on (appid, dedupe key): an entry delivered
twice is stored once.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import orjson
import redis.asyncio as aioredis
import structlog
from sqlalchemy import bindparam, delete, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import insert_ignore_statement, rowcount, session_scope
from bot.membership.models import Member, MemberIdentity
from bot.observability import metrics
from bot.redis import Keys
from bot.redis_mux import Command, Mux
from bot.streams import Entry, Store, StreamConsumer
from bot.wechat.models import InboundMessage, Interaction

log = structlog.get_logger(__name__)

GROUP = "log-writer"


@dataclass(frozen=True, slots=True)
class LogEntry:
    tenant_id: int
    appid: str
    openid: str
    member_id: int | None
    dedupe_key: str
    msg_type: str
    event: str | None
    event_key: str | None
    summary: str
    trigger: str | None
    outcome: str
    latency_ms: int
    received_at: int


class TouchCache:
    """Which identities this writer moved ``last_seen_at`` for recently: the column has a
    resolution of ``resolution`` seconds (exact times are in ``interactions``), so an active
    member costs one UPDATE per period, not one per message."""

    def __init__(self, resolution: int = 300, size: int = 100_000) -> None:
        self.resolution = resolution
        self.size = size
        self._last: OrderedDict[tuple[str, str], int] = OrderedDict()

    def due(self, key: tuple[str, str], when: int) -> bool:
        last = self._last.get(key)
        if last is not None and when - last < self.resolution:
            return False
        self._last[key] = when
        self._last.move_to_end(key)
        if len(self._last) > self.size:
            self._last.popitem(last=False)
        return True


class InboundLog:
    def __init__(self, redis: aioredis.Redis, mux: Mux, keys: Keys, *, maxlen: int = 200_000) -> None:
        self.redis = redis  # redis-py for the writer's blocking reads
        self.mux = mux  # the hot path's multiplexed connection for appends
        self.stream = keys("inbound-log")
        self.consumer = StreamConsumer(redis, self.stream, GROUP)
        self.maxlen = maxlen
        self.recently_touched = TouchCache()

    def command(self, entry: LogEntry) -> Command:
        return ("XADD", self.stream, "MAXLEN", "~", self.maxlen, "*", "e", orjson.dumps(entry))

    async def append(self, entry: LogEntry) -> None:
        await self.mux.execute(*self.command(entry))

    # writer -------------------------------------------------------------------------------
    async def ensure_group(self) -> None:
        await self.consumer.ensure_group()

    def _store_with(self, sessions: async_sessionmaker[AsyncSession]) -> Store:
        async def store(fields: list[Entry]) -> None:
            entries = [LogEntry(**orjson.loads(f[b"e"])) for f in fields]
            try:
                async with session_scope(sessions) as session:
                    await _store(session, entries, self.recently_touched)
            except IntegrityError:
                # One bad entry (e.g. a member id from a Redis cache that outlived its database)
                # must not block the log forever: store the batch entry by entry, without the
                # member where it is unknown, and drop what still fails, loudly.
                await self._store_one_by_one(sessions, entries)

        return store

    async def write_batch(
        self,
        sessions: async_sessionmaker[AsyncSession],
        consumer: str,
        *,
        block_ms: int = 1000,
        count: int = 500,
    ) -> int:
        """Move one batch from the stream into the database; returns the number of entries."""
        return await self.consumer.batch(self._store_with(sessions), consumer, block_ms=block_ms, count=count)

    async def _store_one_by_one(
        self, sessions: async_sessionmaker[AsyncSession], entries: list[LogEntry]
    ) -> None:
        for entry in entries:
            for candidate in (entry, replace(entry, member_id=None)):
                try:
                    async with session_scope(sessions) as session:
                        await _store(session, [candidate])
                    break
                except IntegrityError:
                    continue
            else:
                metrics.log_dropped.inc()
                log.error("inbound_log_entry_dropped", appid=entry.appid, dedupe_key=entry.dedupe_key[:80])

    async def run_writer(self, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
        async def backlog() -> None:
            metrics.log_backlog.set(await self.redis.xlen(self.stream))

        await self.consumer.run(self._store_with(sessions), stop, errors=(SQLAlchemyError,), after=backlog)


async def _store(session: AsyncSession, entries: list[LogEntry], touched: TouchCache | None = None) -> None:
    rows = [
        {
            "tenant_id": e.tenant_id,
            "appid": e.appid,
            "openid": e.openid,
            # A failed attempt keeps its own row; the retry that succeeds gets the plain key.
            "dedupe_key": (
                e.dedupe_key if e.outcome != "failed" else f"{e.dedupe_key}#failed@{e.received_at}"
            )[:200],
            "msg_type": e.msg_type[:32],
            "event": (e.event or None) and e.event[:64],
            "summary": e.summary,
            "outcome": e.outcome,
            "latency_ms": e.latency_ms,
            "received_at": datetime.fromtimestamp(e.received_at, UTC),
        }
        for e in entries
    ]
    await session.execute(
        insert_ignore_statement(session, InboundMessage.__table__, index_elements=["appid", "dedupe_key"]),
        rows,
    )
    interactions = [
        {
            "tenant_id": e.tenant_id,
            "member_id": e.member_id,
            "appid": e.appid,
            "openid": e.openid,
            "trigger": e.trigger,
            "source_key": e.dedupe_key[:200],
            "occurred_at": datetime.fromtimestamp(e.received_at, UTC),
        }
        for e in entries
        if e.trigger and e.outcome != "failed"
    ]
    if interactions:
        await session.execute(
            insert_ignore_statement(session, Interaction.__table__, index_elements=["appid", "source_key"]),
            interactions,
        )
    seen: dict[int, datetime] = {}
    identities: dict[tuple[str, str], datetime] = {}
    for e in entries:
        if touched is not None and not touched.due((e.appid, e.openid), e.received_at):
            continue
        when = datetime.fromtimestamp(e.received_at, UTC)
        if e.member_id:
            seen[e.member_id] = max(when, seen.get(e.member_id, when))
        identities[(e.appid, e.openid)] = max(when, identities.get((e.appid, e.openid), when))
    if not identities:
        return
    # One statement each, executed many times: compiled once, one round trip on psycopg.
    if seen:
        await session.execute(
            update(Member.__table__)
            .where(
                Member.__table__.c.id == bindparam("m_id"),
                Member.__table__.c.last_seen_at < bindparam("m_when"),
            )
            .values(last_seen_at=bindparam("m_when")),
            [{"m_id": member_id, "m_when": when} for member_id, when in seen.items()],
        )
    table = MemberIdentity.__table__
    await session.execute(
        update(table)
        .where(
            table.c.appid == bindparam("i_appid"),
            table.c.openid == bindparam("i_openid"),
            table.c.last_seen_at < bindparam("i_when"),
        )
        .values(last_seen_at=bindparam("i_when")),
        [{"i_appid": a, "i_openid": o, "i_when": when} for (a, o), when in identities.items()],
    )


async def prune(
    sessions: async_sessionmaker[AsyncSession], retention_days: int, *, now: datetime | None = None
) -> int:
    """Delete log rows older than the retention period; returns how many went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    async with session_scope(sessions) as session:
        result = await session.execute(delete(InboundMessage).where(InboundMessage.received_at < cutoff))
        return rowcount(result) or 0
