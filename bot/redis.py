"""Redis connection: the real server, or (``redis_mode=fallback``, demo only) the in-process stand-in."""

from __future__ import annotations

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from bot.redis_mux import ClientMux, Mux, MuxRedis

log = structlog.get_logger(__name__)


class Keys:
    """Builds every Redis key under one prefix so that environments can share a server."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)


def as_text(raw: bytes | str | None) -> str | None:
    """A reply as text: the clients here return bytes (``decode_responses=False``), redis-py's
    types allow str too."""
    return raw.decode() if isinstance(raw, bytes) else raw


async def connect(
    url: str,
    *,
    mode: str = "require",
    max_connections: int = 64,
    socket_timeout: float = 2.0,
    socket_connect_timeout: float = 2.0,
) -> tuple[aioredis.Redis, bool]:
    """Return ``(client, is_stand_in)``.

    Every command has a deadline: ``socket_timeout`` for a reply (keep it above the longest
    ``BLOCK`` a caller asks for) and ``socket_connect_timeout`` to connect; a silent server
    raises ``redis.exceptions.TimeoutError``.

    In ``require`` mode an unreachable server raises; in ``fallback`` mode it is replaced by
    fakeredis with a loud log line, because losing leases and locks on restart is acceptable only
    in a single-process demo.
    """
    # A blocking pool waits for a free connection instead of failing a burst of callbacks with
    # MaxConnectionsError (redis-py's default pool stops at 100 and raises).
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        decode_responses=False,
        health_check_interval=30,
        max_connections=max_connections,
        timeout=max(socket_timeout, 1.0),  # waiting for a free connection of the pool
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_connect_timeout,
    )
    client = aioredis.Redis.from_pool(pool)  # closing the client closes its pool
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


def multiplexer(
    url: str,
    client: aioredis.Redis,
    stand_in: bool,
    *,
    socket_timeout: float = 2.0,
    socket_connect_timeout: float = 2.0,
) -> Mux:
    """The hot path's connection: one multiplexed socket to a real redis:// server, else the
    same interface over ``client`` (the stand-in, TLS, unix sockets). Same deadlines as ``connect``."""
    if not stand_in and url.startswith("redis://"):
        return MuxRedis(url, connect_timeout=socket_connect_timeout, command_timeout=socket_timeout)
    return ClientMux(client)
