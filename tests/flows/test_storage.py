"""One contract for both flow storages (STYLE.md rule 6)."""

from __future__ import annotations

import asyncio

import pytest

from bot.flows.storage import FlowKey, FlowRecord, MemoryFlowStorage, RedisFlowStorage
from bot.redis import Keys


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def storage(request, redis_client, redis_prefix):
    if request.param == "memory":
        clock = Clock()
        store = MemoryFlowStorage(ttl_seconds=2, clock=clock)
        store.advance = lambda s: setattr(clock, "now", clock.now + s)  # type: ignore[attr-defined]
        return store
    store = RedisFlowStorage(redis_client, Keys(redis_prefix), ttl_seconds=2)

    async def advance(seconds):  # real time for Redis TTLs
        await asyncio.sleep(seconds)

    store.advance = advance  # type: ignore[attr-defined]
    return store


async def _advance(storage, seconds):
    result = storage.advance(seconds)
    if asyncio.iscoroutine(result):
        await result


async def test_set_get_clear(storage):
    key = FlowKey("wx1", "o1")
    assert await storage.get(key) is None
    record = FlowRecord("Reorder:confirm", {"lines": [{"sku": "MT-1", "qty": 2}], "note": "飞天"}, version=4)
    await storage.set(key, record)
    assert await storage.get(key) == record
    assert (await storage.get(key)).flow == "Reorder"
    assert await storage.get(FlowKey("wx1", "o2")) is None
    await storage.clear(key)
    assert await storage.get(key) is None


async def test_records_expire_after_ttl(storage):
    key = FlowKey("wx1", "o3")
    await storage.set(key, FlowRecord("Cart:browse"))
    await _advance(storage, 2.2)
    assert await storage.get(key) is None


async def test_explicit_ttl_overrides_default(storage):
    key = FlowKey("wx1", "o4")
    await storage.set(key, FlowRecord("Cart:browse"), ttl=10)
    await _advance(storage, 2.2)
    assert (await storage.get(key)).state == "Cart:browse"


async def test_memos_outlive_the_flow_expire_and_are_per_conversation(storage):
    key, other = FlowKey("wx1", "o1"), FlowKey("wx1", "o2")
    assert await storage.recall(key, "ordering:recent") is None
    await storage.set(key, FlowRecord("Checkout:confirm"))
    await storage.remember(key, "ordering:recent", "order-key-1", ttl=1)
    await storage.clear(key)  # leaving the flow keeps the memo
    assert await storage.recall(key, "ordering:recent") == "order-key-1"
    assert await storage.recall(key, "ordering:staff-list") is None
    assert await storage.recall(other, "ordering:recent") is None
    await _advance(storage, 1.2)
    assert await storage.recall(key, "ordering:recent") is None


async def test_a_taken_memo_is_gone(storage):
    key = FlowKey("wx1", "o1")
    await storage.remember(key, "member:pending-scan", "https://x/c/1", ttl=60)
    assert await storage.take(key, "member:pending-scan") == "https://x/c/1"
    assert await storage.take(key, "member:pending-scan") is None
    assert await storage.recall(key, "member:pending-scan") is None
