"""The SMS port (binding codes go to the phone the core holds for a store) and its development
implementation.

Production plugs an SMS provider in with the same one-method protocol (``bot.sms``: Aliyun,
Tencent Cloud, chosen by ``JIUBOT_SMS_PROVIDER``). ``RedisSmsOutbox`` keeps
the messages of each phone number in Redis for a while (the demo's console and the tests read
them with ``messages``) and logs that one was sent, with the number masked.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import orjson
import redis.asyncio as aioredis
import structlog

from bot.observability import mask_phone
from bot.redis import Keys
from bot.sms.interface import SmsSender

__all__ = ["RedisSmsOutbox", "SmsSender"]

log = structlog.get_logger(__name__)


class RedisSmsOutbox:
    """A development SMS gateway: messages are kept per number (newest last) for ``ttl`` seconds."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, *, ttl: int = 3600, keep: int = 20) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl = ttl
        self.keep = keep

    def _key(self, phone: str) -> str:
        return self.keys("sms", "outbox", phone)

    async def send(
        self,
        phone: str,
        text: str,
        *,
        purpose: str,
        params: Mapping[str, str] | None = None,
        client_ip: str | None = None,
    ) -> None:
        entry = orjson.dumps({"at": time.time(), "text": text, "purpose": purpose})
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(self._key(phone), entry)
        pipe.ltrim(self._key(phone), -self.keep, -1)
        pipe.expire(self._key(phone), self.ttl)
        await pipe.execute()
        log.info("sms_outbox", phone=mask_phone(phone), purpose=purpose)

    async def messages(self, phone: str) -> list[dict]:
        return [orjson.loads(raw) for raw in await self.redis.lrange(self._key(phone), 0, -1)]

    async def last_text(self, phone: str) -> str | None:
        raw = await self.redis.lindex(self._key(phone), -1)
        return orjson.loads(raw)["text"] if raw else None
