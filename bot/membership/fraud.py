"""Fraud control in Redis: velocity windows, invalid-code lockouts, a review stream.

These run before the database is touched, so a script hammering forged or stolen codes costs
Redis round trips, not transactions. Each check is one Lua script (atomic across all the
windows it tests). Caps per day/month and pattern flags need history and live in ``scanning``.

What each window is keyed on (the policy table is in docs/membership.md, "Fraud windows"):
a signed-in scan is counted against its MEMBER (an identity WeChat issued: costly to multiply)
and its device id when the mini-program sends one; never against its IP address, which a whole
carrier NAT, office or misconfigured proxy may share. An anonymous request (an H5 visitor
without our cookie) has nothing but its address (bot/clientip.py): its invalid codes are counted
against that address, and the lock that follows refuses only further anonymous requests from
it; a signed-in member behind the same address is never affected.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.membership.codes import CodeKeys, CodeRef, InvalidCode, extract, parse
from bot.membership.interface import INVALID, REJECTED, ScanRequest, ScanResult
from bot.membership.loyalty_config import LoyaltyConfig
from bot.redis import Keys

LOCKED = "locked"  # what ``admit`` answers for a locked-out subject

# KEYS[1]: the subject's lockout key; KEYS[2..]: one sorted set per (subject, window). ARGV:
# now_ms, member token, then per window key window_ms and limit. Returns -1 when the subject is
# locked out, 0 when every window has room (and records the scan in all of them), else the
# 1-based index of the first full window (and records nothing). One call per credited scan.
_WINDOWS = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
local now = tonumber(ARGV[1])
for i = 2, #KEYS do
  local window = tonumber(ARGV[2 * i - 1])
  local limit = tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    return i - 1
  end
end
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i - 1]))
end
return 0
"""

# KEYS: counter, lock. ARGV: window_s, threshold, lockout_s. Returns the count in the window.
_INVALID = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
if n >= tonumber(ARGV[2]) then redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[3])) end
return n
"""


@dataclass(frozen=True, slots=True)
class Subjects:
    tenant_id: int
    member_id: int | None
    ip: str | None
    device: str | None

    def velocity_pairs(self) -> list[tuple[str, str]]:
        """The subjects of the velocity windows: member and device (signed-in scans only)."""
        out = []
        if self.member_id is not None:
            out.append(("m", str(self.member_id)))
            if self.device:
                out.append(("dev", self.device[:64]))
        return out

    def lock_pair(self) -> tuple[str, str] | None:
        """Whose invalid codes are counted and who is locked out: the member, else (anonymous)
        the client address under its own kind ``anon``, which no signed-in request checks."""
        if self.member_id is not None:
            return ("m", str(self.member_id))
        if self.ip:
            return ("anon", self.ip[:45])
        return None


class FraudGuard:
    def __init__(self, redis: aioredis.Redis, keys: Keys, *, review_maxlen: int = 100_000) -> None:
        self.redis = redis
        self.keys = keys
        self.review_maxlen = review_maxlen
        self._windows = redis.register_script(_WINDOWS)
        self._invalid = redis.register_script(_INVALID)
        self._seq = 0

    def _key(self, tenant_id: int, *parts: object) -> str:
        return self.keys("scan", tenant_id, *parts)

    async def locked(self, subjects: Subjects) -> bool:
        pair = subjects.lock_pair()
        if pair is None:
            return False
        return await self.redis.exists(self._key(subjects.tenant_id, "lock", *pair)) > 0

    async def admit(
        self,
        subjects: Subjects,
        member_windows: Sequence[tuple[int, int]],
        source_windows: Sequence[tuple[int, int]],
    ) -> str | None:
        """The signed-in scan's one Redis call: ``LOCKED`` if the member is locked out, else
        record the attempt in every velocity window; None if admitted, else the subject kind
        whose window is full (``m``, ``dev``). ``source_windows`` apply to the device."""
        pair = subjects.lock_pair()
        if pair is None:  # anonymous: no velocity window; the caller checks ``locked``
            return LOCKED if await self.locked(subjects) else None
        keys = [self._key(subjects.tenant_id, "lock", *pair)]
        argv: list[int] = []
        owners: list[str] = []
        for kind, value in subjects.velocity_pairs():
            for window, limit in member_windows if kind == "m" else source_windows:
                keys.append(self._key(subjects.tenant_id, "vel", kind, value, window))
                argv.extend((window * 1000, limit))
                owners.append(kind)
        self._seq += 1
        now_ms = int(time.time() * 1000)
        token = f"{now_ms}-{id(self)}-{self._seq}"
        full = int(await self._windows(keys=keys, args=[now_ms, token, *argv]))
        if full < 0:
            return LOCKED
        return owners[full - 1] if full else None

    async def invalid_code(self, subjects: Subjects, *, window: int, threshold: int, lockout: int) -> bool:
        """Count an invalid code against the member (anonymous: the client address); True if
        that locked them out."""
        pair = subjects.lock_pair()
        if pair is None:
            return False
        count = await self._invalid(
            keys=[
                self._key(subjects.tenant_id, "bad", *pair),
                self._key(subjects.tenant_id, "lock", *pair),
            ],
            args=[window, threshold, lockout],
        )
        return int(count) >= threshold

    async def unlock(self, tenant_id: int, kind: str, value: str) -> None:
        await self.redis.delete(
            self._key(tenant_id, "lock", kind, value), self._key(tenant_id, "bad", kind, value)
        )

    async def review(self, subjects: Subjects, reason: str, text: str, channel: str) -> None:
        """Keep a refused scan that never reached the database (forged code, lockout, velocity)."""
        await self.redis.xadd(
            self._key(subjects.tenant_id, "review"),
            {
                "reason": reason,
                "member": str(subjects.member_id or ""),
                "ip": subjects.ip or "",
                "device": (subjects.device or "")[:64],
                "channel": channel,
                "text": text[:80],
            },
            maxlen=self.review_maxlen,
            approximate=True,
        )

    async def recent_reviews(self, tenant_id: int, count: int = 50) -> list[dict[str, str]]:
        rows = await self.redis.xrevrange(self._key(tenant_id, "review"), count=count)
        return [
            {"id": _text(rid), **{_text(k): _text(v) for k, v in (fields or {}).items()}}
            for rid, fields in rows or ()
        ]


def _text(value: bytes | str | None) -> str:
    """A stream field as text (redis-py types it bytes or str, by the client's decode_responses)."""
    if isinstance(value, bytes):
        return value.decode()
    return value or ""


async def screen(
    guard: FraudGuard, keys: CodeKeys, req: ScanRequest, config: LoyaltyConfig
) -> CodeRef | ScanResult:
    """Everything a scan must pass before the database, cheapest refusal first: a forged code
    is pure CPU (counted towards a lockout and kept for review); a genuine one costs one Redis
    call (lockout and every velocity window at once). The code's reference when admitted, else
    the refusal to answer."""
    subjects = Subjects(req.tenant_id, req.member_id, req.ip, req.device)
    try:
        ref = parse(keys, extract(req.text), tenant_id=req.tenant_id)
    except InvalidCode as exc:
        if await guard.locked(subjects):
            await guard.review(subjects, LOCKED, req.text, req.channel)
            return ScanResult(REJECTED, LOCKED)
        await guard.review(subjects, f"invalid_{exc.reason}", req.text, req.channel)
        locked = await guard.invalid_code(
            subjects,
            window=config.invalid_window_seconds,
            threshold=config.invalid_lockout_count,
            lockout=config.lockout_seconds,
        )
        return ScanResult(INVALID, "locked_now" if locked else exc.reason)
    refused = await guard.admit(subjects, config.member_velocity, config.source_velocity)
    if refused == LOCKED:
        await guard.review(subjects, LOCKED, req.text, req.channel)
        return ScanResult(REJECTED, LOCKED)
    if req.member_id is None:
        raise ValueError("a genuine code is redeemed by a member: log in first")
    if refused is not None:
        await guard.review(subjects, f"velocity_{refused}", ref.text, req.channel)
        return ScanResult(REJECTED, "velocity", code=ref.text)
    return ref
