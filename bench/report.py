"""The weekly report at volume: --events behaviour events (default 10 million, of which --scans
are scan events) and --scans bottle scans (default 1 million) over --days days, on PostgreSQL.

Seeding goes straight into the raw tables with ``INSERT ... SELECT FROM generate_series`` in
chunks (stores, members, a code batch per SKU, ``code_redemptions``, placed order intents and
``analytics_events`` with its production indexes and monthly partitions), then ANALYZE. Then,
timed, each against a limit measured in the same run:

  rollup    the rollup job as production runs it (``rollup_day``, one call per day) for the
            report's week and the week before, against a bare ``SELECT count(*)`` of the same
            raw rows (the least any rollup must read)
  report    ``weekly_figures`` for the tenant and for one region (this week and last, every
            figure), against a bare ``SELECT name, sum(events) ... GROUP BY name`` over the
            week's rollups; and the whole report made (figures, HTML with charts, PDF)

    .venv/bin/python bench/report.py [--events 10000000] [--scans 1000000] [--days 90]
                                     [--members 200000] [--stores 2000] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

PG_DSN = os.environ.get("JIUBOT_BENCH_PG_DSN", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")
CHUNK = 1_000_000
SKUS = 20
REGIONS = ("EAST", "WEST", "SOUTH", "NORTH", "CENTRAL")
BEHAVIOUR = ("product_view", "product_view", "page_view", "add_to_cart", "quote", "content_view", "chat_turn")


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def _seed(sync_dsn: str, args: argparse.Namespace, end: datetime) -> dict[str, int]:
    import psycopg

    start = end - timedelta(days=args.days)
    span = args.days * 86400
    names = "ARRAY[" + ",".join(f"'{n}'" for n in BEHAVIOUR) + "]"
    regions = "ARRAY[" + ",".join(f"'{r}'" for r in REGIONS) + "]"
    with psycopg.connect(sync_dsn, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        tenant = conn.execute(
            "INSERT INTO tenants (slug, name, created_at) VALUES ('bench', '压测品牌', now()) RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        values = {
            "%(t)s": str(tenant),
            "%(start)s": f"'{start.isoformat()}'::timestamptz",
            "%(span)s": str(span),
        }

        def run(sql: str) -> Any:
            # values are inlined (integers and a timestamp made here): SQL's % stays an operator
            for name, value in values.items():
                sql = sql.replace(name, value)
            return conn.execute(sql)  # type: ignore[call-overload]

        run(
            f"INSERT INTO stores (tenant_id, code, name, region_code, distributor_code, created_at) "
            f"SELECT %(t)s, 'S' || g, '门店' || g, ({regions})[1 + g % {len(REGIONS)}], 'D' || (g % 40), now() "
            f"FROM generate_series(0::bigint + 1, {args.stores}) g"
        )
        first_store = run("SELECT min(id) FROM stores WHERE tenant_id = %(t)s").fetchone()[0]  # type: ignore[index]
        run(
            "INSERT INTO members (tenant_id, role, status, created_at, last_seen_at, store_id, region_code, "
            "tier, push_opt_out) "
            f"SELECT %(t)s, 'consumer', 'active', %(start)s + (g % %(span)s) * interval '1 second', now(), "
            f"{first_store} + g % {args.stores}, ({regions})[1 + g % {len(REGIONS)}], 'basic', false "
            f"FROM generate_series(0::bigint + 1, {args.members}) g"
        )
        first_member = run("SELECT min(id) FROM members WHERE tenant_id = %(t)s").fetchone()[0]  # type: ignore[index]
        per_batch = -(-args.scans // SKUS)
        run(
            "INSERT INTO code_batches (tenant_id, brand, sku, product_name, size, key_version, note, created_at) "
            f"SELECT %(t)s, '黔酒', 'SKU-' || g, '单品' || g, {per_batch}, 1, '', now() "
            f"FROM generate_series(0::bigint + 0, {SKUS - 1}) g"
        )
        first_batch = run("SELECT min(id) FROM code_batches WHERE tenant_id = %(t)s").fetchone()[0]  # type: ignore[index]
        _say(f"tenant, {args.stores:,} stores, {args.members:,} members, {SKUS} code batches")
        # scans: bottle g is serial g / SKUS of batch g % SKUS, scanned at a spread moment
        for lo in range(0, args.scans, CHUNK):
            hi = min(args.scans, lo + CHUNK)
            run(
                "INSERT INTO code_redemptions (tenant_id, batch_id, serial, member_id, channel, scanned_at, "
                "points, store_code, store_reward, region_code, diverted, repeat_count) "
                f"SELECT %(t)s, {first_batch} + g % {SKUS}, 1 + g / {SKUS}, "
                f"{first_member} + (g * 7919) % {args.members}, 'mp', "
                "%(start)s + ((g * 104729) % %(span)s) * interval '1 second', 10, "
                f"'S' || (1 + g % {args.stores}), 0, ({regions})[1 + (1 + g % {args.stores}) % {len(REGIONS)}], "
                f"false, 0 FROM generate_series(0::bigint + {lo}, {hi - 1}) g"
            )
        _say(f"{args.scans:,} scans")
        orders = max(1, args.scans // 20)
        run(
            "INSERT INTO ordering_order_intents (tenant_id, member_id, appid, openid, channel, core_store_id, "
            "idempotency_key, body, status, notify, attempts, next_attempt_at, order_number, total_fen, "
            "error_code, error_detail, created_at, updated_at) "
            f"SELECT %(t)s, {first_member} + (g * 31) % {args.members}, '', '', "
            "CASE WHEN g % 3 = 0 THEN 'chat' ELSE 'mp' END, 1 + g % 500, 'k' || g, '{}', 'placed', false, 1, "
            "now(), 'N' || g, 50000 + g % 100000, '', '', "
            "%(start)s + ((g * 7) % %(span)s) * interval '1 second', now() "
            f"FROM generate_series(0::bigint + 1, {orders}) g"
        )
        _say(f"{orders:,} placed orders")
        # behaviour events; the last --scans of them are the scans' server events
        behaviour = args.events - args.scans
        for lo in range(0, args.events, CHUNK):
            hi = min(args.events, lo + CHUNK)
            run(
                "INSERT INTO analytics_events (tenant_id, event_id, occurred_at, name, source, member_id, "
                "store_id, region_code, distributor_code, tier, sku, quantity, amount_fen, dwell_ms, props, "
                "received_at) "
                f"SELECT %(t)s, 'b:' || g, %(start)s + ((g * 104729) % %(span)s) * interval '1 second', "
                f"CASE WHEN g >= {behaviour} THEN 'scan' ELSE ({names})[1 + g % {len(BEHAVIOUR)}] END, "
                "'mp', "
                f"{first_member} + (g * 7919) % {args.members}, {first_store} + g % {args.stores}, "
                f"({regions})[1 + (1 + g % {args.stores}) % {len(REGIONS)}], 'D' || ((1 + g % {args.stores}) % 40), "
                f"'basic', 'SKU-' || (g % {SKUS}), 1, 0, (g % 60000), '{{}}', now() "
                f"FROM generate_series(0::bigint + {lo}, {hi - 1}) g"
            )
            _say(f"events {hi:,} / {args.events:,}")
        run("ANALYZE")
    return {"tenant": tenant}


async def _measure(db_url: str, tenant: int, week: str) -> dict[str, float]:
    from sqlalchemy import text

    from bot.analytics import archive
    from bot.analytics.report import Scope, week_bounds, weekly_figures
    from bot.analytics.rollups import rollup_day
    from bot.analytics.sellthrough import week_start
    from bot.analytics.week_counts import previous_week
    from bot.db import create_engine, session_factory, session_scope

    engine = create_engine(db_url)
    sessions = session_factory(engine)
    out: dict[str, float] = {}
    try:
        first = week_start(previous_week(week))
        a, b = week_bounds(previous_week(week))[0], week_bounds(week)[1]
        started = time.perf_counter()
        async with session_scope(sessions) as session:
            raw = int(
                (
                    await session.execute(
                        text(
                            "SELECT count(*) FROM analytics_events WHERE occurred_at >= :a AND occurred_at < :b"
                        ),
                        {"a": a, "b": b},
                    )
                ).scalar_one()
            )
        out["raw_count"] = time.perf_counter() - started
        out["raw_rows"] = raw
        started = time.perf_counter()
        async with session_scope(sessions) as session:
            await session.execute(
                text(
                    "SELECT tenant_id, name, region_code, distributor_code, coalesce(store_id, 0), sku, "
                    "count(*), count(DISTINCT member_id), sum(quantity), sum(amount_fen), sum(dwell_ms) "
                    "FROM analytics_events WHERE occurred_at >= :a AND occurred_at < :b "
                    "GROUP BY 1, 2, 3, 4, 5, 6"
                ),
                {"a": a, "b": b},
            )
        out["raw_group"] = time.perf_counter() - started
        started = time.perf_counter()
        for k in range(14):  # the job's call, per day, for the report's week and the one before
            await rollup_day(sessions, first + timedelta(days=k))
        out["rollup"] = time.perf_counter() - started
        async with session_scope(sessions) as session:
            out["rollup_rows"] = int(
                (await session.execute(text("SELECT count(*) FROM analytics_daily"))).scalar_one()
            )
        start, end = week_start(week), week_start(week) + timedelta(days=7)
        started = time.perf_counter()
        async with session_scope(sessions) as session:
            await session.execute(
                text(
                    "SELECT name, sum(events) FROM analytics_daily WHERE tenant_id = :t AND day >= :a "
                    "AND day < :b GROUP BY name"
                ),
                {"t": tenant, "a": start, "b": end},
            )
        out["bare_rollup_select"] = time.perf_counter() - started
        for label, scope in (("tenant", Scope()), ("region", Scope("region", REGIONS[0]))):
            started = time.perf_counter()
            async with session_scope(sessions) as session:
                figures = await weekly_figures(session, tenant, week, scope)
            out[f"figures_{label}"] = time.perf_counter() - started
            out[f"scans_{label}"] = figures.get("scans").value or 0
            out[f"views_{label}"] = figures.get("product_views").value or 0
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            await archive.make_report(
                sessions, tenant, week, Scope(), archive=Path(folder), now=datetime.now(UTC)
            )
            out["make_report"] = time.perf_counter() - started
    finally:
        await engine.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--scans", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--stores", type=int, default=2_000)
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    args = parser.parse_args()
    if args.scans > args.events:
        parser.error("--scans are part of --events")

    import psycopg
    from sqlalchemy import create_engine as sync_engine

    from bot.analytics import partitions
    from bot.analytics.rollups import local_day
    from bot.analytics.sellthrough import week_of
    from bot.migrate import upgrade

    name = f"bench_report_{os.getpid()}"
    base = PG_DSN.rsplit("/", 1)[0]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    sync_dsn = f"{base}/{name}"
    db_url = f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    # the report's week: the last full week before now; events end at the start of today
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    week = week_of(local_day(end) - timedelta(days=7))
    try:
        upgrade(db_url)
        engine = sync_engine(db_url)
        with engine.begin() as connection:
            first = date(end.year, end.month, 1) - timedelta(days=args.days + 31)
            partitions.ensure_months(connection, first.replace(day=1), args.days // 28 + 4)
        engine.dispose()
        started = time.perf_counter()
        seeded = _seed(sync_dsn, args, end)
        seeding = time.perf_counter() - started
        out = asyncio.run(_measure(db_url, seeded["tenant"], week))
    finally:
        if not args.keep:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")

    print(
        f"seeded                     {args.events:,} events ({args.scans:,} of them scans) and "
        f"{args.scans:,} bottle scans over {args.days} days in {seeding:.0f} s"
    )
    print(
        f"week                       {week} (rollup: it and the week before, {out['raw_rows']:,.0f} raw events)"
    )
    print(f"raw COUNT of the 14 days   {out['raw_count']:.2f} s   (the limit for the rollup)")
    print(
        f"rollup job, 14 days        {out['rollup']:.2f} s   ratio {out['rollup'] / out['raw_count']:.1f}x "
        f"the raw COUNT; {out['rollup_rows']:,.0f} rollup rows"
    )
    print(
        f"raw GROUP BY, 14 days      {out['raw_group']:.2f} s   (the rollup's SELECT alone, nothing written); "
        f"rollup {out['rollup'] / out['raw_group']:.1f}x it"
    )
    print(f"bare SELECT over rollups   {out['bare_rollup_select'] * 1000:.1f} ms (the limit for the report)")
    for label in ("tenant", "region"):
        print(
            f"report figures, {label:<10} {out[f'figures_{label}']:.2f} s   ratio "
            f"{out[f'figures_{label}'] / out['bare_rollup_select']:.0f}x the bare SELECT; "
            f"{out[f'scans_{label}']:,.0f} scans, {out[f'views_{label}']:,.0f} views that week"
        )
    print(f"report made (HTML + PDF)   {out['make_report']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
