"""The cluster-wide credential cache with a counting fetch function and a real Redis.

The same rules against the simulator over HTTP, with 8 OS processes, are in
``test_token_processes.py``."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from bot.redis import Keys
from bot.wechat.errors import QuotaExceeded
from bot.wechat.token import Credential, CredentialCache

APP = "wxtokenapp00001"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class Issuer:
    """Plays stable_token: the same token until forced or renewed."""

    def __init__(self, expires_in: int = 7200, delay: float = 0.05) -> None:
        self.calls: list[bool] = []
        self.current = "tok-1"
        self.expires_in = expires_in
        self.delay = delay
        self.serial = itertools.count(2)
        self.fail_with: Exception | None = None

    async def __call__(self, appid: str, force: bool) -> tuple[str, int]:
        self.calls.append(force)
        await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        if force:
            self.current = f"tok-{next(self.serial)}"
        return self.current, self.expires_in

    def renew(self) -> None:
        self.current = f"tok-{next(self.serial)}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


def cache(redis_client, redis_prefix, issuer, clock, **kw) -> CredentialCache:
    return CredentialCache(redis_client, Keys(redis_prefix), "token", issuer, clock=clock, **kw)


async def test_fifty_concurrent_callers_in_four_caches_cause_one_fetch(redis_client, redis_prefix, clock):
    issuer = Issuer()
    caches = [cache(redis_client, redis_prefix, issuer, clock) for _ in range(4)]  # "processes"
    values = await asyncio.gather(*(caches[i % 4].get(APP) for i in range(50)))
    assert set(values) == {"tok-1"}
    assert issuer.calls == [False]


async def test_the_cached_value_is_served_from_memory_without_redis(redis_client, redis_prefix, clock):
    issuer = Issuer()
    tokens = cache(redis_client, redis_prefix, issuer, clock)
    assert await tokens.get(APP) == "tok-1"
    await redis_client.delete(tokens.key(APP))
    assert await tokens.get(APP) == "tok-1"  # within the recheck period
    clock.now += 31
    assert await tokens.get(APP) == "tok-1"
    assert issuer.calls == [False, False]  # gone from Redis: fetched again once


async def test_invalidation_is_compare_and_swap(redis_client, redis_prefix, clock):
    issuer = Issuer()
    tokens = cache(redis_client, redis_prefix, issuer, clock)
    await tokens.get(APP)
    assert not await tokens.invalidate(APP, "tok-stale")  # another process's old token: keep ours
    assert (await tokens.peek(APP)).value == "tok-1"
    assert await tokens.invalidate(APP, "tok-1")
    assert await tokens.peek(APP) is None


async def test_a_rejected_token_is_replaced_once_for_all_concurrent_failures(
    redis_client, redis_prefix, clock
):
    issuer = Issuer()
    caches = [cache(redis_client, redis_prefix, issuer, clock) for _ in range(3)]
    for c in caches:
        await c.get(APP)
    issuer.renew()  # the platform moved on: stable_token now hands out tok-2
    fresh = await asyncio.gather(*(c.refresh_after_failure(APP, "tok-1") for c in caches for _ in range(5)))
    assert set(fresh) == {"tok-2"}
    assert issuer.calls == [False, False]


async def test_when_stable_token_insists_on_the_rejected_token_one_forced_refresh_follows(
    redis_client, redis_prefix, clock
):
    issuer = Issuer()
    tokens = cache(redis_client, redis_prefix, issuer, clock)
    await tokens.get(APP)
    assert await tokens.refresh_after_failure(APP, "tok-1") == "tok-2"
    assert issuer.calls == [False, False, True]


async def test_renewal_ahead_of_expiry_is_done_by_one_while_others_serve_the_old_token(
    redis_client, redis_prefix, clock
):
    issuer = Issuer(delay=0.2)
    first, second = (cache(redis_client, redis_prefix, issuer, clock) for _ in range(2))
    await first.get(APP)
    clock.now += 7200 - 299  # inside the 300 s refresh window
    issuer.renew()
    renewing = asyncio.create_task(first.get(APP))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    assert await second.get(APP) == "tok-1"  # not waiting for the renewal
    assert time.monotonic() - started < 0.1
    assert await renewing == "tok-2"
    clock.now += 1
    second._local.clear()
    assert await second.get(APP) == "tok-2"
    assert issuer.calls == [False, False]


async def test_a_failed_renewal_keeps_serving_the_valid_token(redis_client, redis_prefix, clock):
    issuer = Issuer()
    tokens = cache(redis_client, redis_prefix, issuer, clock)
    await tokens.get(APP)
    clock.now += 7000
    issuer.fail_with = QuotaExceeded(45009, "daily quota", retry_after=3600)
    assert await tokens.get(APP) == "tok-1"
    assert await tokens.get(APP) == "tok-1"
    assert len(issuer.calls) == 2  # no hammering: the next try waits a few seconds


async def test_without_a_usable_token_the_fetch_error_reaches_the_caller(redis_client, redis_prefix, clock):
    issuer = Issuer()
    issuer.fail_with = QuotaExceeded(45009, "daily quota", retry_after=3600)
    tokens = cache(redis_client, redis_prefix, issuer, clock)
    with pytest.raises(QuotaExceeded):
        await tokens.get(APP)


async def test_a_short_lived_token_is_not_renewed_at_every_call(redis_client, redis_prefix, clock):
    issuer = Issuer(expires_in=100)  # renewal would hand out the same token: wait half its life
    tokens = cache(redis_client, redis_prefix, issuer, clock)
    await tokens.get(APP)
    cred = await tokens.peek(APP)
    assert cred.refresh_at == pytest.approx(clock.now + 50, abs=1)
    assert Credential.decode(cred.encode()) == cred
