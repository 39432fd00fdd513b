"""Exactly-once handling of WeChat's retries (ARCHITECTURE.md mechanism 1), in Redis.

A push's lease moves absent -> in-flight (``P<token>``) -> done (``D<reply>``) or deferred
(``L``: the reply went, or will go, through the customer-service API). A handler that fails
releases the lease, so WeChat's retry runs it again; done is written only AFTER success.

``begin`` is one Lua call and one round trip: it checks the nonce against replay, claims the
lease, reads the cached member id, tries the member's lock and, when it got the lock, reads the
flow state. ``finish`` stores the reply, releases the lock and appends the log entry in one
pipelined round trip.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.redis import Keys

_BEGIN = """
if ARGV[7] == '1' then
  local fp = redis.call('GET', KEYS[2])
  if fp then
    if fp ~= ARGV[3] then return {'replay'} end
  else
    redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
  end
end
local cur = redis.call('GET', KEYS[1])
if cur then return {'dup', cur} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local member = redis.call('GET', KEYS[3])
local locked = redis.call('SET', KEYS[4], ARGV[5], 'NX', 'PX', ARGV[6])
local state = false
if locked then state = redis.call('GET', KEYS[5]) end
return {'new', member or '', locked and '1' or '0', state or ''}
"""

# KEYS: lease, lock. ARGV: expected lease value, new lease value ('' = delete), ttl ms, lock token
_SETTLE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == '' then redis.call('DEL', KEYS[1])
  else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
end
if KEYS[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return 1
"""

_LOCK = "return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0"

_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

DONE = b"D"
DEFERRED = b"L"
INFLIGHT = b"P"


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of ``begin``."""

    status: str  # "new", "dup" or "replay"
    lease: bytes = b""  # our in-flight value (new) or the value found (dup)
    member_id: int | None = None
    locked: bool = False
    flow_state: bytes | None = None
    lock_token: str = ""


class Dedupe:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        inflight_ttl: float,
        done_ttl: float,
        lock_ttl: float,
        nonce_ttl: int,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.inflight_ms = int(inflight_ttl * 1000)
        self.done_ms = int(done_ttl * 1000)
        self.lock_ms = int(lock_ttl * 1000)
        self.nonce_ttl = max(nonce_ttl, 60)
        self._begin = redis.register_script(_BEGIN)
        self._settle = redis.register_script(_SETTLE)
        self._lock = redis.register_script(_LOCK)
        self._extend = redis.register_script(_EXTEND)

    # key builders -------------------------------------------------------------------------
    def lease_key(self, appid: str, dedupe_key: str) -> str:
        return self.keys("lease", appid, dedupe_key)

    def lock_key(self, appid: str, openid: str) -> str:
        return self.keys("lock", appid, openid)

    def member_key(self, appid: str, openid: str) -> str:
        return self.keys("member", appid, openid)

    def flow_key(self, appid: str, openid: str) -> str:
        return self.keys("flow", appid, openid)

    def nonce_key(self, appid: str, timestamp: str, nonce: str) -> str:
        return self.keys("nonce", appid, timestamp, nonce)

    # operations ---------------------------------------------------------------------------
    async def begin(
        self,
        appid: str,
        openid: str,
        dedupe_key: str,
        *,
        timestamp: str,
        nonce: str,
        fingerprint: str,
        check_nonce: bool = True,
    ) -> Claim:
        lease = INFLIGHT + secrets.token_hex(8).encode()
        lock_token = secrets.token_hex(8)
        result = await self._begin(
            keys=[
                self.lease_key(appid, dedupe_key),
                self.nonce_key(appid, timestamp, nonce),
                self.member_key(appid, openid),
                self.lock_key(appid, openid),
                self.flow_key(appid, openid),
            ],
            args=[
                lease,
                self.inflight_ms,
                fingerprint,
                self.nonce_ttl,
                lock_token,
                self.lock_ms,
                "1" if check_nonce else "0",
            ],
        )
        status = result[0].decode()
        if status == "replay":
            return Claim(status="replay")
        if status == "dup":
            return Claim(status="dup", lease=result[1])
        member = result[1]
        return Claim(
            status="new",
            lease=lease,
            member_id=int(member) if member else None,
            locked=result[2] == b"1",
            flow_state=result[3] or None,
            lock_token=lock_token,
        )

    async def peek(self, appid: str, dedupe_key: str) -> bytes | None:
        return await self.redis.get(self.lease_key(appid, dedupe_key))

    async def acquire_lock(self, appid: str, openid: str, token: str, *, poll: float = 0.01) -> None:
        """Wait for the member's lock; a crashed holder's lock expires after its TTL."""
        key = self.lock_key(appid, openid)
        delay = poll
        while not await self._lock(keys=[key], args=[token, self.lock_ms]):
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.1)

    async def extend_lock(self, appid: str, openid: str, token: str) -> bool:
        return bool(await self._extend(keys=[self.lock_key(appid, openid)], args=[token, self.lock_ms]))

    def settle_ops(
        self,
        pipe: aioredis.client.Pipeline,
        appid: str,
        openid: str,
        dedupe_key: str,
        *,
        lease: bytes,
        new_value: bytes | None,
        lock_token: str | None,
        ttl_ms: int | None = None,
    ) -> tuple:
        """Queue the lease transition (``None`` releases it) and the lock release on ``pipe``.

        Queued as a bare EVALSHA: redis-py would otherwise send SCRIPT EXISTS before every
        pipeline (one more round trip per message). Returns the call's arguments so that the
        caller can re-run it through ``rerun_settle`` if Redis lost its script cache.
        """
        keys = [self.lease_key(appid, dedupe_key), self.lock_key(appid, openid) if lock_token else ""]
        args = [lease, new_value if new_value is not None else b"", ttl_ms or self.done_ms, lock_token or ""]
        pipe.evalsha(self._settle.sha, 2, *keys, *args)
        return keys, args

    async def rerun_settle(self, call: tuple) -> None:
        keys, args = call
        await self._settle(keys=keys, args=args)

    async def settle(
        self,
        appid: str,
        openid: str,
        dedupe_key: str,
        *,
        lease: bytes,
        new_value: bytes | None,
        lock_token: str | None,
    ) -> None:
        await self._settle(
            keys=[self.lease_key(appid, dedupe_key), self.lock_key(appid, openid) if lock_token else ""],
            args=[lease, new_value if new_value is not None else b"", self.done_ms, lock_token or ""],
        )

    async def defer(self, appid: str, dedupe_key: str, lease: bytes) -> None:
        """The budget ran out: retries from now on get a bare ack (the reply goes out late)."""
        await self._settle(
            keys=[self.lease_key(appid, dedupe_key), ""],
            args=[lease, DEFERRED, self.done_ms, ""],
        )
