"""The child process of ``test_token_processes.py`` (no tests here; kept light to start fast).

Run as ``python -m tests.wechat.test_token_worker BASE_URL REDIS_URL PREFIX APPID SECRET``: prints
``ready``, then for every ``go`` line on stdin makes one token-bearing call and prints the token
it used as JSON. Logs go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys


async def _worker(base_url: str, redis_url: str, prefix: str, appid: str, secret: str) -> None:
    import aiohttp
    import redis.asyncio as aioredis

    from bot.redis import Keys
    from bot.wechat.outbound import WeChatClient
    from bot.wechat.ratelimit import RateLimiter

    redis = aioredis.from_url(redis_url)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def lookup(_appid: str) -> str:
        return secret

    try:
        async with aiohttp.ClientSession() as http:
            keys = Keys(prefix)
            client = WeChatClient(
                http,
                base_url=base_url,
                secrets=lookup,
                redis=redis,
                keys=keys,
                limiter=RateLimiter(redis, keys),
            )
            print("ready", flush=True)
            while (await reader.readline()).strip() == b"go":
                await client.user.followers(appid)
                print(json.dumps({"token": client.tokens._local[appid].credential.value}), flush=True)
    finally:
        await redis.aclose()


def main() -> None:
    from bot.observability import configure_logging

    configure_logging("WARNING", "console")  # stderr; stdout carries the answers
    asyncio.run(_worker(*sys.argv[1:6]))


if __name__ == "__main__":
    main()
