"""Redis connection: the real server, or (``redis_mode=fallback``, demo only) the in-process stand-in."""

from __future__ import annotations

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)


class Keys:
    """Builds every Redis key under one prefix so that environments can share a server."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)


async def connect(url: str, *, mode: str = "require") -> tuple[aioredis.Redis, bool]:
    """Return ``(client, is_stand_in)``.

    In ``require`` mode an unreachable server raises; in ``fallback`` mode it is replaced by
    fakeredis with a loud log line, because losing leases and locks on restart is acceptable only
    in a single-process demo.
    """
    client = aioredis.from_url(url, decode_responses=False, health_check_interval=30)
    try:
        await client.ping()
        return client, False
    except (RedisError, OSError) as exc:
        await client.aclose()
        if mode != "fallback":
            raise
        import fakeredis

        log.warning(
            "redis_unreachable_using_in_process_stand_in",
            url=url,
            error=str(exc),
            note="leases, locks and counters live in this process only; do not run several processes",
        )
        return fakeredis.FakeAsyncRedis(decode_responses=False), True
