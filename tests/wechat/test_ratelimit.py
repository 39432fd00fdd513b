"""The shared token bucket per app and API, in a real Redis."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from bot.redis import Keys
from bot.wechat.errors import QuotaExceeded, RateLimited
from bot.wechat.ratelimit import RateLimiter, Rule, api_name, parse_rules


def test_api_names_drop_cgi_bin():
    assert api_name("/cgi-bin/message/custom/send") == "message/custom/send"
    assert api_name("/sns/jscode2session") == "sns/jscode2session"


async def test_burst_passes_at_once_then_callers_wait_in_line(redis_client, redis_prefix):
    limiter = RateLimiter(redis_client, Keys(redis_prefix), {"*": Rule(rate=20, burst=5)})
    started = time.monotonic()
    waits = [await limiter.acquire("wxapp", "message/custom/send") for _ in range(5)]
    assert waits == [0, 0, 0, 0, 0]
    # 10 more at 20/s: they are spaced 50 ms apart, the last about half a second after the burst
    waits = sorted(
        await asyncio.gather(*(limiter.acquire("wxapp", "message/custom/send") for _ in range(10)))
    )
    assert 0.3 <= waits[-1] <= 0.51  # less than 0.5 by what refilled while the calls were made
    assert all(0 <= b - a <= 0.06 for a, b in itertools.pairwise(waits)), waits  # 50 ms apart at most
    assert time.monotonic() - started >= 0.45  # (only a lower bound: the machine may be busy)


async def test_buckets_are_per_app_and_api(redis_client, redis_prefix):
    limiter = RateLimiter(redis_client, Keys(redis_prefix), {"*": Rule(rate=1, burst=1)}, max_wait=0.1)
    await limiter.acquire("wxa", "message/custom/send")
    await limiter.acquire("wxb", "message/custom/send")
    await limiter.acquire("wxa", "menu/get")
    with pytest.raises(RateLimited):
        await limiter.acquire("wxa", "message/custom/send")


async def test_two_limiters_share_one_bucket(redis_client, redis_prefix):
    """Two processes are two limiter objects on the same Redis keys."""
    rules = {"*": Rule(rate=1, burst=3)}
    first = RateLimiter(redis_client, Keys(redis_prefix), rules, max_wait=0.05)
    second = RateLimiter(redis_client, Keys(redis_prefix), rules, max_wait=0.05)
    results = await asyncio.gather(
        *(lim.acquire("wxapp", "qrcode/create") for lim in (first, second) * 4), return_exceptions=True
    )
    assert sum(1 for r in results if r == 0) == 3
    assert sum(1 for r in results if isinstance(r, RateLimited)) == 5


async def test_a_refused_caller_takes_no_token(redis_client, redis_prefix):
    limiter = RateLimiter(redis_client, Keys(redis_prefix), {"*": Rule(rate=10, burst=1)}, max_wait=0.01)
    await limiter.acquire("wxapp", "x")
    for _ in range(5):
        with pytest.raises(RateLimited):
            await limiter.acquire("wxapp", "x")
    await asyncio.sleep(0.11)
    assert await limiter.acquire("wxapp", "x") == 0


async def test_a_blocked_api_raises_quota_exceeded_until_the_block_ends(redis_client, redis_prefix):
    limiter = RateLimiter(redis_client, Keys(redis_prefix))
    await limiter.block("wxapp", "message/template/send", 45009, 0.3)
    with pytest.raises(QuotaExceeded) as caught:
        await limiter.acquire("wxapp", "message/template/send")
    assert caught.value.errcode == 45009
    assert 0 < caught.value.retry_after <= 0.3
    assert await limiter.acquire("wxapp", "message/custom/send") == 0  # other APIs are not blocked
    await asyncio.sleep(0.35)
    assert await limiter.acquire("wxapp", "message/template/send") == 0


def test_settings_override_rates():
    rules = parse_rules({"message/custom/send": 50, "*": 5})
    assert rules["message/custom/send"] == Rule(50, 50)
    assert rules["*"] == Rule(5, 5)
    assert rules["stable_token"].rate == pytest.approx(10_000 / 60)
    with pytest.raises(ValueError):
        Rule(0, 1)


async def test_fast_rules_take_tokens_in_batches_and_the_shared_bucket_counts_them(
    redis_client, redis_prefix, monkeypatch
):
    limiter = RateLimiter(redis_client, Keys(redis_prefix), {"*": Rule(rate=200, burst=40)})
    assert limiter.batch(limiter.rule("x")) == 4
    calls = []
    original = limiter._take

    async def counting(**kw):
        calls.append(kw["args"][2])
        return await original(**kw)

    monkeypatch.setattr(limiter, "_take", counting)
    started = time.monotonic()
    for _ in range(10):
        await limiter.acquire("wxapp", "message/custom/send")
    elapsed = time.monotonic() - started
    assert calls == [4, 4, 4]  # 10 calls, 3 round trips
    tokens = float(
        await redis_client.hget(Keys(redis_prefix)("wx", "rl", "wxapp", "message/custom/send"), "tokens")
    )
    # what this process holds is spent for everyone (plus what refilled at 200/s meanwhile)
    assert 40 - 12 - 0.01 <= tokens <= 40 - 12 + 200 * elapsed + 0.01


async def test_batched_tokens_expire_and_a_block_drops_them(redis_client, redis_prefix):
    limiter = RateLimiter(redis_client, Keys(redis_prefix), {"*": Rule(rate=1000, burst=1000)}, hold=0.05)
    await limiter.acquire("wxapp", "x")
    assert limiter._local[("wxapp", "x")][0] == 19  # a batch of 20 at 1000/s
    await limiter.block("wxapp", "x", 45011, 0.2)
    with pytest.raises(QuotaExceeded):
        await limiter.acquire("wxapp", "x")  # nothing left in hand after the block
    await asyncio.sleep(0.25)
    await limiter.acquire("wxapp", "x")
    await asyncio.sleep(0.06)
    local = limiter._local[("wxapp", "x")]
    assert time.monotonic() > local[1]  # expired: the next call asks Redis again


async def test_concurrent_callers_in_one_process_share_one_refill(redis_client, redis_prefix, monkeypatch):
    limiter = RateLimiter(redis_client, Keys(redis_prefix), {"*": Rule(rate=800, burst=800)})
    calls = []
    original = limiter._take

    async def counting(**kw):
        calls.append(kw["args"][2])
        return await original(**kw)

    monkeypatch.setattr(limiter, "_take", counting)
    await asyncio.gather(*(limiter.acquire("wxapp", "x") for _ in range(64)))
    await asyncio.sleep(0.01)  # let a prefetch finish
    # 64 callers at once: one round trip at a time, 16 tokens each, none lost or counted twice
    assert calls in ([16] * 4, [16] * 5)
    assert limiter._local[("wxapp", "x")][0] == sum(calls) - 64
