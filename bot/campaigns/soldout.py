"""A Redis sold-out marker per campaign: once the core has answered ``sold_out`` for a flash
sale or lot, the next buyers within ``TTL`` seconds are told so without a core call.

Exactly-once is kept by claiming each idempotency key in the same round trip: only a key seen
for the first time may be answered from the marker. A retry (WeChat's second and third
delivery, a double tap) of a key that already went to the core goes to the core again, whose
idempotency returns the same order, so a buyer who won is never told "sold out" by a retry
that raced the marker. The core stays the authority; the marker only skips calls whose answer
it already gave. The core's ``sold_out`` means "fewer bottles left than asked", so the marker
holds the quantity refused: only a request for at least as many is answered from it. Stock
given back (a cancelled order) is seen within ``TTL``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.redis import Keys

TTL = 2  # seconds a sold-out answer is reused
CLAIM_SECONDS = 24 * 3600  # how long a used idempotency key is remembered (WeChat retries in 15 s)


@dataclass(frozen=True, slots=True)
class SoldOutGate:
    redis: aioredis.Redis
    keys: Keys

    def _marker(self, tenant_id: int, campaign_id: int) -> str:
        return self.keys("camp", "soldout", tenant_id, campaign_id)

    async def known_sold_out(
        self, tenant_id: int, campaign_id: int, bottles: int, idempotency_key: str
    ) -> bool:
        """Claim ``idempotency_key``; True when it is new and the core refused ``bottles`` or
        fewer as sold out within TTL."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(self.keys("camp", "key", idempotency_key), b"1", nx=True, ex=CLAIM_SECONDS)
                pipe.get(self._marker(tenant_id, campaign_id))
                fresh, refused = await pipe.execute()
        except RedisError:
            return False  # the core decides, as without the marker
        return bool(fresh) and refused is not None and bottles >= int(refused)

    async def mark(self, tenant_id: int, campaign_id: int, bottles: int) -> None:
        """The core refused ``bottles`` as sold out: fewer are left (any refused quantity is a
        true bound, so the last one written is as good as any)."""
        with contextlib.suppress(RedisError):  # without the marker the core answers, as before
            await self.redis.set(self._marker(tenant_id, campaign_id), str(bottles).encode(), ex=TTL)
