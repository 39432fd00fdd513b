"""Share-page views and reading-time beacons behind the page: one Redis round trip on the page,
batches into the database behind it (``bot.streams``; the rules are ``bot.content.views``).

The page's one round trip (a Lua script over the hot path's multiplexed connection) appends the
view, claims the share's radar minute when the view counts, and reads what the page shows that
would otherwise cost a database read each time: the viewer's own share code of the item (his
forward-of-forward link) and the forwarder's display name. Both are cached for a day / ten
minutes, written by the page after a miss.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import redis.asyncio as aioredis
import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content import views
from bot.content.interface import Share
from bot.db import session_scope
from bot.redis import Keys
from bot.redis_mux import Mux, Script
from bot.streams import Entry, Store, StreamConsumer

log = structlog.get_logger(__name__)
GROUP = "content-views"
RADAR_EVERY_SECONDS = 60  # one live notice a minute per share: the views it skips go in the digest
OWN_TTL = 86_400
NAME_TTL = 600
READ_ATTEMPTS = 10

_OPEN = """
local radar = 0
if ARGV[3] == '1' and redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[4]) then radar = 1 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'v', ARGV[2], 'r', radar)
return {redis.call('GET', KEYS[2]) or false, radar, redis.call('GET', KEYS[4]) or false}
"""

Announce = Callable[[list[views.Opened]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Opening:
    own_code: str | None  # the viewer's own share of the item, when cached
    radar: bool  # this view is to be announced to the forwarder now
    forwarder_name: str | None  # when cached


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class ViewStream:
    def __init__(
        self,
        redis: aioredis.Redis,
        mux: Mux,
        keys: Keys,
        *,
        maxlen: int = 1_000_000,
        announce: Announce | None = None,
    ) -> None:
        self.redis = redis
        self.mux = mux
        self.keys = keys
        self.stream = keys("content-views")
        self.maxlen = maxlen
        self.announce = announce  # the radar's live notice for the views a batch stored
        self.consumer = StreamConsumer(redis, self.stream, GROUP)
        self._open = Script(mux, _OPEN)

    def _own_key(self, item_id: int, viewer_id: int) -> str:
        return self.keys("content", "own", str(item_id), str(viewer_id))

    def _name_key(self, forwarder_id: int) -> str:
        return self.keys("content", "name", str(forwarder_id))

    async def open(self, share: Share, viewer_id: int, ref: str, at: datetime) -> Opening:
        """Append the view (one round trip); a self-view never claims the radar."""
        payload = orjson.dumps([ref, share.tenant_id, share.id, share.forwarder_id, viewer_id, _ms(at)])
        counted = viewer_id != share.forwarder_id
        radar_key = self.keys("content", "radar", str(share.id))
        reply = await self._open(
            [
                self.stream,
                self._own_key(share.item_id, viewer_id),
                radar_key,
                self._name_key(share.forwarder_id),
            ],
            [self.maxlen, payload, "1" if counted else "0", RADAR_EVERY_SECONDS],
        )
        own, radar, name = reply if isinstance(reply, list) else (None, 0, None)
        return Opening(
            own.decode() if isinstance(own, bytes) else None,
            bool(radar),
            name.decode() if isinstance(name, bytes) else None,
        )

    async def remember(
        self, item_id: int, viewer_id: int, own_code: str | None, forwarder: tuple[int, str] | None
    ) -> None:
        commands: list[tuple[str | int, ...]] = []
        if own_code is not None:
            commands.append(("SET", self._own_key(item_id, viewer_id), own_code, "EX", OWN_TTL))
        if forwarder is not None:
            commands.append(("SET", self._name_key(forwarder[0]), forwarder[1], "EX", NAME_TTL))
        if commands:
            await self.mux.execute_many(list(commands))

    async def read(self, ref: str, viewer_id: int, seconds: int, at: datetime, attempt: int = 0) -> None:
        """A reading-time beacon, stored after its view (same stream, in order)."""
        payload = orjson.dumps([ref, viewer_id, seconds, _ms(at), attempt])
        await self.mux.execute("XADD", self.stream, "MAXLEN", "~", self.maxlen, "*", "b", payload)

    # writer -------------------------------------------------------------------------------
    def _store_with(self, sessions: async_sessionmaker[AsyncSession]) -> Store:
        async def store(entries: list[Entry]) -> None:
            seen: list[views.ViewEvent] = []
            reads: list[views.ReadEvent] = []
            for fields in entries:
                try:
                    if b"v" in fields:
                        ref, tenant, share, forwarder, viewer, at = orjson.loads(fields[b"v"])
                        radar = fields.get(b"r") == b"1"
                        seen.append(views.ViewEvent(ref, tenant, share, forwarder, viewer, _at(at), radar))
                    else:
                        ref, viewer, seconds, at, attempt = orjson.loads(fields[b"b"])
                        reads.append(views.ReadEvent(ref, viewer, seconds, _at(at), attempt))
                except (KeyError, ValueError, TypeError):
                    log.error("content_view_entry_unreadable")
            async with session_scope(sessions) as session:
                stored = await views.store(session, seen, reads)
            # a beacon whose view another writer holds uncommitted goes round again, backing off
            # (0.05 s doubling to 1 s: about 6 s in all), then is dropped
            if stored.waiting:
                await asyncio.sleep(min(0.05 * 2 ** min(r.attempt for r in stored.waiting), 1.0))
            for read in stored.waiting:
                if read.attempt < READ_ATTEMPTS:
                    await self.read(read.ref, read.viewer_id, read.seconds, read.at, read.attempt + 1)
                else:
                    log.info("content_read_dropped", reason="unknown_view")
            if stored.opened and self.announce is not None:
                try:
                    await self.announce(stored.opened)
                except Exception:  # the views are stored; the digest carries what was not announced
                    log.warning("content_radar_failed", views=len(stored.opened), exc_info=True)

        return store

    async def write_batch(
        self, sessions: async_sessionmaker[AsyncSession], consumer: str, *, block_ms: int = 1
    ) -> int:
        """Store one read of the stream; returns the entries moved."""
        return await self.consumer.batch(self._store_with(sessions), consumer, block_ms=block_ms)

    async def drain(self, sessions: async_sessionmaker[AsyncSession], consumer: str = "drain") -> int:
        """Store everything in the stream now (tests, the CLI); returns the entries moved."""
        return await self.consumer.drain(self._store_with(sessions), consumer)

    async def run_writer(self, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
        await self.consumer.run(self._store_with(sessions), stop, errors=(SQLAlchemyError,))
