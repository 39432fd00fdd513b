"""Customer-service push throughput: jiubot's WeChat client against a bare aiohttp client.

One run starts the WeChat simulator in its own process (bench configuration: one Official
Account, ``--users`` simulated followers who each sent a message, and a customer-service window of
10^9 messages so that the quota never blocks), then for 1, 2 and 4 worker processes pushes
``--messages`` text messages (default 20,000) twice:

  jiubot  ``WeChatClient.message.send_text``: token from the cluster-wide cache (fetched once per
          run, every process starts cold with a fresh Redis prefix), a slot from the shared Redis
          token bucket (rate set high enough never to throttle: its round trip is measured, not a
          limit), JSON built and sent, errcode checked, metrics;
  bare    aiohttp ``session.post`` of the same JSON bytes with a fixed access_token, reading the
          answer (the limit of this stack against this simulator).

It prints messages/s for each, the ratio jiubot/bare, and the simulator's count of token fetches
per jiubot push (must be 1). Each push is split into ``--rounds`` chunks taken in turns with the
other client (jiubot, bare, bare, jiubot, ...), so that the drift of a shared machine hits both
alike; each chunk is bounded by ``--max-seconds``. On 2 cores the simulator (one process) and Redis share the CPU
with the workers, so with 2 and 4 workers both clients mostly measure the simulator.

    .venv/bin/python bench/push.py [--messages 20000] [--workers 1,2,4] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APPID = "wxbenchpush00001"
SECRET = "bench-push-secret-0001"
REDIS_URL = os.environ.get("JIUBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# the simulator process ---------------------------------------------------------------------------
def run_sim(port: int, users: int, ready: mp.Queue) -> None:
    asyncio.run(_sim(port, users, ready))


async def _sim(port: int, users: int, ready: mp.Queue) -> None:
    from aiohttp import web

    from wechat_sim.app import SIM_STATE, create_sim_app
    from wechat_sim.config import Limits, SimConfig
    from wechat_sim.model import App

    limits = Limits()
    limits.kf_rules = {trigger: (10**9, 48 * 3600.0) for trigger in limits.kf_rules}
    limits.daily_quotas = {api: 10**9 for api in limits.daily_quotas}
    app = create_sim_app(SimConfig(apps=[App(APPID, SECRET)], limits=limits))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    sim = app[SIM_STATE]
    openids = []
    for i in range(users):
        person = sim.add_person(f"压测用户{i}", "store_owner")
        await sim.follow(person.id, APPID)
        await sim.send_text(person.id, APPID, "你好")  # opens the (bench-sized) 48 h window
        openids.append(sim.openid(person.id, APPID))
    ready.put(openids)
    await asyncio.Event().wait()  # until terminated


# a worker process --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    mode: str  # jiubot | bare
    base_url: str
    prefix: str
    token: str
    openids: list[str]
    first: int  # message numbers [first, first + count)
    count: int
    concurrency: int
    max_seconds: float


def run_worker(job: Job, ready: mp.Queue, go: mp.Event, results: mp.Queue) -> None:
    from bot.observability import configure_logging

    configure_logging("ERROR", "console")
    results.put(asyncio.run(_worker(job, ready, go)))


async def _worker(job: Job, ready: mp.Queue, go: mp.Event) -> dict:
    import aiohttp
    import orjson
    import redis.asyncio as aioredis

    from bot.redis import Keys
    from bot.wechat.outbound import WeChatClient
    from bot.wechat.ratelimit import RateLimiter, parse_rules

    redis = aioredis.from_url(REDIS_URL)
    keys = Keys(job.prefix)

    async def secret(_appid: str) -> str:
        return SECRET

    connector = aiohttp.TCPConnector(limit=job.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = WeChatClient(
            session,
            base_url=job.base_url,
            secrets=secret,
            redis=redis,
            keys=keys,
            limiter=RateLimiter(redis, keys, parse_rules({"message/custom/send": 1e7})),
            retries=0,
        )
        url = job.base_url + "/cgi-bin/message/custom/send"
        params = {"access_token": job.token}
        numbers = iter(range(job.first, job.first + job.count))
        ok = errors = 0
        deadline = 0.0

        async def jiubot_send(n: int) -> None:
            await client.message.send_text(APPID, job.openids[n % len(job.openids)], f"您的订单 #{n} 已发货")

        async def bare_send(n: int) -> None:
            body = {
                "touser": job.openids[n % len(job.openids)],
                "msgtype": "text",
                "text": {"content": f"您的订单 #{n} 已发货"},
            }
            async with session.post(
                url, params=params, data=orjson.dumps(body), headers={"Content-Type": "application/json"}
            ) as resp:
                answer = orjson.loads(await resp.read())
                if resp.status != 200 or answer.get("errcode"):
                    raise RuntimeError(answer)

        send = jiubot_send if job.mode == "jiubot" else bare_send

        async def lane() -> None:
            nonlocal ok, errors
            for n in numbers:
                if time.monotonic() > deadline:
                    return
                try:
                    await send(n)
                    ok += 1
                except Exception:
                    errors += 1

        ready.put(os.getpid())
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        started_wall, started = time.time(), time.monotonic()
        deadline = started + job.max_seconds
        await asyncio.gather(*(lane() for _ in range(job.concurrency)))
        elapsed = time.monotonic() - started
    await redis.aclose()
    return {"ok": ok, "errors": errors, "start": started_wall, "end": started_wall + elapsed}


# orchestration -----------------------------------------------------------------------------------
def push_chunk(
    mode: str, workers: int, count: int, first: int, prefix: str, args, base_url: str, token: str, openids
) -> dict:
    """``count`` messages from ``workers`` fresh processes (started before the clock runs)."""
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    share = count // workers
    procs = []
    for w in range(workers):
        n = share + (count - share * workers if w == workers - 1 else 0)
        job = Job(
            mode, base_url, prefix, token, openids, first + w * share, n, args.concurrency, args.max_seconds
        )
        proc = ctx.Process(target=run_worker, args=(job, ready, go, results), daemon=True)
        proc.start()
        procs.append(proc)
    for _ in procs:
        ready.get(timeout=120)
    go.set()
    outcome = [results.get(timeout=args.max_seconds + 120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    wall = max(r["end"] for r in outcome) - min(r["start"] for r in outcome)
    return {"ok": sum(r["ok"] for r in outcome), "errors": sum(r["errors"] for r in outcome), "seconds": wall}


def push_pair(workers: int, args, base_url: str, bare_token: str, openids: list[str]) -> tuple[dict, dict]:
    """``--messages`` through each client, in ``--rounds`` chunks taken in turns (ABBA...), so
    that the shared machine's drift hits both alike. One Redis prefix for all of jiubot's chunks:
    the first process to need the token fetches it, later chunks find it in Redis."""
    prefix = f"jiubot:bench-push:{uuid.uuid4().hex[:8]}:"
    totals = {m: {"ok": 0, "errors": 0, "seconds": 0.0} for m in ("jiubot", "bare")}
    chunk = args.messages // args.rounds
    for r in range(args.rounds):
        count = chunk + (args.messages - chunk * args.rounds if r == args.rounds - 1 else 0)
        order = ("jiubot", "bare") if r % 2 == 0 else ("bare", "jiubot")
        for mode in order:
            token = bare_token if mode == "bare" else ""
            got = push_chunk(mode, workers, count, r * chunk, prefix, args, base_url, token, openids)
            for name in ("ok", "errors", "seconds"):
                totals[mode][name] += got[name]
    _drop_prefix(prefix)
    for t in totals.values():
        t["rate"] = t["ok"] / t["seconds"]
    return totals["jiubot"], totals["bare"]


def _drop_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    names = list(client.scan_iter(match=prefix + "*", count=1000))
    if names:
        client.delete(*names)
    client.close()


def sim_get(base_url: str, path: str) -> dict:
    import json
    import urllib.request

    with urllib.request.urlopen(base_url + path, timeout=30) as resp:
        return json.loads(resp.read())


def stable_token(base_url: str) -> str:
    import json
    import urllib.request

    body = json.dumps({"grant_type": "client_credential", "appid": APPID, "secret": SECRET}).encode()
    request = urllib.request.Request(base_url + "/cgi-bin/stable_token", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())["access_token"]


def token_fetches(base_url: str) -> int:
    return int(sim_get(base_url, "/_sim/api/stats")["token_fetches"].get(APPID, 0))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000, help="messages per push (default 20000)")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts (default 1,2,4)")
    parser.add_argument(
        "--concurrency", type=int, default=32, help="requests in flight per worker (default 32)"
    )
    parser.add_argument(
        "--users", type=int, default=200, help="simulated followers to spread over (default 200)"
    )
    parser.add_argument("--max-seconds", type=float, default=120.0, help="bound of each chunk (default 120)")
    parser.add_argument("--rounds", type=int, default=4, help="chunks per push, taken in turns (default 4)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",") if n.strip()]

    ctx = mp.get_context("spawn")
    port = free_port()
    ready = ctx.Queue()
    sim_proc = ctx.Process(target=run_sim, args=(port, args.users, ready), daemon=True)
    sim_proc.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        openids = ready.get(timeout=120)
        bare_token = stable_token(base_url)
        print(
            f"push bench: {args.messages} messages per push, {args.users} users, concurrency "
            f"{args.concurrency}/worker, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        rows = []
        for workers in counts:
            before = token_fetches(base_url)
            ours, bare = push_pair(workers, args, base_url, bare_token, openids)
            fetched = token_fetches(base_url) - before
            rows.append((workers, ours, bare, fetched))
            print(
                f"  {workers} worker(s): jiubot {ours['rate']:8.0f}/s ({ours['ok']} ok, {ours['errors']} errors, "
                f"{ours['seconds']:.1f} s, token fetches {fetched})  bare {bare['rate']:8.0f}/s "
                f"({bare['ok']} ok, {bare['errors']} errors)  ratio {ours['rate'] / bare['rate']:.2f}",
                flush=True,
            )
    finally:
        sim_proc.terminate()
        sim_proc.join(timeout=10)
    print()
    print("| workers | jiubot msg/s | bare aiohttp msg/s | jiubot / bare | token fetches (jiubot) | errors |")
    print("|---|---|---|---|---|---|")
    for workers, ours, bare, fetched in rows:
        print(
            f"| {workers} | {ours['rate']:.0f} | {bare['rate']:.0f} | {ours['rate'] / bare['rate']:.2f} "
            f"| {fetched} | {ours['errors']} / {bare['errors']} |"
        )
    failed = [w for w, ours, _, fetched in rows if fetched != 1 or ours["errors"]]
    if failed:
        print(f"FAIL: token fetches != 1 or errors with {failed} worker(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
