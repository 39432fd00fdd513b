"""Bottle-code scanning throughput on PostgreSQL through the HTTP API, against the limit.

One run, bounded in time:
  server    jiubot (create_app + the membership extension) in its own process on loopback,
            PostgreSQL and a real Redis, every fraud check on (caps and windows set high enough
            not to refuse the load)
  distinct  N clients (members with mini-program sessions) redeem M distinct codes through
            POST /mp/api/scan, each client one request after another
  bursts    B bursts of 100 clients scanning the same code at the same moment
  limit     the bare ledger transaction run directly on the same database by N workers:
            BEGIN; INSERT points_ledger; UPDATE points_accounts SET balance = balance + 10; COMMIT
  codes     codes generated per second (HMAC + base32, CSV rows) and QR SVGs per second (segno,
            fixed mask, process pool)
Prints scans/s, p50/p99, credits granted (must equal the distinct codes scanned), the ratio
against the limit, and the code generation rates; exits 1 if a credit is missing or doubled.

    .venv/bin/python bench/scan.py [--codes 20000] [--clients 50] [--bursts 10] [--time-limit 240]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DSN = os.environ.get("JIUBOT_BENCH_PG_DSN", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")
REDIS_URL = os.environ.get("JIUBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-key-0123456789abcdef"
CODE_KEY = "bench-bottle-code-master-key-0123456789"
MP_APPID = "wxbenchmp0000001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(db_url: str, prefix: str, pool: int) -> dict[str, str]:
    # pool 0: the server's default pool (10, a burst opens up to 20 more, closed after use)
    return {
        **({"JIUBOT_DATABASE_POOL_SIZE": str(pool)} if pool else {}),
        "JIUBOT_DATABASE_URL": db_url,
        "JIUBOT_REDIS_URL": REDIS_URL,
        "JIUBOT_REDIS_PREFIX": prefix,
        "JIUBOT_SECRET_KEY": SECRET,
        "JIUBOT_CODE_KEY": CODE_KEY,
        "JIUBOT_CODE_BASE_URL": "https://jb.example.cn",
        "JIUBOT_LOG_LEVEL": "ERROR",
        "JIUBOT_LOG_FORMAT": "console",
    }


def _serve(env: dict[str, str], port: int) -> None:
    os.environ.update(env)
    from aiohttp import web

    from bot.app import create_app
    from bot.config import load_settings
    from bot.observability import configure_logging
    from bot.wiring.features import MEMBERSHIP

    settings = load_settings(_env_file=None)
    configure_logging("ERROR", "console", secret_key=settings.secret_key)
    app = create_app(settings, features=[MEMBERSHIP], background=False)
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=loop)


async def _prepare(db_url: str, members: int, codes: int, bursts: int):  # type: ignore[no-untyped-def]
    from bot.db import create_engine, session_factory, session_scope
    from bot.membership import actions, batches, loyalty_config
    from bot.miniapp.session import MpSession, SessionSigner
    from bot.tenancy.repository import get_or_create_tenant

    engine = create_engine(db_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            tenant = (await get_or_create_tenant(session, "default", "默认品牌")).id
            await loyalty_config.update(
                session,
                tenant,
                daily_scan_cap=10**6,
                monthly_scan_cap=10**6,
                member_velocity=[[60, 10**6]],
                source_velocity=[[60, 10**7]],
            )
            batch = await batches.create_batch(
                session,
                tenant,
                brand="黔酒",
                sku="QJ-53-500",
                product_name="黔酒·酱香典藏",
                size=codes + bursts,
            )
            await batches.mark_range(session, tenant, batch.id, 1, codes + bursts, "activate")
            ids = []
            for i in range(members):
                member = await actions.ensure_member(session, tenant, MP_APPID, f"bench-{i}")
                await actions.confirm_age(session, member)
                ids.append(member)
    finally:
        await engine.dispose()
    signer = SessionSigner(SECRET, 86400)
    tokens = [
        signer.issue(MpSession(m, tenant, MP_APPID, f"bench-{i}", None)).token for i, m in enumerate(ids)
    ]
    return tenant, batch.id, tokens


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0


async def _load(
    port: int,
    tenant: int,
    batch: int,
    tokens: list[str],
    codes: int,
    clients: int,
    bursts: int,
    deadline: float,
) -> dict:
    import aiohttp

    from bot.membership.codes import CodeKeys, make

    keys = CodeKeys(CODE_KEY.encode())
    base = f"http://127.0.0.1:{port}/mp/api/scan"
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    queue = iter(range(1, codes + 1))
    scanned = 0
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def scan(token: str, serial: int) -> str:
            q = quote(f"https://jb.example.cn/c/{make(keys, tenant, batch, serial)}", safe="")
            started = time.perf_counter()
            async with http.post(
                base,
                json={"q": q, "scancode_time": int(time.time())},
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                body = await resp.json()
            latencies.append(time.perf_counter() - started)
            outcome = body.get("outcome", f"http_{resp.status}")
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            return outcome

        async def client(token: str) -> None:
            nonlocal scanned
            for serial in queue:
                if time.perf_counter() > deadline:
                    return
                await scan(token, serial)
                scanned += 1

        burst_credits = []
        for b in range(bursts):  # first, so a slow machine cannot squeeze them out of the time limit
            serial = codes + 1 + b
            results = await asyncio.gather(*(scan(tokens[i % len(tokens)], serial) for i in range(100)))
            burst_credits.append(results.count("credited"))
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(client(tokens[i]) for i in range(clients)))
        distinct_elapsed = time.perf_counter() - started
        distinct_latencies = list(latencies)
    return {
        "scanned": scanned,
        "elapsed": distinct_elapsed,
        "latencies": distinct_latencies,
        "outcomes": outcomes,
        "burst_credits": burst_credits,
    }


async def _limit(db_url: str, tenant: int, workers: int, count: int, deadline: float) -> tuple[int, float]:
    """The bare ledger transaction, directly: what a scan cannot beat."""
    from sqlalchemy import text

    from bot.db import create_engine, session_factory, session_scope
    from bot.membership import ledger
    from bot.membership.ledger_models import CONSUMPTION

    engine = create_engine(db_url, pool_size=workers)
    sessions = session_factory(engine)
    accounts = []
    async with session_scope(sessions) as session:
        for _ in range(workers):
            member = (
                await session.execute(
                    text(
                        "INSERT INTO members (tenant_id, role, status, created_at, last_seen_at, tier, push_opt_out) "
                        "VALUES (:t, 'consumer', 'active', now(), now(), 'basic', false) RETURNING id"
                    ),
                    {"t": tenant},
                )
            ).scalar_one()
            accounts.append(await ledger.account_for(session, tenant, CONSUMPTION, member_id=member))
    work = iter(range(count))
    done = 0
    run = uuid.uuid4().hex[:8]

    async def worker(account: int) -> None:
        nonlocal done
        for i in work:
            if time.perf_counter() > deadline:
                return
            async with session_scope(sessions) as session:
                await session.execute(
                    text(
                        "INSERT INTO points_ledger (tenant_id, account_id, origin_account_id, delta, category, source_kind,"
                        " source_id, note, created_at) VALUES (:t, :a, :a, 10, 'earn', 'bench', :s, '', now())"
                    ),
                    {"t": tenant, "a": account, "s": f"{run}:{i}"},
                )
                await session.execute(
                    text(
                        "UPDATE points_accounts SET balance = balance + 10 WHERE id = :a AND balance + 10 >= 0"
                    ),
                    {"a": account},
                )
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(a) for a in accounts))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return done, elapsed


def _codegen_rates() -> tuple[float, float]:
    from bot.membership import codegen
    from bot.membership.codes import CodeKeys

    job = codegen.Job(CodeKeys(CODE_KEY.encode()).key(1), 1, 1, "https://jb.example.cn")
    sink = io.StringIO()
    started = time.perf_counter()
    rows = codegen.write_csv(sink, job, 1, 100_000)
    csv_rate = rows / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        images = codegen.write_zip(os.path.join(folder, "qr.zip"), job, 1, 2_000, workers=2)
        qr_rate = images / (time.perf_counter() - started)
    return csv_rate, qr_rate


async def _verify(db_url: str, tenant: int) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from bot.db import create_engine, session_factory, session_scope
    from bot.membership import ledger
    from bot.membership.code_models import CodeRedemption
    from bot.membership.ledger_models import PointsLedger

    engine = create_engine(db_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            credits = (
                await session.execute(select(func.count()).where(PointsLedger.source_kind == "bottle_code"))
            ).scalar_one()
            redeemed = (await session.execute(select(func.count()).select_from(CodeRedemption))).scalar_one()
            _, bad = await ledger.audit(session, tenant)
    finally:
        await engine.dispose()
    return credits, redeemed, len(bad)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--codes", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--time-limit", type=float, default=240.0, help="seconds for the scan phase")
    parser.add_argument(
        "--pool",
        type=int,
        default=0,
        help="the server's JIUBOT_DATABASE_POOL_SIZE (default: its default, 10)",
    )
    args = parser.parse_args()

    import psycopg

    from bot.migrate import upgrade

    name = f"bench_scan_{os.getpid()}"
    base = PG_DSN.rsplit("/", 1)[0]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    prefix = f"bench:{os.getpid()}:"
    server = None
    try:
        upgrade(db_url)
        tenant, batch, tokens = asyncio.run(_prepare(db_url, max(args.clients, 100), args.codes, args.bursts))
        port = _free_port()
        ctx = multiprocessing.get_context("spawn")
        server = ctx.Process(target=_serve, args=(_env(db_url, prefix, args.pool), port), daemon=True)
        server.start()
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        deadline = time.perf_counter() + args.time_limit
        result = asyncio.run(
            _load(port, tenant, batch, tokens, args.codes, args.clients, args.bursts, deadline)
        )
        server.terminate()
        server.join(10)
        server = None
        limit_done, limit_elapsed = asyncio.run(
            _limit(
                db_url, tenant, args.clients, args.codes, time.perf_counter() + min(120.0, args.time_limit)
            )
        )
        credits, redeemed, mismatched = asyncio.run(_verify(db_url, tenant))
        csv_rate, qr_rate = _codegen_rates()
    finally:
        if server is not None:
            server.terminate()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        stale = list(client.scan_iter(match=prefix + "*", count=1000))
        if stale:
            client.delete(*stale)

    scans_per_s = result["scanned"] / result["elapsed"]
    limit_per_s = limit_done / limit_elapsed
    lat = result["latencies"]
    expected = result["scanned"] + len(result["burst_credits"])
    ok = credits == redeemed == expected and all(c == 1 for c in result["burst_credits"]) and mismatched == 0
    print(
        f"distinct codes scanned     {result['scanned']} by {args.clients} clients in {result['elapsed']:.1f} s"
    )
    print(f"scans/s                    {scans_per_s:,.0f}")
    print(
        f"latency p50 / p99          {statistics.median(lat) * 1000:.1f} ms / {_pct(lat, 0.99) * 1000:.1f} ms"
    )
    print(f"outcomes (all requests)    {result['outcomes']}")
    print(
        f"bursts of 100 on one code  {len(result['burst_credits'])}, credits per burst {result['burst_credits']}"
    )
    print(f"credits granted            {credits} (expected {expected}: distinct codes + one per burst)")
    print(f"audit mismatches           {mismatched}")
    print(f"limit: bare ledger txn/s   {limit_per_s:,.0f} ({limit_done} by {args.clients} workers)")
    print(f"ratio scans/s : limit      {scans_per_s / limit_per_s:.2f}")
    print(f"codes generated/s (CSV)    {csv_rate:,.0f}")
    print(f"QR SVGs/s (2 processes)    {qr_rate:,.0f}")
    print("RESULT", "OK" if ok else "FAILED: credits do not match the codes scanned")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
