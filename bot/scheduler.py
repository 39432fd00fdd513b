"""APScheduler 3 with an explicit timezone and a Redis guard per fire.

APScheduler 3 cannot share a job store between processes: with three workers an unguarded cron
job ran three times per fire (STACK.md). Each guarded fire first does ``SET NX`` on a key naming
the job and its time slot, so exactly one process runs it. Jobs only enqueue or do small
housekeeping; real work is claimed by workers (ARCHITECTURE.md mechanism 7).

Interval jobs start on a multiple of their interval (epoch-aligned), so every process fires a
slot at its start and the guard picks one of them. Free-running intervals, started at different
moments in each process, fire anywhere in a slot: two fires of one process can fall in one slot
(the guard drops the second) and leave the next slot to nobody. The guard key holds the winner
(host:pid).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.redis import Keys

log = structlog.get_logger(__name__)

Job = Callable[[], Awaitable[Any]]


class Scheduler:
    def __init__(self, redis: aioredis.Redis, keys: Keys, timezone: str) -> None:
        self.redis = redis
        self.keys = keys
        self._scheduler = AsyncIOScheduler(timezone=timezone)
        self.identity = f"{socket.gethostname()}:{os.getpid()}"

    async def _guarded(self, name: str, slot_seconds: int, job: Job) -> bool:
        slot = int(time.time()) // slot_seconds
        acquired = await self.redis.set(
            self.keys("sched", name, slot), self.identity, nx=True, ex=max(slot_seconds * 2, 120)
        )
        if not acquired:
            return False
        await self._run(name, job)
        return True

    async def _run(self, name: str, job: Job) -> None:
        try:
            await job()
        except Exception:
            log.exception("scheduled_job_failed", job=name)

    def every(self, name: str, seconds: int, job: Job, *, guarded: bool = True) -> None:
        if guarded:

            async def fire() -> None:
                await self._guarded(name, seconds, job)
        else:

            async def fire() -> None:
                await self._run(name, job)

        # the next multiple of the interval since the epoch: every process fires on the same beat
        first = (int(time.time()) // seconds + 1) * seconds
        trigger = IntervalTrigger(seconds=seconds, start_date=datetime.fromtimestamp(first, UTC))
        self._scheduler.add_job(fire, trigger, id=name, max_instances=1, coalesce=True)

    def heartbeat(self, seconds: int) -> None:
        """A guarded job that only records its fires: ``sched-heartbeat`` (a hash) counts the runs
        of each slot and keeps the last fire's time and process, for monitoring that scheduled
        work runs somewhere (and for tests proving each slot runs once across processes)."""
        key = self.keys("sched-heartbeat")

        async def beat() -> None:
            slot = int(time.time()) // seconds
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hincrby(key, str(slot), 1)
                pipe.hset(key, "last", f"{slot}:{self.identity}")
                pipe.expire(key, 86400)
                await pipe.execute()

        self.every("heartbeat", seconds, beat)

    def cron(self, name: str, job: Job, **fields: Any) -> None:
        async def fire() -> None:
            await self._guarded(name, 60, job)

        self._scheduler.add_job(fire, CronTrigger(**fields), id=name, max_instances=1, coalesce=True)

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
