"""Rate limits per app and API, shared by every process: a token bucket in Redis (Lua).

WeChat answers 45011 ("minute-quota reach limit") when an app calls an API too often, and some
APIs publish per-minute limits (stable_token 10 000/min, getwxacodeunlimit 5 000/min, mass send
60/min). One bucket per (appid, API) lives in Redis, so the limit holds across all workers.

The bucket reserves: a caller that finds it empty is told how long to wait and its token is
already taken, so waiting callers are served in arrival order with one round trip each. A
caller that would wait longer than ``max_wait`` is refused (``RateLimited``) and takes nothing.
Time comes from Redis (``TIME``), so process clocks cannot disagree.

For fast rules (100/s and more) a process takes a few tokens per round trip (one round trip at a
time per process, the next one asked for while half of the batch is left) and hands them out
locally for at most ``hold`` seconds (unused ones are dropped, never returned): at high rates
the Redis round trip per call would otherwise cost more than the call it guards, and the bucket
stays exact to within two batches per process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.redis import Keys
from bot.wechat.errors import QuotaExceeded, RateLimited, error_for

# KEYS[1] bucket, KEYS[2] block. ARGV: rate per second, burst, cost, max wait ms.
# Returns {wait ms} or {-1} (too long a wait) or {-2, errcode, remaining block ms}.
_TAKE = """
local blocked = redis.call('GET', KEYS[2])
if blocked then return {-2, blocked, redis.call('PTTL', KEYS[2])} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
end
tokens = tokens - cost
local wait = 0
if tokens < 0 then
  wait = math.ceil(-tokens * 1000 / rate)
  if wait > tonumber(ARGV[4]) then return {-1} end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + wait + 1000)
return {wait}
"""


@dataclass(frozen=True, slots=True)
class Rule:
    rate: float  # requests per second, sustained
    burst: float  # bucket size

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")


# API names are paths without the leading "/" and "cgi-bin/"; "*" covers every other API.
DEFAULT_RULES: Mapping[str, Rule] = {
    "*": Rule(rate=500.0, burst=500.0),
    "stable_token": Rule(rate=10_000 / 60, burst=50.0),
    "wxa/getwxacodeunlimit": Rule(rate=5_000 / 60, burst=50.0),
    "message/mass/sendall": Rule(rate=1.0, burst=2.0),
    "message/mass/send": Rule(rate=1.0, burst=2.0),
    "sns/jscode2session": Rule(rate=500.0, burst=500.0),
}


def api_name(path: str) -> str:
    name = path.lstrip("/")
    return name.removeprefix("cgi-bin/")


class RateLimiter:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        rules: Mapping[str, Rule] | None = None,
        *,
        max_wait: float = 10.0,
        hold: float = 0.25,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.rules = dict(DEFAULT_RULES if rules is None else rules)
        self.rules.setdefault("*", DEFAULT_RULES["*"])
        self.max_wait_ms = int(max_wait * 1000)
        self.hold = hold
        self._take = redis.register_script(_TAKE)
        self._local: dict[tuple[str, str], list[float]] = {}  # (appid, api) -> [tokens, expires]
        self._refilling: dict[tuple[str, str], asyncio.Task[float]] = {}

    def rule(self, api: str) -> Rule:
        return self.rules.get(api) or self.rules["*"]

    @staticmethod
    def batch(rule: Rule) -> int:
        """Tokens taken per round trip: 1 below 100/s, then one per 50/s, at most 64."""
        return 1 if rule.rate < 100 else int(min(64, rule.rate // 50, rule.burst))

    def _block_key(self, appid: str, api: str) -> str:
        return self.keys("wx", "block", appid, api)

    async def acquire(self, appid: str, api: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens for (appid, api), sleeping if the bucket asks; returns seconds waited.

        Raises the remembered error (``QuotaExceeded``...) while the API is blocked (``block``),
        and ``RateLimited`` when the wait would exceed ``max_wait``.
        """
        rule = self.rule(api)
        batch = self.batch(rule)
        if batch == 1:
            return await self._remote(appid, api, rule, cost)
        key = (appid, api)
        waited = 0.0
        while True:
            if self._spend(key, cost):
                self._prefetch(key, appid, api, rule, batch)
                return waited
            refill = self._refilling.get(key) or self._refill(key, appid, api, rule, batch)
            await asyncio.wait([refill])
            if refill.cancelled():
                continue
            if refill.exception() is not None:
                raise refill.exception()  # type: ignore[misc]  # blocked, or too long a wait
            waited += refill.result()  # what the bucket made the batch wait

    def _refill(
        self, key: tuple[str, str], appid: str, api: str, rule: Rule, batch: int
    ) -> asyncio.Task[float]:
        """One round trip for the whole process: every caller short of tokens waits for it."""

        async def take() -> float:
            waited = await self._remote(appid, api, rule, float(batch))
            self._add(key, float(batch))
            return waited

        task = asyncio.get_running_loop().create_task(take())
        self._refilling[key] = task

        def finished(done: asyncio.Task[float]) -> None:
            self._refilling.pop(key, None)
            if not done.cancelled():
                done.exception()  # retrieved here; a waiting caller raises it

        task.add_done_callback(finished)
        return task

    def _prefetch(self, key: tuple[str, str], appid: str, api: str, rule: Rule, batch: int) -> None:
        """Ask for the next batch while half of this one is left, so callers rarely wait for Redis."""
        local = self._local.get(key)
        if local is not None and local[0] < batch / 2 and key not in self._refilling:
            self._refill(key, appid, api, rule, batch)

    def _spend(self, key: tuple[str, str], cost: float) -> bool:
        local = self._local.get(key)
        if local is not None and local[0] >= cost and time.monotonic() < local[1]:
            local[0] -= cost
            return True
        return False

    def _add(self, key: tuple[str, str], tokens: float) -> None:
        now = time.monotonic()
        local = self._local.get(key)
        if local is not None and now < local[1]:
            local[0] += tokens
        else:
            self._local[key] = [tokens, now + self.hold]

    async def _remote(self, appid: str, api: str, rule: Rule, take: float) -> float:
        keys = [self.keys("wx", "rl", appid, api), self._block_key(appid, api)]
        answer = await self._take(keys=keys, args=[rule.rate, rule.burst, take, self.max_wait_ms])
        wait_ms = int(answer[0])
        if wait_ms == -2:
            errcode = int(answer[1])
            remaining = max(int(answer[2]), 0) / 1000
            # The remembered answer, raised again without asking WeChat (45009/45011, or a
            # configuration error on a credential fetch).
            error = error_for(errcode, f"remembered errcode {errcode}: paused for {remaining:.0f} s", api=api)
            if isinstance(error, QuotaExceeded):
                error.retry_after = remaining
            raise error
        if wait_ms < 0:
            raise RateLimited(None, f"local rate limit {rule.rate:g}/s for {api}", api=api, retry_after=1.0)
        if wait_ms:
            await asyncio.sleep(wait_ms / 1000)
        return wait_ms / 1000

    async def block(self, appid: str, api: str, errcode: int, seconds: float) -> None:
        """Remember, for every process, that WeChat refused this API (quota spent, bad secret)."""
        self._local.pop((appid, api), None)
        await self.redis.set(self._block_key(appid, api), errcode, px=max(int(seconds * 1000), 1))

    async def aclose(self) -> None:
        """Wait for refills in flight (on shutdown)."""
        if self._refilling:
            await asyncio.wait(list(self._refilling.values()), timeout=5)

    async def unblock(self, appid: str, api: str) -> None:
        await self.redis.delete(self._block_key(appid, api))


def parse_rules(overrides: Mapping[str, float]) -> dict[str, Rule]:
    """Settings give ``{"api": rate_per_second}``; the burst is one second's worth (at least 1)."""
    rules = dict(DEFAULT_RULES)
    for api, rate in overrides.items():
        rules[api] = Rule(rate=float(rate), burst=max(float(rate), 1.0))
    return rules
