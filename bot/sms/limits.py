"""How often verification codes may be sent: per phone number (an hour and a day) and per client
IP address (an hour), in fixed Redis windows.

One Lua script reads every window that applies and, only when none is full, counts the send in
all of them: a refused send counts nowhere (so a flood from one address does not use up the
victim's phone windows), and two concurrent sends cannot both take a window's last slot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog

from bot.observability import mask_phone
from bot.redis import Keys
from bot.sms.errors import SmsError, SmsFailure
from bot.sms.interface import SmsSender

log = structlog.get_logger(__name__)

# KEYS: window keys; ARGV: limit_1, window_1, limit_2, window_2 ...
# -> 0 when counted, else the 1-based index of the first full window, and its TTL
_TAKE = """
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or '0')
  if used >= tonumber(ARGV[2 * i - 1]) then
    return {i, redis.call('TTL', key)}
  end
end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then
    redis.call('EXPIRE', key, tonumber(ARGV[2 * i]))
  end
end
return {0, 0}
"""

HOUR = 3600
DAY = 86400


@dataclass(frozen=True)
class SmsLimits:
    per_phone_hour: int = 5
    per_phone_day: int = 10
    per_ip_hour: int = 20


class SmsLimiter:
    def __init__(self, redis: aioredis.Redis, keys: Keys, limits: SmsLimits) -> None:
        self.redis = redis
        self.keys = keys
        self.limits = limits
        self._take = redis.register_script(_TAKE)

    async def take(self, phone: str, client_ip: str | None = None) -> None:
        """Count one send, or raise SmsError(TOO_MANY_FOR_PHONE | TOO_MANY_FOR_IP) counting none."""
        windows: list[tuple[str, int, int, SmsFailure]] = [
            (
                self.keys("sms", "lim", "phone", phone, "h"),
                self.limits.per_phone_hour,
                HOUR,
                SmsFailure.TOO_MANY_FOR_PHONE,
            ),
            (
                self.keys("sms", "lim", "phone", phone, "d"),
                self.limits.per_phone_day,
                DAY,
                SmsFailure.TOO_MANY_FOR_PHONE,
            ),
        ]
        if client_ip:
            windows.append(
                (
                    self.keys("sms", "lim", "ip", client_ip, "h"),
                    self.limits.per_ip_hour,
                    HOUR,
                    SmsFailure.TOO_MANY_FOR_IP,
                )
            )
        args: list[int] = []
        for _key, limit, window, _failure in windows:
            args += [limit, window]
        full, ttl = await self._take(keys=[w[0] for w in windows], args=args)
        if full:
            failure = windows[int(full) - 1][3]
            log.info("sms_limited", phone=mask_phone(phone), failure=failure.value, retry_after=int(ttl))
            raise SmsError(failure, "", "local limit", retry_after=max(int(ttl), 1))

    async def give_back(self, phone: str, client_ip: str | None = None) -> None:
        """A send the provider refused before sending anything does not use a slot."""
        names = [self.keys("sms", "lim", "phone", phone, "h"), self.keys("sms", "lim", "phone", phone, "d")]
        if client_ip:
            names.append(self.keys("sms", "lim", "ip", client_ip, "h"))
        pipe = self.redis.pipeline(transaction=False)
        for name in names:
            pipe.decr(name)
        await pipe.execute()


class LimitedSms:
    """A sender behind the limiter: the limits hold whichever provider sends."""

    def __init__(self, inner: SmsSender, limiter: SmsLimiter) -> None:
        self.inner = inner
        self.limiter = limiter

    async def send(
        self,
        phone: str,
        text: str,
        *,
        purpose: str,
        params: Mapping[str, str] | None = None,
        client_ip: str | None = None,
    ) -> None:
        await self.limiter.take(phone, client_ip)
        try:
            await self.inner.send(phone, text, purpose=purpose, params=params, client_ip=client_ip)
        except SmsError as exc:
            if exc.failure in (SmsFailure.MISCONFIGURED, SmsFailure.UNAVAILABLE, SmsFailure.NO_BALANCE):
                await self.limiter.give_back(phone, client_ip)  # nothing reached the phone
            raise

    # the development outbox's reading side (the demo's console and the tests read codes there);
    # a provider has none: nothing to read back
    async def last_text(self, phone: str) -> str | None:
        reader = getattr(self.inner, "last_text", None)
        return await reader(phone) if reader is not None else None

    async def messages(self, phone: str) -> list[dict]:
        reader = getattr(self.inner, "messages", None)
        return list(await reader(phone)) if reader is not None else []
