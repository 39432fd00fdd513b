"""Scoped console lists on PostgreSQL against a bare keyset SELECT of the same page.

Seeds one tenant in a fresh database: 32 regions, 320 distributors, 20,000 stores (org mirror and
jiubot's ``stores``), 100,000 members (2% store owners bound to a store, the rest consumers), 32
code batches (one per region), 200,000 redemptions whose serials lie in ranges activated to stores
of the batch's region (1,000 serials a range), and 20,000 diversion alerts. Then times, server
side through the scoped repository (``bot.console.repository*``), each page for an HQ admin, a
region manager and a distributor:

  members      first page, fifth page (by cursor), phone-tail search
  stores       first page
  alerts       first page

against the peer: the same page as a bare keyset SELECT with no scope (``WHERE tenant_id = ?
ORDER BY id DESC LIMIT 21``). Runs twice: with the server's JIT as configured, and with
``jit = off`` on the connection (PostgreSQL's JIT compiles these plans for seconds: their cost
estimates pass ``jit_above_cost``).

    .venv/bin/python bench/console_scope.py [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.console import repository, repository_codes
from bot.console.org_models import OrgNode
from bot.console.policy import Actor, Scope
from bot.console.repository import MemberQuery, StoreQuery
from bot.db import session_factory, session_scope
from bot.membership.models import DiversionAlert, Member
from bot.migrate import upgrade

PG_DSN = os.environ.get("JIUBOT_BENCH_PG_DSN", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")

SEED = [
    "insert into tenants(slug,name,created_at) values('bench','bench',now())",
    """insert into console_org_nodes(tenant_id,kind,core_id,code,name,path,city,status,active,synced_at)
       select 1,'region',g,'R'||g,'区'||g,'/r'||g||'/','','active',true,now() from generate_series(1,32) g""",
    """insert into console_org_nodes(tenant_id,kind,core_id,code,name,path,city,status,active,synced_at)
       select 1,'distributor',g,'D'||g,'经销'||g,'/r'||(g%32+1)||'/d'||g||'/','','active',true,now()
       from generate_series(1,320) g""",
    # store g belongs to distributor g%320 (0 -> 320), whose region is (d%32)+1
    """insert into console_org_nodes(tenant_id,kind,core_id,code,name,path,city,status,active,synced_at)
       select 1,'store',g,'S'||g,'门店'||g,
              '/r'||((coalesce(nullif(g%320,0),320))%32+1)||'/d'||coalesce(nullif(g%320,0),320)||'/s'||g||'/',
              '','active',true,now()
       from generate_series(1,20000) g""",
    "insert into stores(tenant_id,code,name,created_at) select 1,'S'||g,'门店'||g,now() from generate_series(1,20000) g",
    """insert into members(tenant_id,role,phone,status,created_at,last_seen_at,tier,push_opt_out,store_id)
       select 1, case when g%50=0 then 'store_owner' else 'consumer' end, '138'||lpad(g::text,8,'0'),
              'active', now(), now(), 'basic', false, case when g%50=0 then (g/50)%20000+1 else null end
       from generate_series(1,100000) g""",
    """insert into code_batches(tenant_id,brand,sku,product_name,region_code,size,key_version,note,created_at)
       select 1,'酱香','JX-500','酱香典藏','R'||g,1000000,1,'',now() from generate_series(1,32) g""",
    # redemption g: batch (g%32)+1 (region r = batch), serial g; the store of its 1,000-serial range
    # is one of region r's stores: core id 32*k + r - 1 has region ((32k+r-1)%320%32)+1 = r
    """insert into code_redemptions(tenant_id,batch_id,serial,member_id,channel,scanned_at,points,store_reward,
                                    region_code,store_code,diverted,repeat_count)
       select 1, (g%32)+1, g, (g%100000)+1, 'mp', now(), 10, 0, 'R'||((g%32)+1),
              'S'||(32*(((g-1)/1000)%620+1)+(g%32)), false, 0
       from generate_series(1,200000) g""",
    """insert into code_ranges(tenant_id,batch_id,first_serial,last_serial,action,store_code,note,created_at)
       select distinct 1, batch_id, ((serial-1)/1000)*1000+1, ((serial-1)/1000)*1000+1000, 'activate',
              store_code, '', now()
       from code_redemptions""",
    """insert into diversion_alerts(tenant_id,redemption_id,batch_id,serial,region_code,store_code,found_province,
                                    place_source,status,created_at)
       select 1, r.id, r.batch_id, r.serial, r.region_code, r.store_code, '广东', 'gps', 'open', now()
       from code_redemptions r where r.id % 10 = 0""",
    "analyze",
]


def _url(name: str) -> str:
    return PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name


async def _time(sessions, work: Callable[[Any], Awaitable[Any]], runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    for i in range(runs + 3):
        async with session_scope(sessions) as session:
            started = time.perf_counter()
            await work(session)
            if i >= 3:  # warm-up: plan caches, connections
                samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


async def _cursor_of_page(sessions, actor: Actor, page: int) -> str | None:  # type: ignore[no-untyped-def]
    cursor = None
    async with session_scope(sessions) as session:
        for _ in range(page - 1):
            cursor = (await repository.list_members(session, actor, MemberQuery(), cursor=cursor)).next_cursor
    return cursor


async def measure(url: str, runs: int, jit: bool) -> list[tuple[str, float, float, float]]:
    engine = create_async_engine(url, connect_args={} if jit else {"options": "-c jit=off"})
    sessions = session_factory(engine)
    actors = {
        "hq": Actor(1, 1, "hq_admin", Scope("tenant", None, "/")),
        "region": Actor(1, 1, "region_manager", Scope("region", 7, "/r7/")),
        "distributor": Actor(1, 1, "distributor", Scope("distributor", 38, "/r7/d38/")),
    }

    async def bare_members(session) -> None:  # type: ignore[no-untyped-def]
        await session.execute(
            select(Member).where(Member.tenant_id == 1).order_by(Member.id.desc()).limit(21)
        )

    async def bare_stores(session) -> None:  # type: ignore[no-untyped-def]
        stmt = select(OrgNode).where(OrgNode.tenant_id == 1, OrgNode.kind == "store")
        await session.execute(stmt.order_by(OrgNode.code, OrgNode.id).limit(21))

    async def bare_alerts(session) -> None:  # type: ignore[no-untyped-def]
        stmt = select(DiversionAlert).where(DiversionAlert.tenant_id == 1)
        await session.execute(stmt.order_by(DiversionAlert.id.desc()).limit(21))

    peers = {
        "members": await _time(sessions, bare_members, runs),
        "stores": await _time(sessions, bare_stores, runs),
        "alerts": await _time(sessions, bare_alerts, runs),
    }
    rows = []
    for who, actor in actors.items():
        fifth = await _cursor_of_page(sessions, actor, 5)
        cases: dict[str, tuple[str, Callable[[Any], Awaitable[Any]]]] = {
            "members p1": ("members", lambda s, a=actor: repository.list_members(s, a, MemberQuery())),
            "members p5": (
                "members",
                lambda s, a=actor, c=fifth: repository.list_members(s, a, MemberQuery(), cursor=c),
            ),
            "members tail": (
                "members",
                lambda s, a=actor: repository.list_members(s, a, MemberQuery.parse("0007")),
            ),
            "stores p1": ("stores", lambda s, a=actor: repository.list_stores(s, a, StoreQuery())),
            "alerts p1": ("alerts", lambda s, a=actor: repository_codes.list_alerts(s, a)),
        }
        for name, (peer, work) in cases.items():
            p50, p95 = await _time(sessions, work, runs)
            rows.append((f"{who:<12}{name}", p50, p95, p95 / peers[peer][1]))
    rows += [(f"{'peer':<12}{k} bare", v[0], v[1], 1.0) for k, v in peers.items()]
    await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    name = f"bench_console_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(_url(name))
        started = time.perf_counter()
        with psycopg.connect(PG_DSN.rsplit("/", 1)[0] + "/" + name) as conn:
            for statement in SEED:
                conn.execute(statement)
        print(f"seeded in {time.perf_counter() - started:.1f}s")
        with psycopg.connect(PG_DSN.rsplit("/", 1)[0] + "/" + name) as conn:
            print("server jit =", conn.execute(text("show jit").text).fetchone()[0])  # type: ignore[index]
        for jit in (True, False):
            print(
                f"\n-- jit {'as configured' if jit else 'off'}: p50 / p95 ms, p95 ratio to the bare keyset page"
            )
            for label, p50, p95, ratio in asyncio.run(measure(_url(name), args.runs, jit)):
                print(f"{label:<28}{p50:8.1f}{p95:8.1f}{ratio:8.1f}x")
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
