"""Behaviour events end to end against a bare batched INSERT, a 90-day funnel, and the weekly
report over rollups.

One run, on PostgreSQL and a real Redis:
  e2e       jiubot (create_app + the analytics feature, its stream writer inside) in its own
            process on loopback; clients POST /mp/api/events in batches of 100 (schema check,
            session, XADD); timed until every event is a row in analytics_events
  bare      the same number of rows inserted with psycopg executemany in batches of 500 straight
            into analytics_events (the peer: what the database takes without jiubot in between)
  funnel    --days of events for --members members (view -> cart -> quote -> order with drop-off),
            then view -> cart -> quote -> order over all the days with a 7-day window, 20 runs, p95
  report    the days rolled up (per day), then the weekly report's figures from the rollups

    .venv/bin/python bench/events.py [--events 50000] [--clients 20] [--days 90] [--members 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import statistics
import time
from datetime import UTC, datetime, timedelta

PG_DSN = os.environ.get("JIUBOT_BENCH_PG_DSN", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")
REDIS_URL = os.environ.get("JIUBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-key-0123456789abcdef"
MP_APPID = "wxbenchmp0000001"
BATCH = 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env: dict[str, str], port: int) -> None:
    os.environ.update(env)
    from aiohttp import web

    from bot.app import create_app
    from bot.config import load_settings
    from bot.observability import configure_logging
    from bot.wiring.features import ANALYTICS

    settings = load_settings(_env_file=None)
    configure_logging("ERROR", "console", secret_key=settings.secret_key)
    app = create_app(settings, features=[ANALYTICS], background=False)
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=loop)


async def _members(db_url: str, count: int) -> tuple[int, list[int]]:
    from bot.db import create_engine, session_factory, session_scope
    from bot.membership import actions
    from bot.tenancy.repository import get_or_create_tenant

    engine = create_engine(db_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            tenant = (await get_or_create_tenant(session, "default", "默认品牌")).id
            ids = [await actions.ensure_member(session, tenant, MP_APPID, f"bench-{i}") for i in range(count)]
    finally:
        await engine.dispose()
    return tenant, ids


def _count(sync_dsn: str, where: str = "") -> int:
    import psycopg

    with psycopg.connect(sync_dsn) as conn:
        return conn.execute(f"SELECT count(*) FROM analytics_events {where}").fetchone()[0]  # type: ignore[index]


async def _e2e(port: int, tokens: list[str], events: int, clients: int, sync_dsn: str) -> float:
    import aiohttp

    now_ms = int(time.time() * 1000)
    batches = [
        [
            {
                "id": f"e2e-{b:06d}-{i:03d}",
                "name": "product_view",
                "ts": now_ms - i,
                "sku": f"SKU-{i % 20}",
                "dwell_ms": 900,
            }
            for i in range(BATCH)
        ]
        for b in range(events // BATCH)
    ]
    queue: asyncio.Queue[tuple[int, list[dict]]] = asyncio.Queue()
    for n, batch in enumerate(batches):
        queue.put_nowait((n, batch))
    url = f"http://127.0.0.1:{port}/mp/api/events"
    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:

        async def client() -> None:
            while not queue.empty():
                n, batch = queue.get_nowait()
                headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
                async with http.post(url, json={"events": batch}, headers=headers) as resp:
                    assert resp.status == 200, await resp.text()

        await asyncio.gather(*(client() for _ in range(clients)))
    while await asyncio.to_thread(_count, sync_dsn, "WHERE event_id LIKE 'mp:%'") < events:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


def _bare(sync_dsn: str, tenant: int, events: int) -> float:
    import psycopg

    now = datetime.now(UTC)
    rows = [
        (
            tenant,
            f"bare-{n}",
            now - timedelta(milliseconds=n),
            "product_view",
            "mp",
            n % 1000 + 1,
            None,
            "",
            "",
            "",
            f"SKU-{n % 20}",
            0,
            0,
            900,
            "{}",
            now,
        )
        for n in range(events)
    ]
    sql = (
        "INSERT INTO analytics_events (tenant_id, event_id, occurred_at, name, source, member_id, store_id, "
        "region_code, distributor_code, tier, sku, quantity, amount_fen, dwell_ms, props, received_at) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING"
    )
    started = time.perf_counter()
    with psycopg.connect(sync_dsn) as conn:
        for start in range(0, len(rows), 500):
            with conn.cursor() as cur:
                cur.executemany(sql, rows[start : start + 500])
            conn.commit()
    return time.perf_counter() - started


def _seed_history(sync_dsn: str, tenant: int, members: list[int], days: int, end: datetime) -> int:
    """A member's visit: view (always), cart (40%), quote (50% of those), order (60% of those)."""
    import psycopg

    rng = random.Random(7)
    regions = ["EAST", "WEST", "SOUTH", "NORTH"]
    rows = []
    n = 0
    for day in range(days):
        base = end - timedelta(days=days - day)
        for member in rng.sample(members, k=max(1, len(members) // 3)):
            when = base + timedelta(minutes=rng.randrange(0, 1440))
            sku = f"SKU-{rng.randrange(20)}"
            region = regions[member % 4]
            steps = ["product_view", "product_view"]
            if rng.random() < 0.4:
                steps.append("add_to_cart")
                if rng.random() < 0.5:
                    steps.append("quote")
                    if rng.random() < 0.6:
                        steps += ["order", "order_line", "scan"]
            for k, name in enumerate(steps):
                n += 1
                rows.append(
                    (
                        tenant,
                        f"h-{n}",
                        when + timedelta(minutes=7 * k),
                        name,
                        "server",
                        member,
                        member % 50 + 1,
                        region,
                        f"D{member % 10}",
                        "",
                        "" if name in ("order", "quote") else sku,
                        6 if name == "order_line" else 1,
                        50_000 if name == "order" else 0,
                        rng.randrange(100, 60_000) if name == "product_view" else 0,
                        "{}",
                        when,
                    )
                )
    sql = (
        "INSERT INTO analytics_events (tenant_id, event_id, occurred_at, name, source, member_id, store_id, "
        "region_code, distributor_code, tier, sku, quantity, amount_fen, dwell_ms, props, received_at) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING"
    )
    with psycopg.connect(sync_dsn) as conn:
        for start in range(0, len(rows), 2000):
            with conn.cursor() as cur:
                cur.executemany(sql, rows[start : start + 2000])
            conn.commit()
        conn.execute("ANALYZE analytics_events")
        conn.commit()
    return len(rows)


async def _funnel_and_report(db_url: str, tenant: int, days: int, end: datetime) -> dict[str, float]:
    from bot.analytics.funnels import funnel
    from bot.analytics.report import weekly_figures
    from bot.analytics.rollups import local_day, rollup_day
    from bot.analytics.sellthrough import week_of
    from bot.db import create_engine, session_factory, session_scope

    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            async with session_scope(sessions) as session:
                result = await funnel(
                    session, tenant, start=end - timedelta(days=days), end=end, window=timedelta(days=7)
                )
            timings.append(time.perf_counter() - started)
        steps = [s.members for s in result.steps]
        first = local_day(end - timedelta(days=days))
        rolled = []
        for k in range(days + 1):
            started = time.perf_counter()
            await rollup_day(sessions, first + timedelta(days=k))
            rolled.append(time.perf_counter() - started)
        week = week_of(local_day(end) - timedelta(days=7))
        started = time.perf_counter()
        async with session_scope(sessions) as session:
            figures = await weekly_figures(session, tenant, week)
        report = time.perf_counter() - started
    finally:
        await engine.dispose()
    ordered = sorted(timings)
    return {
        "funnel_p50": statistics.median(timings),
        "funnel_p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "funnel_steps": steps,  # type: ignore[dict-item]
        "rollup_day_mean": statistics.mean(rolled),
        "rollup_total": sum(rolled),
        "report": report,
        "report_views": figures.get("product_views").value or 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--members", type=int, default=3000)
    args = parser.parse_args()

    import psycopg

    from bot.migrate import upgrade
    from bot.miniapp.session import MpSession, SessionSigner

    name = f"bench_events_{os.getpid()}"
    base = PG_DSN.rsplit("/", 1)[0]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    sync_dsn = f"{base}/{name}"
    db_url = f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    prefix = f"bench:{os.getpid()}:"
    env = {
        "JIUBOT_DATABASE_URL": db_url,
        "JIUBOT_REDIS_URL": REDIS_URL,
        "JIUBOT_REDIS_PREFIX": prefix,
        "JIUBOT_SECRET_KEY": SECRET,
        "JIUBOT_LOG_LEVEL": "ERROR",
        "JIUBOT_LOG_FORMAT": "console",
    }
    server = None
    try:
        upgrade(db_url)
        tenant, members = asyncio.run(_members(db_url, args.members))
        signer = SessionSigner(SECRET, 86400)
        tokens = [
            signer.issue(MpSession(m, tenant, MP_APPID, f"bench-{i}")).token
            for i, m in enumerate(members[:200])
        ]
        port = _free_port()
        server = multiprocessing.get_context("spawn").Process(target=_serve, args=(env, port), daemon=True)
        server.start()
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        e2e = asyncio.run(_e2e(port, tokens, args.events, args.clients, sync_dsn))
        server.terminate()
        server.join(10)
        server = None
        bare = _bare(sync_dsn, tenant, args.events)
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        history = _seed_history(sync_dsn, tenant, members, args.days, end)
        total = _count(sync_dsn)
        results = asyncio.run(_funnel_and_report(db_url, tenant, args.days, end))
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

    e2e_rate, bare_rate = args.events / e2e, args.events / bare
    print(f"events                     {args.events:,} in batches of {BATCH} by {args.clients} clients")
    print(f"end to end (HTTP -> row)   {e2e_rate:,.0f} events/s ({e2e:.1f} s)")
    print(f"bare batched INSERT        {bare_rate:,.0f} events/s ({bare:.1f} s)")
    print(f"ratio                      {e2e_rate / bare_rate:.2f}  (goal >= 0.5 and >= 2,000 events/s)")
    print(
        f"history                    {history:,} events over {args.days} days, {len(members):,} members; {total:,} rows"
    )
    print(
        f"funnel 90 days p50 / p95   {results['funnel_p50']:.2f} s / {results['funnel_p95']:.2f} s  (goal p95 < 3 s)"
    )
    print(f"funnel steps               {results['funnel_steps']}")
    print(
        f"rollup per day (mean)      {results['rollup_day_mean'] * 1000:.0f} ms; all {args.days + 1} days {results['rollup_total']:.1f} s"
    )
    print(
        f"weekly report figures      {results['report']:.2f} s (from rollups; {results['report_views']:.0f} views that week)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
