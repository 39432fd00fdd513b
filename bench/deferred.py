"""What owing a deferred reply durably costs a callback that overran its budget.

Before issue 17 a deferral was one Redis round trip (the lease says "deferred"); now the pipeline
also writes a ``deferred_replies`` row (bot/wechat/deferred.py: one INSERT, on PostgreSQL without
waiting for the WAL flush) and closes it after the late reply (one UPDATE). This measures, one
after the other in the same run, ``--count`` of each on PostgreSQL and SQLite:

  defer   ``Dedupe.defer`` (the Redis round trip every deferral already made: the peer)
  record  ``DeferredReplies.record`` (inside the callback's settle grace)
  close   ``DeferredReplies.complete`` (after the late reply, off the callback path)

and prints p50/p99 in ms and the ratio record/defer. Only callbacks whose handler is still
running at half its budget pay ``record``; the common, in-time callback pays nothing.

    .venv/bin/python bench/deferred.py [--count 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DSN = os.environ.get("JIUBOT_BENCH_PG_DSN", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")
REDIS_URL = os.environ.get("JIUBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


async def timed(count: int, step: Callable[[int], Awaitable[object]]) -> list[float]:
    out = []
    for i in range(count):
        t = time.perf_counter()
        await step(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(name: str, ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    p50, p99 = statistics.median(ms), ms[int(len(ms) * 0.99) - 1]
    print(f"  {name:<7} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    return p50, p99


async def measure(db_url: str, count: int) -> None:
    from bot.config import load_settings
    from bot.messages import Inbound
    from bot.wechat.dedupe import Dedupe
    from bot.wechat.deferred import DeferredReplies
    from bot.wiring.runtime import open_runtime

    settings = load_settings(
        database_url=db_url,
        redis_url=REDIS_URL,
        redis_prefix=f"bench-deferred:{uuid.uuid4().hex[:8]}:",
        secret_key="bench-secret-key-0123456789",
        _env_file=None,
    )
    async with open_runtime(settings) as runtime:
        services = runtime.services
        dedupe = Dedupe(runtime.mux, services.keys, inflight_ttl=7, done_ttl=300, lock_ttl=60, nonce_ttl=660)
        await dedupe.load_scripts()
        rows = DeferredReplies(services.sessions, lease_seconds=15)
        messages = [
            Inbound(
                appid="wxbenchdeferred01",
                to_user="gh_bench",
                openid=f"o{i:027d}",
                create_time=int(time.time()),
                msg_type="text",
                msg_id=str(10**15 + i),
                content="帮助我看看上次那单到哪了",
                fields={"Content": "帮助我看看上次那单到哪了", "MsgId": str(10**15 + i)},
            )
            for i in range(count)
        ]
        tenant = runtime.default_tenant_id
        defer = await timed(count, lambda i: dedupe.defer("wxbenchdeferred01", messages[i].dedupe_key, b"P0"))
        record = await timed(count, lambda i: rows.record(tenant, messages[i], None, f"{i:016x}"))
        close = await timed(
            count,
            lambda i: rows.complete("wxbenchdeferred01", messages[i].dedupe_key, f"{i:016x}", "replied"),
        )
        peer, _ = summary("defer", defer)
        cost, _ = summary("record", record)
        summary("close", close)
        print(f"  record / defer (p50): {cost / peer:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()

    import psycopg

    from bot.migrate import upgrade

    name = f"bench_deferred_{uuid.uuid4().hex[:8]}"
    base = PG_DSN.rsplit("/", 1)[0]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        pg_url = f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
        upgrade(pg_url)
        print(f"PostgreSQL ({args.count} each)")
        asyncio.run(measure(pg_url, args.count))
        with tempfile.TemporaryDirectory() as folder:
            sqlite_url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
            upgrade(sqlite_url)
            print(f"SQLite ({args.count} each)")
            asyncio.run(measure(sqlite_url, args.count))
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
