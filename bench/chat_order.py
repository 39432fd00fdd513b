"""Chat ordering under load: scripted store-owner conversations through WeChat's callback driver.

One run starts, each in its own process, the reference core (``jiubot core``, PostgreSQL,
seeded with ``jiubot core seed``, logistics clock off) and jiubot (PostgreSQL, Redis, the
simulator as WeChat, the core behind JIUBOT_CORE_URL). This process runs the WeChat simulator
and ``--owners`` conversations (default 200), ``--concurrency`` at a time:

  bind     scan the store's binding QR (subscribe + qrscene_bind:<token>), reply the SMS code
  order    "普五1箱 青花汾20 6瓶" (free text -> quote with this store's prices and promotions)
  confirm  "确认" (order intent -> the core's POST /v1/orders with the derived Idempotency-Key)
  track    "物流"

A turn is one callback delivery (the simulator's driver: signed, deadline 5 s, retries), timed
from the POST to the passive reply. The limit measured in the same run: the core's own quote and
order-create latency, called directly at the same concurrency (``--probe`` requests each, on
stores no conversation uses, before the conversations). Printed: turns/s, p50/p99 per turn kind, orders created (must equal
the conversations), and the ratios order turn / core create and order-text turn / core quote.

jiubot's process: ``jiubot serve`` itself (its default features compose chat ordering, the
mini-program API and the core webhook), with its background work (order retries) in-process;
``--jiubot-cmd`` runs another command instead.

    .venv/bin/python bench/chat_order.py [--owners 200] [--concurrency 20] [--max-seconds 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DSN = os.environ.get("JIUBOT_BENCH_PG_DSN", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")
REDIS_URL = os.environ.get("JIUBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
APPID = "wxbenchorder0001"
SECRET = "bench-order-secret-0001"
TOKEN = "benchOrderToken1"
CORE_KEY = "bench-core-key-0123456789"
HOOK_SECRET = "bench-hook-secret-0123456789"
ORDER_TEXT = "普五1箱 青花汾20 6瓶"
SKUS = ("WLY-PW8-52-500", "FJ-QH20-53-500")
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_url(name: str) -> str:
    return PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(sql)


# processes -------------------------------------------------------------------------------------------
def start(cmd: list[str], env: dict[str, str], port: int, log: Path, timeout: float = 90) -> subprocess.Popen:
    handle = log.open("w")
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[:4]} exited: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"{cmd[:4]} did not listen on {port}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# measurements ----------------------------------------------------------------------------------------
@dataclass
class Results:
    turns: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    conversations_done: int = 0
    busy: int = 0  # confirms answered "系统繁忙，订单稍后确认" (result pushed later)
    orders_seen: set[str] = field(default_factory=set)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(value: float) -> str:
    return f"{value * 1000:7.1f} ms"


# the conversations -----------------------------------------------------------------------------------
async def conversation(ctx, n: int, store, results: Results, deadline: float) -> None:  # type: ignore[no-untyped-def]
    from bot.db import session_scope
    from bot.ordering import binding

    sim, sessions, tenant_id, outbox = ctx["sim"], ctx["sessions"], ctx["tenant_id"], ctx["outbox"]
    person = sim.add_person(f"老板{n}", "store_owner", phone=store.owner_phone).id

    def seq() -> int:
        entries = sim.conversation(person, APPID)
        return entries[-1].seq if entries else 0

    async def turn(kind: str, send, *, wait: str = "") -> str:  # type: ignore[no-untyped-def]
        """One turn: its latency runs until the member sees the answer (the passive reply, or the
        customer-service message when jiubot acked and answered late); returns the answer text."""
        if time.monotonic() > deadline:
            raise TimeoutError("run time bound reached")
        since = seq()
        started = time.perf_counter()
        result = await send()
        if result.user_error:
            raise RuntimeError(f"{kind}: WeChat showed an error ({result.reason})")
        answer = (result.reply or {}).get("Content") or ""
        while not answer or (wait and wait not in answer):
            pushed = [
                e.payload.get("content", "")
                for e in sim.conversation(person, APPID, since)
                if e.direction == "out" and e.channel == "kf"
            ]
            hit = [t for t in pushed if not wait or wait in t]
            if hit:
                answer = hit[0]
                break
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"{kind}: no answer within 30 s")
            await asyncio.sleep(0.02)
        results.turns[kind].append(time.perf_counter() - started)
        return answer

    async def wait_push(since: int, marker: str) -> str:
        for _ in range(1500):
            for entry in sim.conversation(person, APPID, since):
                if entry.direction == "out" and marker in entry.payload.get("content", ""):
                    return entry.payload["content"]
            await asyncio.sleep(0.02)
        raise RuntimeError("the pushed order result never came")

    async with session_scope(sessions) as session:
        token = await binding.create_token(
            session, tenant_id, binding.OWNER_TOKEN, store.id, created_by="bench", ttl_seconds=3600
        )
    await turn(
        "bind_scan", lambda: sim.scan(person, binding.SCENE_PREFIX + token, APPID), wait="验证码已发送"
    )
    code = None
    for _ in range(100):
        for message in reversed(await outbox.messages(store.owner_phone)):
            if store.name in message["text"] and message["at"] > ctx["started_at"]:
                code = "".join(ch for ch in message["text"].split("，")[0] if ch.isdigit())
                break
        if code:
            break
        await asyncio.sleep(0.05)
    if not code:
        raise RuntimeError("no SMS code")
    expect = {"bind_code": "绑定成功", "order": "订单报价", "confirm": "订单", "track": "订单"}
    for kind, text in (("bind_code", code), ("order", ORDER_TEXT), ("confirm", "确认"), ("track", "物流")):
        since = seq()
        reply = await turn(kind, lambda text=text: sim.send_text(person, APPID, text))
        if expect[kind] not in reply:
            raise RuntimeError(f"{kind}: unexpected reply {reply[:120]!r}")
        if kind == "confirm":
            if "稍后确认" in reply:  # the core was slow: the result is pushed when it is known
                results.busy += 1
                reply = await wait_push(since, "订单号：")
            results.orders_seen.add(reply.split("订单号：", 1)[1].split()[0])
    results.conversations_done += 1


async def probe_core(core_url: str, stores, count: int, concurrency: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """The core's own quote and order-create latency at the bench's concurrency."""
    import aiohttp

    from backend_client import CircuitBreaker, CoreClient, LineRequest, Timeouts

    lines = [LineRequest(SKUS[0], cases=1), LineRequest(SKUS[1], bottles=6)]
    quotes: list[float] = []
    creates: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:
        # one store per call, as in the conversations (no two creates wait on one store's row)
        client = CoreClient(
            session,
            core_url,
            CORE_KEY,
            timeouts=Timeouts(total=60),
            breaker=CircuitBreaker(failure_threshold=10**6),
        )

        async def one(i: int) -> None:
            store = stores[i % len(stores)]
            async with gate:
                t0 = time.perf_counter()
                await client.orders.quote(store.id, lines)
                quotes.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await client.orders.create(store.id, lines, idempotency_key=f"probe-{uuid.uuid4().hex}")
                creates.append(time.perf_counter() - t0)

        await asyncio.gather(*(one(i) for i in range(count)))
    return quotes, creates


async def drive(
    args: argparse.Namespace, env: dict[str, str], core_url: str, bot_url: str, sim_port: int
) -> int:
    import aiohttp
    import redis.asyncio as aioredis
    from aiohttp import web

    from backend_client import CoreClient
    from bot.db import create_engine, session_factory, session_scope
    from bot.ordering.sms import RedisSmsOutbox
    from bot.redis import Keys
    from bot.tenancy import repository as tenancy_repo
    from wechat_sim.app import SIM_STATE, create_sim_app
    from wechat_sim.config import Limits, SimConfig
    from wechat_sim.model import App

    limits = Limits()
    limits.daily_quotas = {api: 10**9 for api in limits.daily_quotas}
    sim_app = create_sim_app(
        SimConfig(
            apps=[App(APPID, SECRET, token=TOKEN, mode="plain", callback_url=f"{bot_url}/wechat/{APPID}")],
            limits=limits,
        )
    )
    runner = web.AppRunner(sim_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", sim_port).start()
    sim = sim_app[SIM_STATE]
    engine = create_engine(env["JIUBOT_DATABASE_URL"], pool_size=5)
    redis = aioredis.from_url(REDIS_URL)
    results = Results()
    try:
        async with aiohttp.ClientSession() as session:
            client = CoreClient(session, core_url, CORE_KEY)
            stores = []
            cursor = None
            while True:
                page = await client.org.stores(cursor=cursor, limit=50)
                stores.extend(page.items)
                cursor = page.next_cursor
                if not cursor:
                    break
            warehouses = await client.catalog.warehouses()
            for wh in warehouses:  # enough stock that every conversation can order
                for sku in SKUS:
                    await client.admin.set_stock(wh.id, sku, 100_000)
        talkers, probes = stores[: args.owners], stores[args.owners :]
        async with session_scope(session_factory(engine)) as db:
            tenant_id = (await tenancy_repo.list_apps(db))[0].tenant_id
        ctx = {
            "sim": sim,
            "sessions": session_factory(engine),
            "tenant_id": tenant_id,
            "outbox": RedisSmsOutbox(redis, Keys(env["JIUBOT_REDIS_PREFIX"])),
            "started_at": time.time(),
        }
        gate = asyncio.Semaphore(args.concurrency)
        deadline = time.monotonic() + args.max_seconds

        async def guarded(n: int, store) -> None:  # type: ignore[no-untyped-def]
            async with gate:
                try:
                    await conversation(ctx, n, store, results, deadline)
                except Exception as exc:
                    results.failures.append(f"{store.code}: {type(exc).__name__}: {exc}")

        # the limit first (its orders are on stores no conversation uses), then the conversations
        quotes, creates = await probe_core(core_url, probes or talkers, args.probe, args.concurrency)
        ctx["started_at"] = time.time()
        began = time.perf_counter()
        await asyncio.gather(*(guarded(n, s) for n, s in enumerate(talkers)))
        wall = time.perf_counter() - began
        async with aiohttp.ClientSession() as session:
            client = CoreClient(session, core_url, CORE_KEY)
            counted = 0
            for store in talkers:
                page = await client.orders.list_for_store(store.id, limit=10)
                counted += sum(
                    1
                    for o in page.items
                    if o.source != "seed" and o.created_at.timestamp() >= ctx["started_at"] - 1
                )
    finally:
        await redis.aclose()
        await engine.dispose()
        await runner.cleanup()
    report(args, results, wall, counted, quotes, creates)
    return 0 if counted == results.conversations_done == args.owners and not results.failures else 1


def report(
    args, results: Results, wall: float, counted: int, quotes: list[float], creates: list[float]
) -> None:  # type: ignore[no-untyped-def]
    every = [v for values in results.turns.values() for v in values]
    print(
        f"\nconversations: {results.conversations_done}/{args.owners} completed, concurrency {args.concurrency}, {wall:.1f} s"
    )
    print(f"turns: {len(every)} in {wall:.1f} s = {len(every) / wall:.1f} turns/s")
    print(f"all turns: p50 {ms(pct(every, 0.5))}  p99 {ms(pct(every, 0.99))}")
    for kind in ("bind_scan", "bind_code", "order", "confirm", "track"):
        values = results.turns.get(kind, [])
        print(f"  {kind:9s} n={len(values):4d}  p50 {ms(pct(values, 0.5))}  p99 {ms(pct(values, 0.99))}")
    print(f"core quote  (direct, n={len(quotes)}): p50 {ms(pct(quotes, 0.5))}  p99 {ms(pct(quotes, 0.99))}")
    print(
        f"core create (direct, n={len(creates)}): p50 {ms(pct(creates, 0.5))}  p99 {ms(pct(creates, 0.99))}"
    )
    print(
        f"orders created in the core by the conversations: {counted} (conversations: {args.owners}); distinct order numbers the owners were told: {len(results.orders_seen)}; "
        f"confirms answered busy, result pushed later: {results.busy}"
    )
    confirm, order = results.turns.get("confirm", []), results.turns.get("order", [])
    if confirm and creates:
        print(
            f"ratio confirm turn / core create: p50 {pct(confirm, 0.5) / pct(creates, 0.5):.2f}x  mean {statistics.mean(confirm) / statistics.mean(creates):.2f}x"
        )
    if order and quotes:
        print(
            f"ratio order-text turn / core quote: p50 {pct(order, 0.5) / pct(quotes, 0.5):.2f}x  mean {statistics.mean(order) / statistics.mean(quotes):.2f}x"
        )
    for failure in results.failures[:10]:
        print("  FAILED", failure)


# main --------------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--owners", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--probe", type=int, default=100, help="direct core quote+create calls for the limit")
    parser.add_argument("--max-seconds", type=float, default=300, help="bound of the conversation phase")
    parser.add_argument("--jiubot-cmd", default="", help="instead of `jiubot serve` (it gets JIUBOT_PORT)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    bot_db, core_db = f"bench_bot_{run}", f"bench_core_{run}"
    logs = ROOT / "bench" / "out" / f"chat_order_{run}"
    logs.mkdir(parents=True, exist_ok=True)
    core_port, bot_port, sim_port = free_port(), free_port(), free_port()
    core_url, bot_url = f"http://127.0.0.1:{core_port}", f"http://127.0.0.1:{bot_port}"
    jiubot = str(Path(PYTHON).with_name("jiubot"))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JIUBOT_DATABASE_URL": pg_url(bot_db),
        "JIUBOT_REDIS_URL": REDIS_URL,
        "JIUBOT_REDIS_PREFIX": f"bench:{run}:",
        "JIUBOT_SECRET_KEY": "bench-secret-key-0123456789",
        "JIUBOT_OA_APPID": APPID,
        "JIUBOT_OA_SECRET": SECRET,
        "JIUBOT_OA_TOKEN": TOKEN,
        "JIUBOT_OA_MODE": "plain",
        "JIUBOT_WECHAT_API_BASE": f"http://127.0.0.1:{sim_port}",
        "JIUBOT_CORE_URL": core_url,
        "JIUBOT_CORE_API_KEY": CORE_KEY,
        "JIUBOT_CORE_WEBHOOK_SECRET": HOOK_SECRET,
        "JIUBOT_PORT": str(bot_port),
        "JIUBOT_LOG_LEVEL": "WARNING",
        "JIUBOT_REACH_MESSAGE_QUOTA": "20",
    }
    procs: list[subprocess.Popen] = []
    try:
        admin(f'CREATE DATABASE "{bot_db}"')
        admin(f'CREATE DATABASE "{core_db}"')
        t0 = time.perf_counter()
        seed = [jiubot, "core", "seed", "--db", pg_url(core_db), "--api-key", CORE_KEY,
                "--stores", str(args.owners + args.probe), "--orders-per-store", "1",
                "--webhook-url", f"{bot_url}/core/webhook", "--webhook-secret", HOOK_SECRET]  # fmt: skip
        subprocess.run(seed, env=env, cwd=ROOT, check=True, capture_output=True, timeout=900)
        subprocess.run(
            [jiubot, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=300
        )
        print(f"setup: databases migrated and seeded in {time.perf_counter() - t0:.1f} s")
        core_cmd = [jiubot, "core", "--db", pg_url(core_db), "--port", str(core_port), "--api-key", CORE_KEY,
                    "--webhook-url", f"{bot_url}/core/webhook", "--webhook-secret", HOOK_SECRET, "--tick", "0"]  # fmt: skip
        procs.append(start(core_cmd, env, core_port, logs / "core.log"))
        bot_cmd = shlex.split(args.jiubot_cmd) if args.jiubot_cmd else [jiubot, "serve"]
        procs.append(start(bot_cmd, env, bot_port, logs / "jiubot.log"))
        return asyncio.run(drive(args, env, core_url, bot_url, sim_port))
    finally:
        for proc in reversed(procs):
            stop(proc)
        if not args.keep:
            admin(f'DROP DATABASE IF EXISTS "{bot_db}" WITH (FORCE)')
            admin(f'DROP DATABASE IF EXISTS "{core_db}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
