"""Campaign sends: jiubot's campaign worker against a bare aiohttp client, same run, same simulator.

The WeChat simulator runs in its own process (``bench/push.py``'s: ``--recipients`` followers who
each wrote to the account, a customer-service window that never runs out). jiubot's side is the
whole campaign path on PostgreSQL and Redis (bot/automation/sending.py): recipients materialised
as rows, claimed in batches (``FOR UPDATE SKIP LOCKED``, the frequency cap for the whole batch),
sent by concurrent lanes (one multiplexed Redis round trip per send: the in-flight ledger's marker
and the reach budget's slot; the shared rate limiter; the client), the batch's outcomes recorded
in one transaction. The bare client posts the same customer-service JSON with a fixed access token
and reads the answer: the limit of this machine against this simulator.

Prints sends/s for each, the ratio jiubot/bare (the bare client runs first, on a fresh simulator
state), CPU per send of each, and the jiubot process's resident memory before and after the
sends. jiubot's run checks that every recipient ended "sent".

``--crash``: no bare run; a ``jiubot campaigns send`` process is killed (SIGKILL) when about a
third of the campaign is recorded, a new one finishes it, and the simulator's own count of
received messages is compared with the recipients: sends, duplicates, rows left ``unknown``.

    .venv/bin/python bench/campaign.py [--recipients 5000] [--concurrency 32] [--batch 200] [--crash]
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


def bench_settings(base: str, db_url: str, prefix: str):  # type: ignore[no-untyped-def]
    from bot.config import load_settings

    return load_settings(
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
        # the shared rate limiter stays in the path, its rule above what the bare client reaches:
        # the default (500/s per app and API) would otherwise be the bound being measured
        wechat_rate_limits={"message/custom/send": 20000.0},
        _env_file=None,
    )


async def seed(runtime, openids: list[str]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Members, identities, open windows (jiubot saw each one's message), the campaign and its
    recipient rows; returns (tenant, campaign id)."""
    from sqlalchemy import insert, select, text

    from bot.automation import campaigns
    from bot.db import insert_ignore_statement, session_scope
    from bot.membership.models import Member, MemberIdentity
    from bot.messages import Inbound
    from bot.tenancy import repository as tenancy_repo

    services = runtime.services
    async with session_scope(services.sessions) as session:
        tenant = (await tenancy_repo.list_apps(session))[0].tenant_id
        await session.execute(
            insert(Member.__table__), [{"tenant_id": tenant, "role": "store_owner"}] * len(openids)
        )
        ids = list((await session.execute(select(Member.id).order_by(Member.id))).scalars())
        rows = [
            {"tenant_id": tenant, "member_id": m, "appid": APPID, "openid": o, "following": True}
            for m, o in zip(ids, openids, strict=True)
        ]
        stmt = insert_ignore_statement(session, MemberIdentity.__table__, index_elements=["appid", "openid"])
        await session.execute(stmt, rows)
    now = int(time.time())

    class Batch:  # ReachBudget.record's EvalBatch: the calls go out 1,000 per round trip
        def __init__(self) -> None:
            self.calls: list[tuple] = []

        def eval(self, script: str, numkeys: int, *args) -> None:  # type: ignore[no-untyped-def]
            self.calls.append(("EVAL", script, numkeys, *args))

    for start in range(0, len(openids), 1000):
        batch = Batch()
        for i, oid in enumerate(openids[start : start + 1000], start):
            message = Inbound(APPID, "gh_bench", oid, now, "text", msg_id=str(i + 1), content="在吗")
            services.reach.record(batch, message)
        await runtime.mux.execute_many(batch.calls)
    async with session_scope(services.sessions) as session:
        # fresh statistics, as autovacuum would have them: the planner would otherwise take the
        # 100,000 rows just inserted for none and join them by nested loop
        for table in ("members", "member_identities"):
            await session.execute(text(f"ANALYZE {table}"))
    async with session_scope(services.sessions) as session:
        cid = await campaigns.create(session, tenant, "bench", "双旦订货会：满10箱送2瓶")
        await campaigns.materialise(session, tenant, cid, APPID, holdout_share=0)
    return tenant, cid


async def jiubot_run(
    args, base: str, openids: list[str], db_url: str, prefix: str
) -> tuple[float, float, float]:
    from datetime import UTC, datetime

    from bot.automation import campaigns, sending
    from bot.automation.interface import Deps, Policy
    from bot.automation.quiet import QuietHours
    from bot.db import session_scope
    from bot.wiring.automation import campaign_channel
    from bot.wiring.features import WECHAT
    from bot.wiring.runtime import open_runtime, text_environment

    async with open_runtime(bench_settings(base, db_url, prefix), [WECHAT]) as runtime:
        services = runtime.services
        tenant, cid = await seed(runtime, openids)
        deps = Deps(
            sessions=services.sessions,
            texts=text_environment(),
            notifier=services.notifier,
            coupons=None,
            oa_appids=lambda: [APPID],
            policy=Policy(holdout=0, quiet=QuietHours.parse(""), cap=10, cap_days=1),
        )
        before = rss_mb()
        profile = None
        if args.profile:
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        cpu = time.process_time()
        started = time.perf_counter()
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
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
        print(f"jiubot worker CPU: {(time.process_time() - cpu) / len(openids) * 1e6:.0f} us per send")
        async with session_scope(services.sessions) as session:
            progress = await campaigns.progress(session, cid)
        assert progress.sent == len(openids), progress
        return len(openids) / seconds, before, rss_mb()


async def crash_run(args, base: str, openids: list[str], db_url: str, prefix: str) -> None:
    import signal
    from collections import Counter

    import aiohttp

    from bot.automation import campaigns
    from bot.db import session_scope
    from bot.wiring.features import WECHAT
    from bot.wiring.runtime import open_runtime

    env = {
        **os.environ,
        "JIUBOT_DATABASE_URL": db_url,
        "JIUBOT_REDIS_URL": REDIS_URL,
        "JIUBOT_REDIS_PREFIX": prefix,
        "JIUBOT_OA_APPID": APPID,
        "JIUBOT_OA_SECRET": SECRET,
        "JIUBOT_OA_TOKEN": "benchToken123",
        "JIUBOT_OA_MODE": "plain",
        "JIUBOT_OA_AES_KEY": "",
        "JIUBOT_WECHAT_API_BASE": base,
        "JIUBOT_SECRET_KEY": "bench-secret-key-0123456789",
        "JIUBOT_LOG_LEVEL": "WARNING",
        "JIUBOT_AUTOMATION_QUIET_HOURS": "",
        "JIUBOT_AUTOMATION_CAP": "5",
    }
    jiubot = str(Path(sys.executable).with_name("jiubot"))
    send = [jiubot, "campaigns", "send", "--name", "bench", "--quiet", "--lease", "10"]
    send += ["--batch", str(args.batch), "--concurrency", str(args.concurrency)]
    async with open_runtime(bench_settings(base, db_url, prefix), [WECHAT]) as runtime:
        _, cid = await seed(runtime, openids)

        async def progress() -> campaigns.Progress:
            async with session_scope(runtime.services.sessions) as session:
                return await campaigns.progress(session, cid)

        started = time.perf_counter()
        first = await asyncio.create_subprocess_exec(*send, env=env)
        while (await progress()).finished < len(openids) // 3:
            assert first.returncode is None, "the first worker ended early"
            await asyncio.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        at_kill = (await progress()).finished
        second = await asyncio.create_subprocess_exec(*send, env=env)
        assert await second.wait() == 0
        seconds = time.perf_counter() - started
        p = await progress()
    query = {"appid": APPID, "channel": "kf"}
    async with aiohttp.ClientSession() as http, http.get(base + "/_sim/api/received", params=query) as resp:
        got = Counter(await resp.json())
    duplicates = sum(n - 1 for n in got.values())
    print(f"recipients {len(openids)}, batch {args.batch}, concurrency {args.concurrency}: {seconds:.0f} s")
    print(f"killed with {at_kill} rows recorded; after the resume: {p}")
    print(
        f"the simulator received {sum(got.values())} messages for {len(got)} recipients: "
        f"{duplicates} duplicates, {len(openids) - len(got)} recipients without the message "
        f"({p.unknown} rows unknown: in flight when the worker died)"
    )


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
    parser.add_argument("--crash", action="store_true", help="kill a worker mid-campaign, resume, count")
    parser.add_argument("--profile", default="", help="write the jiubot worker's cProfile stats to this file")
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
        if args.crash:
            asyncio.run(crash_run(args, base, openids, db_url, prefix))
            return 0
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
