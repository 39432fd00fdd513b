"""``bench/callback.py --redis-delay-ms 100``: does the 4.5 s budget hold when Redis is slow?

jiubot (``jiubot serve`` + a ``jiubot worker``, PostgreSQL) is driven twice with the same load
(``--slow-requests`` signed text callbacks from ``--slow-concurrency`` clients at once, each a
fresh MsgId of a known member): once on Redis directly, once with every Redis reply held back by
``--redis-delay-ms`` in a TCP relay (tests/redis_relay.py, its own process) in front of it. It
prints, for each, the share of callbacks answered (HTTP 200) within 5 s, p50/p99 and what WeChat
got (a reply, an ack, the busy text), then the delayed run against the direct one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
RELAY = """
import asyncio, sys
sys.path.insert(0, {root!r})
from tests.redis_relay import RedisRelay

async def main():
    relay = await RedisRelay({target!r}).start()
    relay.delay = {delay}
    print(relay.port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def drive(port: int, requests: list[tuple[str, str]], concurrency: int) -> list[tuple[float, str]]:
    """(seconds, what came back) per callback; "timeout" past 10 s."""
    import aiohttp

    todo = iter(requests)
    out: list[tuple[float, str]] = []

    async def client(http: aiohttp.ClientSession) -> None:
        for target, body in todo:
            started = time.monotonic()
            try:
                async with http.post(
                    f"http://127.0.0.1:{port}{target}",
                    data=body.encode(),
                    timeout=aiohttp.ClientTimeout(total=10),
                ) as resp:
                    answer = await resp.read()
                    kind = (
                        f"http_{resp.status}"
                        if resp.status != 200
                        else "ack"
                        if answer in (b"success", b"")
                        else "busy"
                        if "繁忙".encode() in answer
                        else "reply"
                    )
            except (TimeoutError, aiohttp.ClientError):
                kind = "timeout"
            out.append((time.monotonic() - started, kind))

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return out


def report(name: str, results: list[tuple[float, str]]) -> tuple[float, float]:
    times = sorted(t for t, _ in results)
    within = sum(
        1 for t, kind in results if t <= 5.0 and kind not in ("timeout",) and not kind.startswith("http_")
    )
    share = within / len(results)
    p99 = times[max(int(len(times) * 0.99) - 1, 0)]
    kinds = dict(Counter(kind for _, kind in results))
    print(
        f"  {name:<22} answered within 5 s {share:7.1%}   p50 {statistics.median(times) * 1000:7.0f} ms"
        f"   p99 {p99 * 1000:7.0f} ms   {kinds}"
    )
    return share, p99


def run(args: argparse.Namespace, callback: ModuleType) -> int:
    """``callback``: the bench/callback.py module (its request builder, env and process helpers)."""
    cb = callback
    delay = args.redis_delay_ms / 1000
    jiubot = str(Path(sys.executable).with_name("jiubot"))

    @cb.with_database
    def measure(dbname: str) -> int:
        prefix = f"jbench:{uuid.uuid4().hex[:6]}:"
        port = cb.free_port()
        env = cb.jiubot_env(dbname, prefix, "safe", port)
        subprocess.run([jiubot, "db", "upgrade"], env=env, check=True, capture_output=True)
        relay = subprocess.Popen(
            [sys.executable, "-c", RELAY.format(root=str(ROOT), target=cb.REDIS_URL, delay=delay)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert relay.stdout is not None
        relay_port = int(relay.stdout.readline())
        slow_url = f"redis://127.0.0.1:{relay_port}/{cb.REDIS_URL.rsplit('/', 1)[1]}"
        results = {}
        try:
            for label, redis_url in (("direct", cb.REDIS_URL), (f"+{args.redis_delay_ms} ms", slow_url)):
                run_env = {**env, "JIUBOT_REDIS_URL": redis_url}
                proc = cb.start(
                    [jiubot, "serve", "--port", str(port)],
                    port,
                    env={**run_env, "JIUBOT_SERVE_BACKGROUND": "false"},
                    cwd=ROOT,
                )
                worker = subprocess.Popen(
                    [jiubot, "worker"],
                    env=run_env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    if label == "direct":
                        cb.warm_members(port, "safe")
                    seed = 700 + len(results)
                    reqs = cb.make_requests(f"/wechat/{cb.APPID}", "safe", args.slow_requests, seed=seed)
                    results[label] = asyncio.run(drive(port, reqs, args.slow_concurrency))
                finally:
                    cb.stop(proc)
                    cb.stop(worker)
        finally:
            relay.kill()
            cb.flush_redis(prefix)
        print(
            f"Redis slowed by {args.redis_delay_ms} ms per reply: {args.slow_requests} safe-mode callbacks,"
            f" {args.slow_concurrency} at a time"
        )
        (share_direct, p99_direct), (share_slow, p99_slow) = (report(k, v) for k, v in results.items())
        print(
            f"  delayed/direct: answered within 5 s {share_slow / share_direct:.2f}x,"
            f" p99 {p99_slow / p99_direct:.1f}x (budget 4.5 s: p99 must stay under 5 s)"
        )
        return 0 if share_slow == 1.0 and p99_slow < 5.0 else 1

    return measure()
