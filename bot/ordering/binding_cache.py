"""Who a member is for ordering, cached in Redis: every chat turn of a store member needs it,
and it changes only when someone binds, joins or leaves a store (callers ``forget`` then). The
TTL bounds how long a role changed elsewhere (an operator, a merge) can go unseen."""

from __future__ import annotations

import orjson
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import session_scope
from bot.ordering import repository as repo
from bot.ordering.views import Binding, StoreRef
from bot.redis import Keys


class BindingCache:
    def __init__(
        self, redis: aioredis.Redis, keys: Keys, sessions: async_sessionmaker[AsyncSession], *, ttl: int = 120
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.sessions = sessions
        self.ttl = ttl

    def _key(self, member_id: int) -> str:
        return self.keys("ordering", "binding", str(member_id))

    async def get(self, member_id: int) -> Binding | None:
        raw = await self.redis.get(self._key(member_id))
        if raw:
            doc = orjson.loads(raw)
            store = StoreRef(**doc["store"]) if doc["store"] else None
            return Binding(doc["member_id"], doc["tenant_id"], doc["role"], store)
        async with session_scope(self.sessions) as session:
            found = await repo.binding_of(session, member_id)
        if found is not None:
            store = found.store
            doc = {
                "member_id": found.member_id,
                "tenant_id": found.tenant_id,
                "role": found.role,
                "store": {
                    "store_id": store.store_id,
                    "core_store_id": store.core_store_id,
                    "code": store.code,
                    "name": store.name,
                }
                if store
                else None,
            }
            await self.redis.set(self._key(member_id), orjson.dumps(doc), ex=self.ttl)
        return found

    async def forget(self, *member_ids: int | None) -> None:
        keys = [self._key(m) for m in member_ids if m is not None]
        if keys:
            await self.redis.delete(*keys)
