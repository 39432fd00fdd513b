"""The scheduler's guard with a real Redis: two schedulers (as two `jiubot worker` processes
would run) fire an interval job on the same epoch-aligned beat and each slot runs once."""

from __future__ import annotations

import asyncio
import time

from bot.redis import Keys
from bot.scheduler import Scheduler


async def test_two_schedulers_run_each_heartbeat_slot_once(redis_client, redis_prefix):
    keys = Keys(redis_prefix)
    schedulers = [Scheduler(redis_client, keys, "Asia/Shanghai") for _ in range(2)]
    schedulers[1].identity = "other-host:1"  # one process here; the guard tells them apart anyway
    began = time.time()
    for scheduler in schedulers:  # started at different moments, as processes are
        scheduler.heartbeat(1)
        scheduler.start()
        await asyncio.sleep(0.45)
    try:
        await asyncio.sleep(4.2)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown()
    runs = await redis_client.hgetall(keys("sched-heartbeat"))
    per_slot = {int(k): int(v) for k, v in runs.items() if k != b"last"}
    slots = sorted(per_slot)
    # the first fire is on the next whole second after start, then one per second
    assert slots[0] == int(began) + 1
    assert slots == list(range(slots[0], slots[0] + len(slots))) and len(slots) >= 3, slots
    assert set(per_slot.values()) == {1}
    winners = {await redis_client.get(keys("sched", "heartbeat", slot)) for slot in slots}
    assert winners <= {schedulers[0].identity.encode(), b"other-host:1"}
    assert b"last" in runs
