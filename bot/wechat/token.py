"""One access token (and one jsapi ticket) per app for the whole cluster (ARCHITECTURE.md mechanism 4).

The credential lives in Redis as ``refresh_at|expires_at|value`` (milliseconds). Each process
keeps a copy in memory and re-reads Redis at most every ``recheck`` seconds, so the hot path costs
no round trip. Rules (WECHAT_PROTOCOL.md 4):

* absent: one process (Redis ``SET NX`` lock, plus an asyncio lock inside the process) fetches,
  the others wait for the value to appear;
* past ``refresh_at`` (about ``expires_in - 300 s``): one process refreshes under the lock while
  every other keeps serving the cached value;
* a call failing with 40001/40014/42001 invalidates the cache only if it still holds the failing
  value (compare-and-swap in Lua), so a token another process just fetched is never thrown away;
  the fetch that follows refuses to hand back the failing value (stable_token in normal mode
  returns the same token while it is valid, so it then asks once with ``force_refresh``).

Quota errors (45009/45011) while fetching are remembered by the rate limiter's block, so no
process hammers WeChat until the quota resets.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog
from prometheus_client import Counter

from bot.redis import Keys
from bot.wechat.errors import Retryable, WeChatError

log = structlog.get_logger(__name__)

token_fetches = Counter(
    "jiubot_wechat_credential_fetches_total", "Access tokens / tickets fetched from WeChat", ["kind", "mode"]
)
token_invalidations = Counter(
    "jiubot_wechat_credential_invalidations_total",
    "Cached credentials dropped after 40001/40014/42001",
    ["kind"],
)

# Fetch(appid, force_refresh) -> (value, expires_in seconds)
Fetch = Callable[[str, bool], Awaitable[tuple[str, int]]]

_CAS_DELETE = """
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local p1 = string.find(v, '|', 1, true)
local p2 = string.find(v, '|', p1 + 1, true)
if string.sub(v, p2 + 1) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Credential:
    value: str
    refresh_at: float  # epoch seconds: from here on, one process renews it
    expires_at: float  # epoch seconds: never serve it after this (minus a small margin)

    def encode(self) -> str:
        return f"{int(self.refresh_at * 1000)}|{int(self.expires_at * 1000)}|{self.value}"

    @classmethod
    def decode(cls, raw: bytes | str | None) -> Credential | None:
        if not raw:
            return None
        text = raw.decode() if isinstance(raw, bytes) else raw
        refresh_ms, expires_ms, value = text.split("|", 2)
        return cls(value, int(refresh_ms) / 1000, int(expires_ms) / 1000)


@dataclass(slots=True)
class _Local:
    credential: Credential
    next_check: float  # epoch seconds: look at Redis again from here on

    def fresh(self, now: float) -> bool:
        return now < self.next_check


class CredentialCache:
    """A cluster-wide cached credential of one kind (``token`` or ``jsapi``) for any number of apps."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        kind: str,
        fetch: Fetch,
        *,
        refresh_ahead: float = 300.0,
        recheck: float = 30.0,
        lock_ttl: float = 15.0,
        wait_timeout: float = 20.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.kind = kind
        self.fetch = fetch
        self.refresh_ahead = refresh_ahead
        self.recheck = recheck
        self.lock_ms = int(lock_ttl * 1000)
        self.wait_timeout = wait_timeout
        self.clock = clock
        self.margin = 5.0  # never hand out a value this close to its expiry
        self._local: dict[str, _Local] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._cas = redis.register_script(_CAS_DELETE)
        self._unlock = redis.register_script(_UNLOCK)

    def key(self, appid: str) -> str:
        return self.keys("wx", self.kind, appid)

    def _lock_key(self, appid: str) -> str:
        return self.keys("wx", f"{self.kind}-lock", appid)

    # public -------------------------------------------------------------------------------
    async def get(self, appid: str) -> str:
        """The current value for ``appid``; fetches it (once, cluster-wide) when needed."""
        local = self._local.get(appid)
        if local and local.fresh(self.clock()):
            return local.credential.value
        async with self._locks.setdefault(appid, asyncio.Lock()):
            local = self._local.get(appid)
            if local and local.fresh(self.clock()):
                return local.credential.value
            return await self._load(appid, avoid=None)

    async def refresh_after_failure(self, appid: str, failing: str) -> str:
        """WeChat rejected ``failing``: drop it if it is still the cached one, then get a new one."""
        if await self.invalidate(appid, failing):
            token_invalidations.labels(kind=self.kind).inc()
            log.warning("wechat_credential_invalidated", kind=self.kind, appid=appid)
        async with self._locks.setdefault(appid, asyncio.Lock()):
            local = self._local.get(appid)
            if local and local.credential.value != failing and local.fresh(self.clock()):
                return local.credential.value
            return await self._load(appid, avoid=failing)

    async def invalidate(self, appid: str, failing: str) -> bool:
        """Compare-and-swap delete; True if the cache held ``failing`` and it is gone now."""
        local = self._local.get(appid)
        if local and local.credential.value == failing:
            del self._local[appid]
        return bool(await self._cas(keys=[self.key(appid)], args=[failing]))

    async def peek(self, appid: str) -> Credential | None:
        return Credential.decode(await self.redis.get(self.key(appid)))

    # internals ----------------------------------------------------------------------------
    async def _load(self, appid: str, *, avoid: str | None) -> str:
        deadline = time.monotonic() + self.wait_timeout
        while True:
            cred = await self.peek(appid)
            now = self.clock()
            usable = cred is not None and cred.value != avoid and now < cred.expires_at - self.margin
            if usable and now < cred.refresh_at:  # type: ignore[union-attr]
                return self._remember(appid, cred)  # type: ignore[arg-type]
            token = secrets.token_hex(8)
            if await self.redis.set(self._lock_key(appid), token, nx=True, px=self.lock_ms):
                try:
                    return await self._fetch_locked(appid, avoid)
                except WeChatError as exc:
                    if not usable:
                        raise
                    # Renewing ahead of time failed; the current value still works for a while.
                    log.warning(
                        "wechat_credential_refresh_failed", kind=self.kind, appid=appid, error=str(exc)
                    )
                    return self._remember(appid, cred, next_check=now + 5.0)  # type: ignore[arg-type]
                finally:
                    await self._unlock(keys=[self._lock_key(appid)], args=[token])
            if usable:
                # Someone else is renewing it; the current value is still good meanwhile.
                return self._remember(appid, cred, next_check=now + 0.5)  # type: ignore[arg-type]
            if time.monotonic() > deadline:
                raise Retryable(None, f"timed out waiting for another process to fetch the {self.kind}")
            await asyncio.sleep(0.05)

    async def _fetch_locked(self, appid: str, avoid: str | None) -> str:
        # Double-check under the lock: the previous holder may have just stored a fresh value.
        cred = await self.peek(appid)
        now = self.clock()
        if cred and cred.value != avoid and now < cred.refresh_at:
            return self._remember(appid, cred)
        value, expires_in = await self.fetch(appid, False)
        token_fetches.labels(kind=self.kind, mode="normal").inc()
        if avoid is not None and value == avoid:
            # stable_token hands back the same token while it is valid; the platform disagrees.
            value, expires_in = await self.fetch(appid, True)
            token_fetches.labels(kind=self.kind, mode="force").inc()
        now = self.clock()
        expires_in = max(int(expires_in), 1)
        cred = Credential(
            value,
            refresh_at=now + max(expires_in - self.refresh_ahead, expires_in * 0.5),
            expires_at=now + expires_in,
        )
        await self.redis.set(self.key(appid), cred.encode(), px=int(expires_in * 1000))
        log.info("wechat_credential_fetched", kind=self.kind, appid=appid, expires_in=expires_in)
        return self._remember(appid, cred)

    def _remember(self, appid: str, cred: Credential, *, next_check: float | None = None) -> str:
        now = self.clock()
        if next_check is None:
            next_check = min(cred.refresh_at, now + self.recheck)
        next_check = min(next_check, cred.expires_at - self.margin)
        self._local[appid] = _Local(cred, next_check)
        return cred.value
