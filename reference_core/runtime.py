"""The objects a request handler needs, built once per application in its cleanup context."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reference_core.clock import Clock
from reference_core.config import CoreConfig
from reference_core.models import ApiKey, Tenant


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class TenantInfo:
    id: int
    slug: str


class TenantKeys:
    """API key -> tenant, cached briefly so auth costs no query on the hot path."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: float = 30.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._cache: dict[str, tuple[float, TenantInfo | None]] = {}

    async def resolve(self, api_key: str) -> TenantInfo | None:
        digest = hash_key(api_key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit and hit[0] > now:
            return hit[1]
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Tenant.id, Tenant.slug)
                    .join(ApiKey, ApiKey.tenant_id == Tenant.id)
                    .where(ApiKey.key_hash == digest)
                )
            ).first()
        info = TenantInfo(row.id, row.slug) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()  # unknown keys must not grow memory without bound
        self._cache[digest] = (now + self._ttl, info)
        return info


@dataclass
class Core:
    config: CoreConfig
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    readers: async_sessionmaker[AsyncSession]
    clock: Clock
    keys: TenantKeys
    # set after a commit that wrote webhook events, so the dispatcher sends them at once
    webhook_wakeup: asyncio.Event = field(default_factory=asyncio.Event)


CORE = web.AppKey("reference_core", Core)
