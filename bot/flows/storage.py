"""Flow state behind a small async interface, with Redis and in-memory implementations.

A record is ``{"state": "Reorder:confirm", "data": {...}, "version": n}``. States are readable
strings, never numbers, so that an operator reading Redis knows where a member is.

Beside the state, a conversation keeps short-lived memos that outlive it: the key of the order
the member last confirmed ("确认" once more after the flow ended), the staff list last shown
("移除店员 2"), the scan waiting for an age confirmation. Handlers and flows read and write them
here, never Redis directly. A memo's name carries its domain ("ordering:recent").
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.asyncio as aioredis

from bot.redis import Keys, as_text


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
    def decode(raw: bytes | str | None) -> FlowRecord | None:
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

    @abc.abstractmethod
    async def remember(self, key: FlowKey, name: str, value: str, *, ttl: int) -> None:
        """Keep the memo ``name`` of this conversation for ``ttl`` seconds (leaving a flow keeps it)."""

    @abc.abstractmethod
    async def recall(self, key: FlowKey, name: str) -> str | None:
        """The memo ``name``, or None when there is none (or it expired)."""

    @abc.abstractmethod
    async def take(self, key: FlowKey, name: str) -> str | None:
        """The memo ``name``, removed in the same step (a second take gets None)."""


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

    def _memo(self, key: FlowKey, name: str) -> str:
        return self.keys(name, key.appid, key.openid)

    async def remember(self, key: FlowKey, name: str, value: str, *, ttl: int) -> None:
        await self.redis.set(self._memo(key, name), value, ex=ttl)

    async def recall(self, key: FlowKey, name: str) -> str | None:
        return as_text(await self.redis.get(self._memo(key, name)))

    async def take(self, key: FlowKey, name: str) -> str | None:
        return as_text(await self.redis.getdel(self._memo(key, name)))


class MemoryFlowStorage(FlowStorage):
    def __init__(self, ttl_seconds: int, clock: Any = time.monotonic) -> None:
        super().__init__(ttl_seconds)
        self._data: dict[FlowKey, tuple[float, bytes]] = {}
        self._memos: dict[tuple[FlowKey, str], tuple[float, str]] = {}
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

    async def remember(self, key: FlowKey, name: str, value: str, *, ttl: int) -> None:
        self._memos[(key, name)] = (self._clock() + ttl, value)

    async def recall(self, key: FlowKey, name: str) -> str | None:
        item = self._memos.get((key, name))
        if item is None or self._clock() >= item[0]:
            self._memos.pop((key, name), None)
            return None
        return item[1]

    async def take(self, key: FlowKey, name: str) -> str | None:
        value = await self.recall(key, name)
        self._memos.pop((key, name), None)
        return value
