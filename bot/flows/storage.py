"""Flow state behind a small async interface, with Redis and in-memory implementations.

A record is ``{"state": "Reorder:confirm", "data": {...}, "version": n}``. States are readable
strings, never numbers, so that an operator reading Redis knows where a member is.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.asyncio as aioredis

from bot.redis import Keys


@dataclass(frozen=True, slots=True)
class FlowKey:
    appid: str
    openid: str


@dataclass(frozen=True, slots=True)
class FlowRecord:
    state: str
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0

    @property
    def flow(self) -> str:
        return self.state.split(":", 1)[0]


class FlowStorage(abc.ABC):
    def __init__(self, ttl_seconds: int) -> None:
        self.ttl = ttl_seconds

    @staticmethod
    def decode(raw: bytes | None) -> FlowRecord | None:
        if not raw:
            return None
        doc = orjson.loads(raw)
        return FlowRecord(state=doc["state"], data=doc.get("data") or {}, version=int(doc.get("version", 0)))

    @staticmethod
    def encode(record: FlowRecord) -> bytes:
        return orjson.dumps({"state": record.state, "data": record.data, "version": record.version})

    @abc.abstractmethod
    async def get(self, key: FlowKey) -> FlowRecord | None:
        """The current record, or None when the member is in no flow (or it expired)."""

    @abc.abstractmethod
    async def set(self, key: FlowKey, record: FlowRecord, *, ttl: int | None = None) -> None:
        """Store ``record``, refreshing the TTL."""

    @abc.abstractmethod
    async def clear(self, key: FlowKey) -> None:
        """Leave any flow."""


class RedisFlowStorage(FlowStorage):
    def __init__(self, redis: aioredis.Redis, keys: Keys, ttl_seconds: int) -> None:
        super().__init__(ttl_seconds)
        self.redis = redis
        self.keys = keys

    def _key(self, key: FlowKey) -> str:
        return self.keys("flow", key.appid, key.openid)

    async def get(self, key: FlowKey) -> FlowRecord | None:
        return self.decode(await self.redis.get(self._key(key)))

    async def set(self, key: FlowKey, record: FlowRecord, *, ttl: int | None = None) -> None:
        await self.redis.set(self._key(key), self.encode(record), ex=ttl or self.ttl)

    async def clear(self, key: FlowKey) -> None:
        await self.redis.delete(self._key(key))


class MemoryFlowStorage(FlowStorage):
    def __init__(self, ttl_seconds: int, clock: Any = time.monotonic) -> None:
        super().__init__(ttl_seconds)
        self._data: dict[FlowKey, tuple[float, bytes]] = {}
        self._clock = clock

    async def get(self, key: FlowKey) -> FlowRecord | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, raw = item
        if self._clock() >= expires:
            self._data.pop(key, None)
            return None
        return self.decode(raw)

    async def set(self, key: FlowKey, record: FlowRecord, *, ttl: int | None = None) -> None:
        self._data[key] = (self._clock() + (ttl or self.ttl), self.encode(record))

    async def clear(self, key: FlowKey) -> None:
        self._data.pop(key, None)
