"""Exactly-once handling of WeChat's retries (ARCHITECTURE.md mechanism 1), in Redis.

A push's lease moves absent -> in-flight (``P<token>``) -> done (``D<reply>``) or deferred
(``L``: the reply went, or will go, through the customer-service API). A handler that fails
releases the lease, so WeChat's retry runs it again; done is written only AFTER success.

An owner that dies (its process killed mid-handling) leaves its in-flight lease and the member's
lock behind. The in-flight lease lives only ``inflight_ttl`` (the budget plus a margin: a live
owner has settled or deferred by then), so a retry waiting on it takes the message over when it
expires; the member's lock token is the lease's token, so the taker also takes over the dead
owner's lock instead of waiting for it to expire.

``begin`` is one script and one round trip: it checks the nonce against replay, claims the
lease, reads the cached member id, tries the member's lock and, when it got the lock, reads the
flow state. ``settle_command`` is the matching script for the end; the pipeline sends it with
the log entry and the reach budget's recording in one batch. Both go through the multiplexed
connection (bot/redis_mux.py), so concurrent callbacks share round trips.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from bot.redis import Keys
from bot.redis_mux import Command, Mux, Script

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
if not locked and ARGV[8] ~= '' and redis.call('GET', KEYS[4]) == ARGV[8] then
  redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[6])  -- the dead owner's lock
  locked = true
end
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

# KEYS: lock. ARGV: token, ttl ms, the dead owner's token ('' = none)
_TAKE_LOCK = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if ARGV[3] ~= '' and redis.call('GET', KEYS[1]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
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
        mux: Mux,
        keys: Keys,
        *,
        inflight_ttl: float,
        done_ttl: float,
        lock_ttl: float,
        nonce_ttl: int,
    ) -> None:
        self.mux = mux
        self.keys = keys
        self.inflight_ms = int(inflight_ttl * 1000)
        self.done_ms = int(done_ttl * 1000)
        self.lock_ms = int(lock_ttl * 1000)
        self.nonce_ttl = max(nonce_ttl, 60)
        self._begin = Script(mux, _BEGIN)
        self._settle = Script(mux, _SETTLE)
        self._take_lock = Script(mux, _TAKE_LOCK)

    async def load_scripts(self) -> None:
        await self._begin.load()
        await self._settle.load()
        await self._take_lock.load()

    # key builders -------------------------------------------------------------------------
    # The same strings ``keys(part, ...)`` builds, as f-strings: five of them per message.
    def lease_key(self, appid: str, dedupe_key: str) -> str:
        return f"{self.keys.prefix}lease:{appid}:{dedupe_key}"

    def lock_key(self, appid: str, openid: str) -> str:
        return f"{self.keys.prefix}lock:{appid}:{openid}"

    def member_key(self, appid: str, openid: str) -> str:
        return f"{self.keys.prefix}member:{appid}:{openid}"

    def flow_key(self, appid: str, openid: str) -> str:
        return f"{self.keys.prefix}flow:{appid}:{openid}"

    def nonce_key(self, appid: str, timestamp: str, nonce: str) -> str:
        return f"{self.keys.prefix}nonce:{appid}:{timestamp}:{nonce}"

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
        take_lock_from: str = "",
    ) -> Claim:
        """Claim the message; ``take_lock_from``: the token of an expired in-flight lease whose
        owner still holds the member's lock (a retry taking over from a dead owner)."""
        lock_token = secrets.token_hex(8)
        lease = INFLIGHT + lock_token.encode()
        result = await self._begin(
            [
                self.lease_key(appid, dedupe_key),
                self.nonce_key(appid, timestamp, nonce),
                self.member_key(appid, openid),
                self.lock_key(appid, openid),
                self.flow_key(appid, openid),
            ],
            [
                lease,
                self.inflight_ms,
                fingerprint,
                self.nonce_ttl,
                lock_token,
                self.lock_ms,
                "1" if check_nonce else "0",
                take_lock_from,
            ],
        )
        status = result[0]  # type: ignore[index]
        if status == b"replay":
            return Claim(status="replay")
        if status == b"dup":
            return Claim(status="dup", lease=result[1])  # type: ignore[index]
        member = result[1]  # type: ignore[index]
        return Claim(
            status="new",
            lease=lease,
            member_id=int(member) if member else None,
            locked=result[2] == b"1",  # type: ignore[index]
            flow_state=result[3] or None,  # type: ignore[index]
            lock_token=lock_token,
        )

    async def peek(self, appid: str, dedupe_key: str) -> bytes | None:
        return await self.mux.execute("GET", self.lease_key(appid, dedupe_key))  # type: ignore[return-value]

    async def acquire_lock(
        self, appid: str, openid: str, token: str, *, poll: float = 0.01, take_from: str = ""
    ) -> None:
        """Wait for the member's lock; a crashed holder's lock expires after its TTL. A lock
        still held under ``take_from`` (a dead owner's token) is taken over at once."""
        key = self.lock_key(appid, openid)
        delay = poll
        while not await self._take_lock([key], [token, self.lock_ms, take_from]):
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.1)

    def settle_command(
        self,
        appid: str,
        openid: str,
        dedupe_key: str,
        *,
        lease: bytes,
        new_value: bytes | None,
        lock_token: str | None,
        ttl_ms: int | None = None,
    ) -> Command:
        """The lease transition (``None`` releases it) and the lock release, as one command."""
        return self._settle.command(
            [self.lease_key(appid, dedupe_key), self.lock_key(appid, openid) if lock_token else ""],
            [lease, new_value if new_value is not None else b"", ttl_ms or self.done_ms, lock_token or ""],
        )

    async def run_settle(self, command: Command) -> None:
        """Re-run a settle command on its own (after NOSCRIPT: Redis restarted)."""
        _, _, numkeys, *rest = command
        if not isinstance(numkeys, int):
            raise TypeError(f"not a settle command: {command!r}")
        await self._settle(list(rest[:numkeys]), list(rest[numkeys:]))

    async def defer(self, appid: str, dedupe_key: str, lease: bytes) -> None:
        """The budget ran out: retries from now on get a bare ack (the reply goes out late)."""
        await self._settle([self.lease_key(appid, dedupe_key), ""], [lease, DEFERRED, self.done_ms, ""])
