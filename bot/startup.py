"""Start-up with a dependency down: one clear line, then exit or retry (``startup_retry_seconds``).

``jiubot serve`` and ``jiubot worker`` call ``wait_for_dependencies`` before building the app: the
database and Redis are each asked once (bounded by their connect deadlines). With
``JIUBOT_STARTUP_RETRY_SECONDS=0`` (the default) an unreachable one prints
``jiubot: cannot start: <what> is unreachable (<first line of the error>)`` and the process exits
with ``EXIT_UNAVAILABLE``, for a supervisor to restart it; with N > 0 it prints one line per
attempt and retries for up to N seconds (containers whose dependencies start at the same time).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from bot.config import Settings

EXIT_UNAVAILABLE = 3
RETRY_INTERVAL = 1.0


def safe_url(url: str) -> str:
    """``url`` without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=netloc[0].split(":", 1)[0] + ":***@" + netloc[1]))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200].rstrip(": ")


async def unreachable(settings: Settings) -> str | None:
    """What cannot be reached right now (one phrase), or None when everything answers."""
    from sqlalchemy import text

    from bot.db import create_engine
    from bot.redis import connect

    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with asyncio.timeout(max(settings.redis_connect_timeout_seconds, 5.0)):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach it is reported, not raised
        return f"the database {safe_url(settings.database_url)} is unreachable ({_first_line(exc)})"
    finally:
        await engine.dispose()
    if settings.redis_mode == "fallback":
        return None  # the demo replaces a missing Redis by the in-process stand-in
    try:
        client, _ = await connect(
            settings.redis_url,
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_connect_timeout_seconds,
        )
        await client.aclose()
    except Exception as exc:
        return f"Redis at {safe_url(settings.redis_url)} is unreachable ({_first_line(exc)})"
    return None


def wait_for_dependencies(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int | None:
    """None when the database and Redis answer; else, after printing, the exit code."""
    give_up = clock() + settings.startup_retry_seconds
    while True:
        problem = asyncio.run(unreachable(settings))
        if problem is None:
            return None
        left = give_up - clock()
        if left <= 0:
            print(f"jiubot: cannot start: {problem}", file=sys.stderr, flush=True)
            return EXIT_UNAVAILABLE
        print(f"jiubot: waiting: {problem}; retrying for {left:.0f} s more", file=sys.stderr, flush=True)
        sleep(min(RETRY_INTERVAL, left))
