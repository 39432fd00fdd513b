"""Console pages end to end on PostgreSQL: each main page's server time against a bare keyset
SELECT of the same page, measured in the same run.

Seeds the data of ``bench/console_scope.py`` (32 regions, 320 distributors, 20,000 stores, 100,000
members, 200,000 redemptions, 20,000 diversion alerts) plus one points account per member and
``--ledger`` ledger rows spread over them (default 1,000,000) and 5,000 audit entries, then serves
the real console (``console_routes()`` in ``create_app``, Redis sessions) on loopback, signs in as
an HQ admin, a region manager (/r7/) and a distributor (/r7/d38/), and GETs each page ``--runs``
times. Server time is taken by a middleware around the whole request (session, operator and actor
resolution, scoped queries, template rendering); the peer is ``SELECT ... WHERE tenant_id = ?
ORDER BY id DESC LIMIT 21`` on members. Also timed: the batch list and a batch (its ranges and
forms), sales regions, a store (owner and staff, live binding codes), apps and settings. The dashboard keeps its numbers a minute per scope, so it
is timed twice: "dashboard (cold)" with that cache emptied before every request, and as served.
Goal (issue 12): every page p95 under 150 ms.

    .venv/bin/python bench/console.py [--runs 20] [--ledger 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from console_scope import PG_DSN, SEED, _url

from bot import keys
from bot.app import create_app
from bot.config import load_settings
from bot.console import accounts
from bot.console.feature import console_routes
from bot.db import session_scope
from bot.membership.models import Member
from bot.wiring import Feature

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "Bench-console-2026"
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')
NEXT = re.compile(r'data-testid="next-page" href="\?[^"]*cursor=([^"&]+)"')

EXTRA_SEED = [
    """insert into points_accounts(tenant_id,kind,member_id,balance,status,created_at,updated_at)
       select 1,'consumption',g,0,'open',now(),now() from generate_series(1,100000) g""",
    # ledger rows: account (g % 100000) + 1, +10 each, keyed by their own source id
    """insert into points_ledger(tenant_id,account_id,origin_account_id,delta,category,source_kind,source_id,
                                 note,created_at)
       select 1,(g%100000)+1,(g%100000)+1,10,'earn','scan','b'||g,'扫码', now() - (g % 5000) * interval '1 minute'
       from generate_series(1,%(ledger)s) g""",
    """update points_accounts a set balance = s.total
       from (select account_id, sum(delta) total from points_ledger group by account_id) s
       where a.id = s.account_id""",
    """insert into console_audit_log(tenant_id,operator_id,operator_username,scope_kind,action,target_kind,
                                     target_id,before,after,ip,user_agent,at)
       select 1,null,'cli','tenant','points.adjust','member',(g%100000+1)::text,'','{}','127.0.0.1','bench',now()
       from generate_series(1,5000) g""",
    "analyze",
]


def _p(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


async def measure(url: str, runs: int) -> list[tuple[str, float, float, float]]:
    settings = load_settings(
        database_url=url, redis_url=REDIS_URL, redis_prefix=f"bench-console-{uuid.uuid4().hex[:6]}:",
        tenant_slug="bench", secret_key="bench-secret-key-0123456789", log_level="WARNING", _env_file=None,
    )  # fmt: skip
    app = create_app(
        settings, routers=[], features=[Feature("console", routes=console_routes())], background=False
    )
    timings: dict[str, list[float]] = {}
    current: list[str] = [""]

    @web.middleware
    async def timer(request, handler):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            if current[0]:
                timings.setdefault(current[0], []).append((time.perf_counter() - started) * 1000)

    app.middlewares.insert(0, timer)
    client = TestClient(TestServer(app))
    await client.start_server()
    services = app[keys.SERVICES]
    async with session_scope(services.sessions) as session:
        for name, role, kind, core_id in (
            ("hq", "hq_admin", "tenant", None),
            ("region", "region_manager", "region", 7),
            ("distributor", "distributor", "distributor", 38),
        ):
            await accounts.create(
                session,
                1,
                username=name,
                password=PASSWORD,
                role=role,
                scope_kind=kind,
                scope_core_id=core_id,
            )
        bare_samples = []
        for i in range(runs + 3):
            started = time.perf_counter()
            await session.execute(
                select(Member).where(Member.tenant_id == 1).order_by(Member.id.desc()).limit(21)
            )
            if i >= 3:
                bare_samples.append((time.perf_counter() - started) * 1000)
    peer = _p(bare_samples)
    dash_keys = services.keys("console", "dashboard", "*")
    rows = []
    try:
        for who in ("hq", "region", "distributor"):
            client.session.cookie_jar.clear()
            page = await (await client.get("/console/login")).text()
            signed = await client.post(
                "/console/login",
                data={"_csrf": CSRF.search(page).group(1), "username": who, "password": PASSWORD},
                allow_redirects=False,
            )
            assert signed.status == 303, (who, signed.status)
            listing = await (await client.get("/console/members")).text()
            first_member = re.search(r'href="/console/members/(\d+)"', listing)
            cursor = NEXT.search(listing)
            batch = re.search(
                r'href="/console/codes/batches/(\d+)"', await (await client.get("/console/codes")).text()
            )
            store = re.search(
                r'href="/console/stores/(\d+)"', await (await client.get("/console/stores")).text()
            )
            pages = {
                "dashboard (cold)": "/console/",
                "dashboard": "/console/",
                "members p1": "/console/members",
                "members p2": f"/console/members?cursor={cursor.group(1)}" if cursor else "/console/members",
                "members tail": "/console/members?q=0007",
                "member profile": f"/console/members/{first_member.group(1)}" if first_member else None,
                "alerts": "/console/alerts",
                "stores": "/console/stores",
                "audit": "/console/audit" if who != "distributor" else None,
                "operators": "/console/operators" if who != "distributor" else None,
                "batches": "/console/codes",
                "batch": f"/console/codes/batches/{batch.group(1)}" if batch else None,
                "sales regions": "/console/codes/regions",
                "store": f"/console/stores/{store.group(1)}" if store else None,
                "apps": "/console/apps" if who == "hq" else None,
                "settings": "/console/settings" if who != "distributor" else None,
            }
            for name, path in pages.items():
                if path is None:
                    continue
                label = f"{who:<12}{name}"
                for i in range(runs + 3):
                    current[0] = label if i >= 3 else ""
                    if name == "dashboard (cold)":  # computed afresh (the page keeps it a minute)
                        async for stale in services.redis.scan_iter(match=dash_keys):
                            await services.redis.delete(stale)
                    resp = await client.get(path)
                    assert resp.status == 200, (label, resp.status)
                    await resp.read()
                current[0] = ""
                p50, p95 = _p(timings[label])
                rows.append((label, p50, p95, p95 / peer[1]))
    finally:
        await client.close()
    rows.append((f"{'peer':<12}bare members page", peer[0], peer[1], 1.0))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--ledger", type=int, default=1_000_000)
    args = parser.parse_args()
    name = f"bench_console_pages_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        from bot.migrate import upgrade

        upgrade(_url(name))
        started = time.perf_counter()
        with psycopg.connect(PG_DSN.rsplit("/", 1)[0] + "/" + name) as conn:
            for statement in SEED[:-1] + EXTRA_SEED:
                conn.execute(statement.replace("%(ledger)s", str(int(args.ledger))))
        print(f"seeded in {time.perf_counter() - started:.1f}s (ledger rows: {args.ledger:,})")
        print("page                              p50 ms  p95 ms  p95 / peer p95")
        for label, p50, p95, ratio in asyncio.run(measure(_url(name), args.runs)):
            flag = "" if p95 < 150 or label.startswith("peer") else "  > 150 ms"
            print(f"{label:<32}{p50:8.1f}{p95:8.1f}{ratio:8.1f}x{flag}")
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
