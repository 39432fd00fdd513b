"""Benchmark: the reference core under a rush, on PostgreSQL, through its HTTP API.

* 5,000 concurrent coupon claims for 1,000 coupons (distinct holders, one Idempotency-Key each);
* 2,000 concurrent orders from 200 stores for 500 bottles of one SKU in one warehouse.

Each prints requests/s, latency, and the granted count, which must equal the stock exactly. The
limit, measured in the same run on the same PostgreSQL with the same number of connections, is the
bare conditional UPDATE each operation is built on (``remaining = remaining - 1 WHERE remaining > 0``,
``reserved = reserved + 1 WHERE on_hand - reserved >= 1``), one autocommit statement per request:
the ratio says how much of that ceiling the full API (auth, validation, pricing, idempotency key,
holder limit, order rows, JSON) keeps.

    .venv/bin/python bench/core.py [--pg postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot]

It creates and drops its own database; the core runs as a separate process (uvloop), like in
production. Takes about a minute or two on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reference_core.seed import seed_core  # noqa: E402

KEY = "bench-key-" + uuid.uuid4().hex
SKU = "MT-FT-53-500"


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_core(url: str, port: int, pool_size: int) -> subprocess.Popen:
    args = [
        sys.executable,
        "-m",
        "reference_core",
        "--db",
        url,
        "--port",
        str(port),
        "--tick",
        "0",
        "--pool-size",
        str(pool_size),
    ]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(proc.stderr.read().decode() if proc.stderr else "the core exited") from None
            time.sleep(0.2)
    raise SystemExit("the core did not start")


async def rush(
    http: aiohttp.ClientSession, requests: list[tuple[str, dict, str]]
) -> tuple[float, list, list, int]:
    """Fire every request at once; a 503 (the core shedding load) is retried with the same
    Idempotency-Key, as the contract says. Returns (seconds, final statuses, latencies, retries)."""
    retries = 0

    async def one(url: str, body: dict, key: str) -> tuple[int, float]:
        nonlocal retries
        started = time.perf_counter()
        while True:
            async with http.post(url, json=body, headers={"Idempotency-Key": key}) as response:
                await response.read()
                if response.status != 503:
                    return response.status, time.perf_counter() - started
            retries += 1
            await asyncio.sleep(random.uniform(0.2, 1.0))

    started = time.perf_counter()
    results = await asyncio.gather(*(one(*r) for r in requests))
    return time.perf_counter() - started, [s for s, _ in results], [lat for _, lat in results], retries


async def direct_limit(dsn: str, sql: str, params: tuple, count: int, connections: int) -> tuple[float, int]:
    """``count`` concurrent autocommit runs of ``sql`` over ``connections`` connections."""
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await psycopg.AsyncConnection.connect(dsn, autocommit=True))

    async def one() -> int:
        conn = await pool.get()
        try:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount
        finally:
            pool.put_nowait(conn)

    started = time.perf_counter()
    granted = sum(await asyncio.gather(*(one() for _ in range(count))))
    elapsed = time.perf_counter() - started
    while not pool.empty():
        await (pool.get_nowait()).close()
    return elapsed, granted


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else 0.0


async def run(args: argparse.Namespace) -> int:
    admin_dsn = args.pg
    name = f"jbench_core_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = admin_dsn.rsplit("/", 1)[0] + "/" + name
    url = dsn.replace("postgresql://", "postgresql+psycopg://")
    proc = None
    try:
        await seed_core(url, tenant="bench", api_key=KEY, stores=args.stores, orders_per_store=0)
        port = free_port()
        proc = start_core(url, port, args.pool_size)
        base = f"http://127.0.0.1:{port}"
        connector = aiohttp.TCPConnector(limit=args.client_limit)
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, headers={"Authorization": f"Bearer {KEY}"}
        ) as http:
            now = datetime.now(UTC)
            async with http.post(
                f"{base}/v1/coupon-campaigns",
                json={
                    "name": "压测券",
                    "kind": "amount_off",
                    "amount_off_fen": 1000,
                    "audience": "consumers",
                    "claim_starts_at": iso(now - timedelta(hours=1)),
                    "claim_ends_at": iso(now + timedelta(days=1)),
                    "valid_days": 7,
                    "valid_until": iso(now + timedelta(days=30)),
                    "total_stock": args.coupons,
                    "per_holder_limit": 1,
                },
            ) as r:
                campaign = (await r.json())["id"]
            async with http.get(f"{base}/v1/warehouses") as r:
                warehouses = [w["id"] for w in (await r.json())["items"]]
            for n, wid in enumerate(warehouses):  # all the stock in one warehouse: one hot row
                body = {"warehouse_id": wid, "sku": SKU, "on_hand": args.stock if n == 0 else 0}
                async with http.put(f"{base}/v1/admin/inventory", json=body) as r:
                    assert r.status == 200, await r.text()
            async with http.get(f"{base}/v1/stores?limit=100") as r:
                stores = [s["id"] for s in (await r.json())["items"]]
            async with http.get(f"{base}/v1/stores?limit=100&cursor={(await r.json())['next_cursor']}") as r2:
                stores += [s["id"] for s in (await r2.json())["items"]]
            for _ in range(20):  # warm the pools and caches
                async with http.get(f"{base}/v1/stores/{stores[0]}/prices?sku={SKU}") as r:
                    await r.read()

            claims = [
                (
                    f"{base}/v1/coupon-campaigns/{campaign}/claims",
                    {"holder_type": "consumer", "holder_id": f"member-{n}"},
                    f"claim-{n}",
                )
                for n in range(args.claims)
            ]
            cpu0 = cpu_seconds(proc.pid)
            claim_s, claim_status, claim_lat, claim_retries = await rush(http, claims)
            cpu1 = cpu_seconds(proc.pid)
            orders = [
                (
                    f"{base}/v1/orders",
                    {"store_id": stores[n % len(stores)], "lines": [{"sku": SKU, "bottles": 1}]},
                    f"order-{n}",
                )
                for n in range(args.orders)
            ]
            order_s, order_status, order_lat, order_retries = await rush(http, orders)
            cpu2 = cpu_seconds(proc.pid)

        with psycopg.connect(dsn) as conn:
            remaining = conn.execute(
                "SELECT remaining FROM core_coupon_campaigns WHERE id = %s", (campaign,)
            ).fetchone()[0]
            issued = conn.execute(
                "SELECT count(*) FROM core_coupon_claims WHERE campaign_id = %s", (campaign,)
            ).fetchone()[0]
            placed = conn.execute("SELECT count(*) FROM core_orders").fetchone()[0]
            reserved = conn.execute(
                "SELECT sum(i.reserved) FROM core_inventory i JOIN core_products p ON p.id = i.product_id "
                "WHERE p.sku = %s",
                (SKU,),
            ).fetchone()[0]
            # the limit: the bare conditional UPDATE on fresh rows, same connection count as the core
            limit_campaign = conn.execute(
                "INSERT INTO core_coupon_campaigns (tenant_id, name, kind, amount_off_fen, percent_off, threshold_fen, "
                "audience, audience_filter, scope, claim_starts_at, claim_ends_at, valid_days, valid_until, "
                "total_stock, remaining, per_holder_limit, status, created_at) SELECT tenant_id, 'limit', kind, "
                "amount_off_fen, percent_off, threshold_fen, audience, audience_filter, scope, claim_starts_at, "
                "claim_ends_at, valid_days, valid_until, total_stock, total_stock, per_holder_limit, status, created_at "
                "FROM core_coupon_campaigns WHERE id = %s RETURNING id",
                (campaign,),
            ).fetchone()[0]
            other = conn.execute(
                "SELECT i.warehouse_id, i.product_id FROM core_inventory i JOIN core_products p ON p.id = i.product_id "
                "WHERE p.sku <> %s ORDER BY 1, 2 LIMIT 1",
                (SKU,),
            ).fetchone()
            conn.execute(
                "UPDATE core_inventory SET on_hand = %s, reserved = 0 WHERE warehouse_id = %s "
                "AND product_id = %s",
                (args.stock, *other),
            )
            conn.commit()
        connections = args.pool_size * 2  # the core's pool: pool_size + max_overflow
        limit_claim_s, limit_claims = await direct_limit(
            dsn,
            "UPDATE core_coupon_campaigns SET remaining = remaining - 1 WHERE id = %s AND remaining > 0",
            (limit_campaign,),
            args.claims,
            connections,
        )
        limit_order_s, limit_orders = await direct_limit(
            dsn,
            "UPDATE core_inventory SET reserved = reserved + 1 WHERE warehouse_id = %s AND product_id = %s "
            "AND on_hand - reserved >= 1",
            other,
            args.orders,
            connections,
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    claims_rate, limit_claims_rate = args.claims / claim_s, args.claims / limit_claim_s
    orders_rate, limit_orders_rate = args.orders / order_s, args.orders / limit_order_s
    ok = (
        claim_status.count(201) == issued == args.coupons
        and remaining == 0
        and limit_claims == args.coupons
        and order_status.count(201) == placed == reserved == args.stock
        and limit_orders == args.stock
        and set(claim_status) <= {201, 422}
        and set(order_status) <= {201, 422}
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"core pool {args.pool_size}+{args.pool_size} connections, client limit {args.client_limit}"
    )
    print(
        f"{'':28}{'req/s':>9}{'granted':>9}{'stock':>7}{'p50 ms':>9}{'p99 ms':>9}{'limit/s':>10}{'ratio':>8}"
    )
    print(
        f"{'coupon claims (HTTP)':28}{claims_rate:9.0f}{claim_status.count(201):9d}{args.coupons:7d}"
        f"{pct(claim_lat, 50):9.0f}{pct(claim_lat, 99):9.0f}{limit_claims_rate:10.0f}{claims_rate / limit_claims_rate:8.3f}"
    )
    print(
        f"{'orders (HTTP)':28}{orders_rate:9.0f}{order_status.count(201):9d}{args.stock:7d}"
        f"{pct(order_lat, 50):9.0f}{pct(order_lat, 99):9.0f}{limit_orders_rate:10.0f}{orders_rate / limit_orders_rate:8.3f}"
    )
    print(
        f"refusals: claims {sorted(set(claim_status) - {201})}, orders {sorted(set(order_status) - {201})}; "
        f"503 retried with the same key: {claim_retries} claims, {order_retries} orders; "
        f"database: {issued} claims issued, {remaining} coupons left, {placed} orders, {reserved} bottles reserved; "
        f"limit granted {limit_claims} and {limit_orders}"
    )
    print(
        f"core process CPU: {(cpu1 - cpu0) / args.claims * 1000:.1f} ms per claim "
        f"({(cpu1 - cpu0) / claim_s:.0%} of one core), {(cpu2 - cpu1) / args.orders * 1000:.1f} ms per order "
        f"({(cpu2 - cpu1) / order_s:.0%}); load average now {os.getloadavg()[0]:.1f}"
    )
    print("OK: granted == stock everywhere" if ok else "FAILED: granted != stock")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg", default=os.environ.get("JIUBOT_BENCH_PG", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")
    )
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--coupons", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--stock", type=int, default=500)
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--pool-size", type=int, default=10, help="the core's pool (x2 with overflow)")
    parser.add_argument("--client-limit", type=int, default=256, help="simultaneous client connections")
    args = parser.parse_args()
    try:
        import uvloop

        return uvloop.run(run(args))
    except ImportError:
        return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
