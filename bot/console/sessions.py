"""Console sessions in Redis: an opaque id in a cookie, idle and absolute expiry, rotation.

The cookie carries a random id; Redis keeps the session under the SHA-256 of that id (a copy of
Redis does not hand out live cookies). Every load checks both limits against the injected clock,
so tests move time instead of sleeping; the key's TTL is only the backstop that frees memory.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import orjson
import redis.asyncio as aioredis

from bot.db import utcnow
from bot.redis import Keys

Clock = Callable[[], datetime]

COOKIE = "jb_console"
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=30)  # write last_seen back at most this often


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    sid: str
    csrf: str
    created_at: datetime
    last_seen: datetime
    operator_id: int | None = None
    tenant_id: int | None = None

    @property
    def signed_in(self) -> bool:
        return self.operator_id is not None


class SessionStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        idle: timedelta = IDLE,
        absolute: timedelta = ABSOLUTE,
        clock: Clock = utcnow,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.idle = idle
        self.absolute = absolute
        self.clock = clock

    def _key(self, sid: str) -> str:
        return self.keys("console", "session", hashlib.sha256(sid.encode()).hexdigest())

    def _ttl(self, session: ConsoleSession) -> int:
        left = min(session.last_seen + self.idle, session.created_at + self.absolute) - self.clock()
        return max(1, int(left.total_seconds()) + 1)

    async def _save(self, session: ConsoleSession) -> None:
        body = orjson.dumps(
            {
                "csrf": session.csrf,
                "created_at": session.created_at.isoformat(),
                "last_seen": session.last_seen.isoformat(),
                "operator_id": session.operator_id,
                "tenant_id": session.tenant_id,
            }
        )
        await self.redis.set(self._key(session.sid), body, ex=self._ttl(session))

    async def create(self, *, operator_id: int | None = None, tenant_id: int | None = None) -> ConsoleSession:
        now = self.clock()
        session = ConsoleSession(
            sid=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            last_seen=now,
            operator_id=operator_id,
            tenant_id=tenant_id,
        )
        await self._save(session)
        return session

    async def load(self, sid: str | None) -> ConsoleSession | None:
        """The live session of ``sid``, touched; None when unknown or expired (then deleted)."""
        if not sid or len(sid) > 100:
            return None
        raw = await self.redis.get(self._key(sid))
        if raw is None:
            return None
        data = orjson.loads(raw)
        session = ConsoleSession(
            sid=sid,
            csrf=data["csrf"],
            created_at=datetime.fromisoformat(data["created_at"]),
            last_seen=datetime.fromisoformat(data["last_seen"]),
            operator_id=data["operator_id"],
            tenant_id=data["tenant_id"],
        )
        now = self.clock()
        if now >= session.last_seen + self.idle or now >= session.created_at + self.absolute:
            await self.destroy(sid)
            return None
        if now - session.last_seen >= TOUCH_EVERY:
            session = replace(session, last_seen=now)
            await self._save(session)
        return session

    async def rotate(self, old: ConsoleSession | None, *, operator_id: int, tenant_id: int) -> ConsoleSession:
        """A new id and CSRF token for a sign-in (the pre-sign-in id dies: no fixation)."""
        if old is not None:
            await self.destroy(old.sid)
        return await self.create(operator_id=operator_id, tenant_id=tenant_id)

    async def destroy(self, sid: str) -> None:
        await self.redis.delete(self._key(sid))
