"""Flash-sale rush: purchases/s and p99 for --buyers store owners on --units bottles, through
jiubot, against the core's own order create at the same concurrency in the same run.

One process runs the reference core (PostgreSQL, seeded with --stores stores) on a port and
jiubot (PostgreSQL, Redis) in-process over HTTP, as the tests do. Two flash sales of --units
bottles each:

  core    every buyer's store calls the core's POST /v1/orders directly (one bottle, its own
          Idempotency-Key), all at once
  jiubot  the same rush through jiubot (tests/campaigns/rush.py): half in chat with each message
          delivered three times at once, half in the mini-program with each button pressed twice

Printed: per path, the wall time, purchases/s (buyers answered per second), p50/p99 of the
answer, orders created (must equal --units) and sold-out answers, and the ratios jiubot/core
(goal: <= 1.5x).

    .venv/bin/python bench/flash_sale.py [--buyers 1000] [--units 100] [--stores 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DSN = os.environ.get("JIUBOT_BENCH_PG_DSN", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")
REDIS_URL = os.environ.get("JIUBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(sql)


def _url(name: str) -> str:
    return f"{PG_DSN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{name}"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _core_rush(api, stores, sku: str, units: int, buyers: int) -> dict:
    from backend_client import CoreError, LineRequest, PromotionUnavailable

    now = datetime.now(UTC)
    promo = await api.promotions.create(
        {
            "kind": "flash_sale",
            "name": "core rush",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "rules": {"sku": sku, "price_fen": 100},
            "stock": units,
            "per_store_limit": 2,
        }
    )
    latencies: list[float] = []
    outcome = {"won": 0, "sold_out": 0, "other": 0}
    reasons: dict[str, int] = {}

    async def one(i: int) -> None:
        store = stores[i % len(stores)]
        start = time.perf_counter()
        try:
            await api.orders.create(
                store.id,
                [LineRequest(sku=sku, bottles=1, promotion_id=promo.id)],
                idempotency_key=f"bench-{uuid.uuid4()}",
            )
            outcome["won"] += 1
        except PromotionUnavailable as exc:
            outcome["sold_out" if exc.reason == "sold_out" else "other"] += 1
            if exc.reason != "sold_out":
                reasons[exc.reason] = reasons.get(exc.reason, 0) + 1
        except CoreError as exc:
            outcome["other"] += 1
            reasons[type(exc).__name__] = reasons.get(type(exc).__name__, 0) + 1
        latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(buyers)))
    if reasons:
        print("core refusals other than sold out:", reasons)
    return {"seconds": time.perf_counter() - start, "latencies": latencies, **outcome}


async def main(args: argparse.Namespace) -> int:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import create_app
    from bot.config import load_settings
    from bot.handlers import notifications
    from bot.migrate import upgrade
    from bot.observability import configure_logging
    from bot.ports import RecordingPushNotifier
    from bot.wiring.features import CORE, ORDERING, REGIONAL
    from reference_core.seed import seed_core
    from tests.campaigns.conftest import Shop
    from tests.campaigns.rush import SOLD_OUT, WON, rush
    from tests.conftest import OA_APPID, OA_TOKEN
    from tests.ordering_flows.conftest import CORE_KEY, start_core

    configure_logging("WARNING", "console", secret_key="bench-secret-key-0123456789")
    run = uuid.uuid4().hex[:8]
    bot_db, core_db = f"jb_flash_{run}", f"jc_flash_{run}"
    for name in (bot_db, core_db):
        _admin(f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(upgrade, _url(bot_db))  # alembic runs its own event loop
        await seed_core(
            _url(core_db), tenant="demo", api_key=CORE_KEY, stores=args.stores, orders_per_store=0
        )
        core = await start_core(_url(core_db), tick=0.5)
        settings = load_settings(
            _env_file=None,
            database_url=_url(bot_db),
            redis_url=REDIS_URL,
            redis_prefix=f"bench:{run}:",
            oa_appid=OA_APPID,
            oa_token=OA_TOKEN,
            oa_mode="plain",
            secret_key="bench-secret-key-0123456789",
            core_url=core.url,
            core_api_key=CORE_KEY,
            core_timeout_seconds=30,
            log_level="WARNING",
            log_format="console",
        )
        notifier = RecordingPushNotifier()
        app = create_app(
            settings,
            notifier=notifier,
            routers=[notifications.router],
            features=[CORE, REGIONAL, ORDERING],
            background=False,
        )
        client = TestClient(TestServer(app))
        await client.start_server()
        shop = Shop(client, app, core, notifier)
        from bot.wiring.core import make_client

        shop.api = make_client(shop.http, settings)  # the client jiubot uses, with its timeouts
        try:
            stores, cursor = [], None
            while len(stores) < args.stores:
                page = await shop.api.org.stores(limit=50, cursor=cursor)
                stores += list(page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
            prices = await shop.api.catalog.prices(stores[0].id)
            sku = max((p for p in prices if p.min_order_bottles <= 1), key=lambda p: p.bottle_price_fen).sku
            for warehouse in await shop.api.catalog.warehouses():
                await shop.api.admin.set_stock(warehouse.id, sku, 100_000)
            buyers = await shop.buyers(args.buyers, stores)
            # the core's own order create: a plain client (no retries, no breaker) over a pool of
            # 100 connections, as jiubot's core session has
            from backend_client import CircuitBreaker, CoreClient, RetryPolicy, Timeouts

            direct = CoreClient(
                shop.http,
                core.url,
                CORE_KEY,
                timeouts=Timeouts(connect=60, total=60),
                retry=RetryPolicy(attempts=1),
                breaker=CircuitBreaker(failure_threshold=10**9),
            )
            core_run = await _core_rush(direct, stores, sku, args.units, args.buyers)
            promo = await shop.promotion(
                "flash_sale", {"sku": sku, "price_fen": 100}, stock=args.units, per_store_limit=2
            )
            jb = await rush(shop, buyers, promo, tag=run)
        finally:
            await shop.close()
            await client.close()
            await core.runner.cleanup()
    finally:
        for name in (bot_db, core_db):
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def line(name: str, seconds: float, lat: list[float], won: int, sold: int, other: int) -> None:
        print(
            f"{name:7s} {seconds:6.2f}s  {len(lat) / seconds:7.1f} purchases/s  p50 {_pct(lat, 0.5) * 1000:7.0f} ms"
            f"  p99 {_pct(lat, 0.99) * 1000:7.0f} ms  orders {won}  sold out {sold}  other {other}"
        )

    print(
        f"flash sale: {args.buyers} buyers on {args.units} units, {args.stores} stores, {datetime.now(UTC):%Y-%m-%d}"
    )
    line(
        "core",
        core_run["seconds"],
        core_run["latencies"],
        core_run["won"],
        core_run["sold_out"],
        core_run["other"],
    )
    others = args.buyers - jb.count(WON) - jb.count(SOLD_OUT)
    line("jiubot", jb.seconds, jb.latencies, jb.count(WON), jb.count(SOLD_OUT), others)
    ratio_rate = (len(core_run["latencies"]) / core_run["seconds"]) / (len(jb.latencies) / jb.seconds)
    ratio_p99 = _pct(jb.latencies, 0.99) / max(_pct(core_run["latencies"], 0.99), 1e-9)
    print(f"ratios jiubot/core: wall time {ratio_rate:.2f}x, p99 {ratio_p99:.2f}x (goal <= 1.5x)")
    ok = jb.count(WON) == args.units and core_run["won"] == args.units and others == 0
    print("orders exactly the units:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=1000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--stores", type=int, default=500)
    sys.exit(asyncio.run(main(parser.parse_args())))
