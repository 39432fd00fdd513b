"""Sign-in throttling: 5 failures within 15 minutes lock for 15 minutes, per account and per
source address.

The account's counter lives on its row (``console_operators``), moved by single conditional
UPDATEs so concurrent failures all count; the address's failures are a Redis sorted set of
timestamps from the injected clock (tests move time, they do not sleep)."""

from __future__ import annotations

from datetime import datetime, timedelta

import redis.asyncio as aioredis
from sqlalchemy import case, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.models import Operator
from bot.console.sessions import Clock
from bot.db import utcnow
from bot.redis import Keys

LIMIT = 5
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)


async def account_failure(session: AsyncSession, operator_id: int, now: datetime) -> bool:
    """Count a failed sign-in of the account; True when it is now locked."""
    fresh = or_(Operator.failed_window_start.is_(None), Operator.failed_window_start <= now - WINDOW)
    count = (
        await session.execute(
            update(Operator)
            .where(Operator.id == operator_id)
            .values(
                failed_logins=case((fresh, 1), else_=Operator.failed_logins + 1),
                failed_window_start=case((fresh, now), else_=Operator.failed_window_start),
            )
            .returning(Operator.failed_logins)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one()
    if count < LIMIT:
        return False
    await session.execute(
        update(Operator)
        .where(Operator.id == operator_id)
        .values(locked_until=now + LOCK, failed_logins=0, failed_window_start=None)
        .execution_options(synchronize_session=False)
    )
    return True


async def account_success(session: AsyncSession, operator_id: int, now: datetime) -> None:
    await session.execute(
        update(Operator)
        .where(Operator.id == operator_id)
        .values(failed_logins=0, failed_window_start=None, locked_until=None, last_login_at=now)
        .execution_options(synchronize_session=False)
    )


def account_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now


class AddressThrottle:
    """Failures per source address (all accounts together, and unknown usernames too)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        clock: Clock = utcnow,
        limit: int = LIMIT,
        window: timedelta = WINDOW,
        lock: timedelta = LOCK,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.limit = limit
        self.window = window
        self.lock = lock

    async def locked(self, address: str) -> bool:
        until = await self.redis.get(self.keys("console", "lock", address))
        return until is not None and float(until) > self.clock().timestamp()

    async def failure(self, address: str) -> bool:
        """Count a failure from ``address``; True when the address is now locked."""
        now = self.clock().timestamp()
        key = self.keys("console", "fails", address)
        member = f"{now:.6f}:{id(self)}:{await self.redis.incr(self.keys('console', 'fails-seq'))}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now - self.window.total_seconds())
            pipe.zadd(key, {member: now})
            pipe.zcard(key)
            pipe.expire(key, int(self.window.total_seconds()) + 60)
            _, _, count, _ = await pipe.execute()
        if count < self.limit:
            return False
        until = now + self.lock.total_seconds()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(
                self.keys("console", "lock", address), str(until), ex=int(self.lock.total_seconds()) + 60
            )
            pipe.delete(key)
            await pipe.execute()
        return True

    async def clear(self, address: str) -> None:
        await self.redis.delete(self.keys("console", "fails", address), self.keys("console", "lock", address))
