"""Campaign sends: jiubot's campaign worker against a bare aiohttp client, same run, same simulator.

The WeChat simulator runs in its own process (``bench/push.py``'s: ``--recipients`` followers who
each wrote to the account, a customer-service window that never runs out). jiubot's side is the
whole campaign path on PostgreSQL and Redis: recipients materialised as rows, claimed in batches
(``FOR UPDATE SKIP LOCKED``), the per-member cap (a row lock and a row per send), the notifier
(outbound log claim and close, the reach budget's slot in Redis, the shared rate limiter) and the
send. The bare client posts the same customer-service JSON with a fixed access token and reads
the answer: the limit of this machine against this simulator.

Prints sends/s for each, the ratio jiubot/bare (the bare client runs first, on a fresh simulator
state), and the jiubot process's resident memory before and after the sends. jiubot's run checks
that every recipient ended "sent".

    .venv/bin/python bench/campaign.py [--recipients 5000] [--concurrency 32] [--batch 200]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.push import APPID, REDIS_URL, SECRET, _drop_prefix, free_port, run_sim, stable_token  # noqa: E402

PG_DSN = os.environ.get("JIUBOT_BENCH_PG_DSN", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(sql)


async def jiubot_run(
    args, base: str, openids: list[str], db_url: str, prefix: str
) -> tuple[float, float, float]:
    from sqlalchemy import select

    from bot.automation import campaigns
    from bot.automation.interface import Deps, Policy
    from bot.automation.quiet import QuietHours
    from bot.config import load_settings
    from bot.db import insert_ignore_statement, session_scope
    from bot.membership.models import Member, MemberIdentity
    from bot.messages import Inbound
    from bot.tenancy import repository as tenancy_repo
    from bot.wiring.features import WECHAT
    from bot.wiring.runtime import open_runtime, text_environment

    settings = load_settings(
        database_url=db_url,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        oa_appid=APPID,
        oa_secret=SECRET,
        oa_token="benchToken123",
        oa_mode="plain",
        oa_aes_key="",
        wechat_api_base=base,
        secret_key="bench-secret-key-0123456789",
        log_level="WARNING",
        _env_file=None,
    )
    async with open_runtime(settings, [WECHAT]) as runtime:
        services = runtime.services
        async with session_scope(services.sessions) as session:
            tenant = (await tenancy_repo.list_apps(session))[0].tenant_id
            session.add_all([Member(tenant_id=tenant, role="store_owner") for _ in openids])
            await session.flush()
            ids = list((await session.execute(select(Member.id).order_by(Member.id))).scalars())
            rows = [
                {"tenant_id": tenant, "member_id": m, "appid": APPID, "openid": o, "following": True}
                for m, o in zip(ids, openids, strict=True)
            ]
            await session.execute(
                insert_ignore_statement(
                    session, MemberIdentity.__table__, index_elements=["appid", "openid"]
                ),
                rows,
            )
        now = int(time.time())
        for i, oid in enumerate(openids):
            await services.reach.note(
                Inbound(APPID, "gh_bench", oid, now, "text", msg_id=str(i + 1), content="在吗")
            )
        async with session_scope(services.sessions) as session:
            cid = await campaigns.create(session, tenant, "bench", "双旦订货会：满10箱送2瓶")
            await campaigns.materialise(session, tenant, cid, APPID, holdout_share=0)
        deps = Deps(
            sessions=services.sessions,
            texts=text_environment(),
            notifier=services.notifier,
            coupons=None,
            oa_appids=lambda: [APPID],
            policy=Policy(holdout=0, quiet=QuietHours.parse(""), cap=10, cap_days=1),
        )
        before = rss_mb()
        cpu = time.process_time()
        started = time.perf_counter()
        from datetime import UTC, datetime

        from bot.automation import sending
        from bot.wiring.automation import campaign_channel

        await sending.run_worker(
            deps,
            campaign_channel(services, runtime.mux),
            tenant,
            cid,
            now=lambda: datetime.now(UTC),
            batch=args.batch,
            concurrency=args.concurrency,
        )
        seconds = time.perf_counter() - started
        print(f"jiubot worker CPU: {(time.process_time() - cpu) / len(openids) * 1e6:.0f} us per send")
        async with session_scope(services.sessions) as session:
            progress = await campaigns.progress(session, cid)
        assert progress.sent == len(openids), progress
        return len(openids) / seconds, before, rss_mb()


async def bare_run(args, base: str, openids: list[str]) -> float:
    import aiohttp
    import orjson

    token = stable_token(base)
    queue = list(reversed(openids))
    async with aiohttp.ClientSession() as session:

        async def lane() -> None:
            while queue:
                oid = queue.pop()
                body = {"touser": oid, "msgtype": "text", "text": {"content": "双旦订货会：满10箱送2瓶"}}
                async with session.post(
                    base + "/cgi-bin/message/custom/send",
                    params={"access_token": token},
                    data=orjson.dumps(body),
                    headers={"Content-Type": "application/json"},
                ) as resp:
                    answer = orjson.loads(await resp.read())
                    if answer.get("errcode"):
                        raise RuntimeError(answer)

        started = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(lane() for _ in range(args.concurrency)))
        print(f"bare client CPU: {(time.process_time() - cpu) / len(openids) * 1e6:.0f} us per send")
        return len(openids) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    port = free_port()
    ready: mp.Queue = mp.Queue()
    sim = mp.Process(target=run_sim, args=(port, args.recipients, ready), daemon=True)
    sim.start()
    base = f"http://127.0.0.1:{port}"
    openids = ready.get(timeout=600)
    name = f"jb_bench_campaign_{uuid.uuid4().hex[:8]}"
    prefix = f"jb-bench-campaign-{uuid.uuid4().hex[:8]}:"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        from bot.migrate import upgrade

        db_url = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
        upgrade(db_url)
        bare_rate = asyncio.run(bare_run(args, base, openids))
        rate, before, after = asyncio.run(jiubot_run(args, base, openids, db_url, prefix))
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _drop_prefix(prefix)
        sim.terminate()
    print(f"recipients {args.recipients}, concurrency {args.concurrency}, batch {args.batch}")
    print(f"bare aiohttp : {bare_rate:8.1f} sends/s")
    print(f"jiubot       : {rate:8.1f} sends/s   ratio {rate / bare_rate:.2f}")
    print(f"jiubot worker RSS: {before:.0f} MB before the sends, {after:.0f} MB after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
