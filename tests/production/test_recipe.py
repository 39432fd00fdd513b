"""The README's production recipe, proven: nginx -> gunicorn (4 aiohttp workers) + 2 ``jiubot
worker`` processes on PostgreSQL and Redis, driven through the WeChat simulator.

The tests share one stack (tests/production/conftest.py) and run in file order; the last ones
check what must hold over the whole run (the access token, the scheduler's slots).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from urllib.parse import quote

import aiohttp
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db import create_engine, session_factory, session_scope
from bot.membership import ledger
from bot.membership.code_models import CodeRedemption
from bot.membership.codes import CodeKeys, make
from bot.membership.ledger_models import PointsLedger
from bot.membership.models import MemberIdentity
from bot.wechat.models import DeferredReply, InboundMessage
from tests.conftest import REDIS_URL
from tests.production.conftest import CODE_HOST, CODE_KEY, CODES, HEARTBEAT_SECONDS, OA_APPID, Prod
from tests.production.helpers import (
    callback_counts,
    deliver_copies,
    eventually,
    fields_for,
    handled,
    next_msg_id,
)
from tests.production.stack import WEB_WORKERS
from wechat_sim.driver import DeliveryResult

pytestmark = [pytest.mark.production, pytest.mark.asyncio(loop_scope="module")]

PERSONS = 24


async def inbound_rows(prod: Prod, keys: list[str]) -> Counter[str]:
    engine = create_engine(prod.db_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            rows = await session.execute(
                select(InboundMessage.dedupe_key, func.count())
                .where(InboundMessage.appid == OA_APPID, InboundMessage.dedupe_key.in_(keys))
                .group_by(InboundMessage.dedupe_key)
            )
            return Counter({k: n for k, n in rows.all()})
    finally:
        await engine.dispose()


async def deferred_state(prod: Prod) -> tuple[int, int]:
    """(deferred replies not closed, deferred replies run more than once: recovered)."""
    engine = create_engine(prod.db_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            left = select(func.count()).where(DeferredReply.status != "done")
            rerun = select(func.count()).where(DeferredReply.runs > 1)
            return (await session.execute(left)).scalar_one(), (await session.execute(rerun)).scalar_one()
    finally:
        await engine.dispose()


async def ledger_state(prod: Prod) -> tuple[int, int, int]:
    """(bottle-code credits in the ledger, code redemptions, accounts failing the audit)."""
    engine = create_engine(prod.db_url)
    try:
        async with session_scope(session_factory(engine)) as session:
            credits = (
                await session.execute(select(func.count()).where(PointsLedger.source_kind == "bottle_code"))
            ).scalar_one()
            redeemed = (await session.execute(select(func.count()).select_from(CodeRedemption))).scalar_one()
            _, bad = await ledger.audit(session, prod.tenant_id)
    finally:
        await engine.dispose()
    return credits, redeemed, len(bad)


async def test_nginx_proxies_the_public_paths_only(prod: Prod) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{prod.url}/metrics") as resp:
            assert resp.status == 404  # nginx's own 404: internal endpoints are not proxied
            assert "nginx" in await resp.text()
        async with http.get(f"{prod.url}/readyz") as resp:
            assert resp.status == 404
        async with http.get(f"{prod.recipe.gunicorn_url}/readyz") as resp:
            assert resp.status == 200, await resp.text()
        async with http.post(f"{prod.url}/mp/api/scan", json={}) as resp:
            assert resp.status == 401  # jiubot's answer (JSON with a reason), through nginx
            assert "error" in await resp.json()
        async with http.get(f"{prod.url}/c/ABCDEFGH") as resp:  # a bottle cap opened outside WeChat
            assert resp.status == 200 and "微信" in await resp.text()
        async with http.post(f"{prod.url}/core/webhook", data=b"{}") as resp:
            assert resp.status < 500 and "nginx" not in await resp.text()  # reached jiubot
        async with http.post(f"{prod.url}/core/webhook/nosuch", data=b"{}") as resp:  # a tenant's path
            assert resp.status == 404 and (await resp.json())["error"] == "unknown_tenant"


async def test_triple_deliveries_land_on_different_workers_and_act_once(prod: Prod) -> None:
    sim = prod.sim
    before = await callback_counts(prod.recipe.gunicorn_url)
    user_info_before = sim.api_calls(OA_APPID, "cgi-bin/user/info")
    persons = [sim.add_person(f"顾客{i}").id for i in range(PERSONS)]

    # follow: the subscribe handler asks WeChat's user/info once per run (the simulator counts it)
    follows = [fields_for(sim, p, OA_APPID, "event", {"Event": "subscribe", "EventKey": ""}) for p in persons]
    texts = [
        fields_for(sim, p, OA_APPID, "text", {"Content": "帮助", "MsgId": next_msg_id()}) for p in persons
    ]
    follow_results = await asyncio.gather(*(deliver_copies(sim, OA_APPID, f) for f in follows))
    text_results = await asyncio.gather(*(deliver_copies(sim, OA_APPID, f) for f in texts))

    for results in [*follow_results, *text_results]:
        assert all(r.ok for r in results), [r.reason for r in results]
        replies = {r.reply["Content"] for r in results if r.reply is not None}
        assert len(replies) <= 1, replies  # the copies got the first run's stored reply (or acks)

    # one run per message across the workers, and one WeChat call per run
    delta = await callback_counts(prod.recipe.gunicorn_url)
    delta.subtract(before)
    assert handled(delta, "event") == PERSONS, delta
    assert handled(delta, "text") == PERSONS, delta
    # the copies answered from the lease (more if WeChat retried an attempt that timed out)
    assert delta[("event", "duplicate")] >= 2 * PERSONS and delta[("text", "duplicate")] >= 2 * PERSONS
    assert sim.api_calls(OA_APPID, "cgi-bin/user/info") - user_info_before == PERSONS

    # the copies were spread over the workers (nginx -> gunicorn's shared socket)
    attempts = {a.nonce for results in [*follow_results, *text_results] for r in results for a in r.attempts}

    async def access_logged() -> bool:
        return attempts <= prod.recipe.callback_attempts(OA_APPID).keys()

    await eventually(access_logged, 10, "every attempt in the workers' access log")
    seen = prod.recipe.callback_attempts(OA_APPID)
    assert {seen[n][1] for n in attempts} == {"127.0.0.1"}  # nginx set X-Forwarded-For
    pid_of = {n: seen[n][0] for n in attempts}
    spreads = []
    for results in [*follow_results, *text_results]:
        spreads.append(len({pid_of[a.nonce] for r in results for a in r.attempts}))
    assert 2 <= len(set(pid_of.values())) <= WEB_WORKERS
    assert sum(1 for s in spreads if s >= 2) >= len(spreads) // 4, spreads

    # the inbound log (written by the `jiubot worker` processes): one row per message
    keys = [f"e:{f['FromUserName']}:{f['CreateTime']}:subscribe::" for f in follows]
    keys += [f"m:{f['MsgId']}" for f in texts]

    async def logged() -> bool:
        return sum((await inbound_rows(prod, keys)).values()) == len(keys)

    await eventually(logged, 20, "every message in the inbound log")
    assert set((await inbound_rows(prod, keys)).values()) == {1}


TALKERS = 12
STUCK = 8  # followers whose callbacks are deferred while a web worker is killed
LOAD_SECONDS = 8.0


class RowLocks:
    """Holds the member identities of some people locked (a stuck database for their follow
    handler, which updates that row), so their callbacks overrun the budget and are deferred."""

    def __init__(self, prod: Prod) -> None:
        self.engine = create_engine(prod.db_url)
        self.conn: AsyncConnection | None = None

    async def lock(self, openids: list[str]) -> None:
        self.conn = await self.engine.connect()
        await self.conn.begin()
        query = select(MemberIdentity.id).where(
            MemberIdentity.appid == OA_APPID, MemberIdentity.openid.in_(openids)
        )
        assert len((await self.conn.execute(query.with_for_update())).all()) == len(openids)

    async def release(self) -> None:
        if self.conn is not None:
            await self.conn.rollback()
            await self.conn.close()
            self.conn = None
        await self.engine.dispose()


async def test_sigkilled_web_worker_and_background_worker_lose_nothing(prod: Prod) -> None:
    sim, recipe = prod.sim, prod.recipe
    talkers = [sim.add_person(f"常客{i}").id for i in range(TALKERS)]
    stuck = [sim.add_person(f"迟到{i}").id for i in range(STUCK)]
    welcomes: list[DeliveryResult] = []
    for person in [*talkers, *stuck]:
        welcomes.append(await sim.follow(person, OA_APPID))
        assert welcomes[-1].ok
    welcome = next(r.reply["Content"] for r in welcomes if r.reply is not None)

    def kf_count(person: str, texts: set[str]) -> int:
        sends = sim.outbound(OA_APPID, sim.openid(person, OA_APPID), channel="kf")
        return sum(1 for o in sends if o.errcode == 0 and o.payload.get("content") in texts)

    async def first_welcomes_sent() -> bool:  # a first follow the loaded machine deferred
        late_ones = [p for p, r in zip(stuck, welcomes[TALKERS:], strict=True) if r.reply is None]
        return all(kf_count(p, {welcome}) >= 1 for p in late_ones)

    await eventually(first_welcomes_sent, 30, "the late welcome of each deferred first follow")
    welcomed_before = {p: kf_count(p, {welcome}) for p in stuck}
    sent: list[tuple[str, int, DeliveryResult]] = []  # (person, MsgId, what WeChat got)
    scans: dict[int, list[str]] = {}  # serial -> outcomes of each attempt (HTTP status if none)
    serials = iter(range(1, CODES + 1))
    stop = asyncio.Event()

    async def talk(person: str) -> None:
        while not stop.is_set():
            fields = fields_for(sim, person, OA_APPID, "text", {"Content": "帮助", "MsgId": next_msg_id()})
            sent.append((person, fields["MsgId"], await sim.deliver(OA_APPID, fields)))

    async def scan(http: aiohttp.ClientSession, token: str) -> None:
        """A mini-program scanning codes; like wx.request it retries a code on a 5xx or a
        broken connection (the same code: a retry must not credit twice)."""
        for serial in serials:
            if stop.is_set():
                return
            url = f"{CODE_HOST}/c/{make(CodeKeys(CODE_KEY.encode()), prod.tenant_id, prod.batch_id, serial)}"
            outcomes = scans.setdefault(serial, [])
            for _ in range(10):
                try:
                    async with http.post(
                        f"{prod.url}/mp/api/scan",
                        json={"q": quote(url, safe=""), "scancode_time": int(time.time())},
                        headers={"Authorization": f"Bearer {token}"},
                    ) as resp:
                        if resp.status >= 500:
                            outcomes.append(str(resp.status))
                            continue
                        outcomes.append((await resp.json()).get("outcome", str(resp.status)))
                        break
                except aiohttp.ClientError as exc:
                    outcomes.append(type(exc).__name__)
                await asyncio.sleep(0.2)

    background_victim = recipe.background_workers()[0]
    locks = RowLocks(prod)
    await locks.lock([sim.openid(p, OA_APPID) for p in stuck])
    async with aiohttp.ClientSession() as http:
        load = [asyncio.create_task(talk(p)) for p in talkers]
        load += [asyncio.create_task(scan(http, t)) for t in prod.tokens]
        # followers coming back while their rows are stuck: acked at the budget, replies owed
        subscribe = {"Event": "subscribe", "EventKey": ""}
        refollows = [fields_for(sim, p, OA_APPID, "event", subscribe) for p in stuck]
        for fields in refollows:  # not the first follow's second (the same dedupe key)
            fields["CreateTime"] += 2
        deferred = await asyncio.gather(*(sim.deliver(OA_APPID, f) for f in refollows))
        assert all(r.ok and r.reply is None for r in deferred), [(r.reason, r.reply) for r in deferred]
        owners = {r.attempts[0].nonce for r in deferred}

        async def owners_logged() -> bool:
            return owners <= recipe.callback_attempts(OA_APPID).keys()

        await eventually(owners_logged, 10, "the deferred follows in the access log")
        seen = recipe.callback_attempts(OA_APPID)
        # the web worker that owes the most of them dies (and so does a `jiubot worker`)
        web_victim, owed = Counter(seen[n][0] for n in owners).most_common(1)[0]
        assert web_victim in recipe.web_worker_pids()
        os.kill(web_victim, signal.SIGKILL)  # mid-load: requests in flight on it die with it
        os.kill(background_victim.proc.pid, signal.SIGKILL)
        at_kill = len(sent)
        await locks.release()  # the database answers again; the dead worker's follows are owed
        await asyncio.sleep(LOAD_SECONDS * 2 / 3)
        stop.set()
        await asyncio.gather(*load)

    # gunicorn replaced the web worker; the other `jiubot worker` carries on alone
    assert web_victim not in recipe.web_worker_pids()
    assert background_victim.proc.wait(5) == -signal.SIGKILL
    assert len(sent) > 3 * TALKERS and len(scans) > len(prod.tokens), (len(sent), len(scans))

    broken = Counter(a.outcome for *_, r in sent for a in r.attempts if a.outcome not in ("reply", "ack"))
    broken_scans = Counter(o for outcomes in scans.values() for o in outcomes[:-1])
    print(f"load: {len(sent)} messages, {len(scans)} codes; failed attempts {broken}, scans {broken_scans}")
    # the kills came mid-load: the victim owed deferred replies (each checked below: delivered
    # once) and the talking went on after it. Whether a plain request was in flight on the victim
    # at that instant (nginx answers 502, the client retries: ``broken``) is up to timing, so it
    # is printed, not required (the faster scan path once left none in flight).
    assert owed >= 1 and len(sent) > at_kill, (owed, at_kill, len(sent))

    # every message was answered: passively, or acked and its reply sent through customer service
    # exactly once (a reply owed by the killed worker is re-run by a `jiubot worker` once its
    # owner's lease runs out: bot/wechat/recovery.py); a message answered passively gets none
    failed = [(p, m, [(a.outcome, round(a.elapsed, 2)) for a in r.attempts]) for p, m, r in sent if not r.ok]
    assert not failed, failed
    passive = {r.reply["Content"] for *_, r in sent if r.reply is not None}
    assert len(passive) == 1, passive  # the help text
    acked = Counter(person for person, _, r in sent if r.reply is None)

    def late(person: str) -> int:
        return kf_count(person, passive)

    async def late_replies_delivered() -> bool:
        return all(late(p) >= n for p, n in acked.items())

    async def welcomes_delivered() -> bool:
        return all(kf_count(p, {welcome}) > welcomed_before[p] for p in stuck)

    await eventually(late_replies_delivered, 30, f"a late reply for each acked message {acked}")
    await eventually(welcomes_delivered, 30, "the late welcome of every deferred follow")
    await asyncio.sleep(3)  # a sweep or two more: nothing may be sent twice
    assert {p: late(p) for p in talkers} == {p: acked[p] for p in talkers}
    assert {p: kf_count(p, {welcome}) - welcomed_before[p] for p in stuck} == dict.fromkeys(stuck, 1)
    left, recovered = await deferred_state(prod)
    assert left == 0  # every owed reply was closed
    assert recovered >= owed  # the killed worker's were re-run by the surviving `jiubot worker`
    print(f"deferred follows: {STUCK}, owed by the killed worker: {owed}, recovered: {recovered}")

    # every scan got an answer, and every code was credited exactly once (the ledger audits clean)
    finals = Counter(outcomes[-1] for outcomes in scans.values())
    assert set(finals) <= {"credited", "mine"}, finals  # "mine": a retry after the credit
    credits, redeemed, mismatched = await ledger_state(prod)
    assert credits == redeemed == len(scans), (credits, redeemed, len(scans), finals)
    assert mismatched == 0

    # the inbound log lost nothing: entries the killed `jiubot worker` had read but not stored are
    # taken over by the other one once idle for a minute (XAUTOCLAIM)
    keys = [f"m:{msg_id}" for _, msg_id, _ in sent]

    async def logged() -> bool:
        return sum((await inbound_rows(prod, keys)).values()) == len(keys)

    await eventually(logged, 90, "every message of the load in the inbound log")


async def test_the_access_token_was_fetched_once(prod: Prod) -> None:
    """Every process that called WeChat (user/info in the follows, customer-service messages for
    the late replies) used the one token cached in Redis."""
    sim = prod.sim
    assert sim.api_calls(OA_APPID, "cgi-bin/user/info") >= PERSONS + TALKERS
    assert sim.token_fetches(OA_APPID) == 1
    logs = "".join(p.tail(10_000_000) for p in prod.recipe.processes)
    assert logs.count("wechat_credential_fetched") == 1


async def test_each_scheduler_slot_ran_once_across_the_processes(prod: Prod) -> None:
    """The heartbeat job (JIUBOT_SCHEDULER_HEARTBEAT_SECONDS) fired in both `jiubot worker`
    processes on every slot; the Redis guard let exactly one run it, the survivor alone after the
    other was killed, and never a web worker (JIUBOT_SERVE_BACKGROUND=false): neither the
    scheduler nor the inbound log writer runs there."""
    client = aioredis.from_url(REDIS_URL)
    try:

        async def many_slots() -> bool:  # a fast module must not end before there is much to check
            return await client.hlen(f"{prod.redis_prefix}sched-heartbeat") > 10

        await eventually(many_slots, 10 * 2 * HEARTBEAT_SECONDS, "ten heartbeat slots")
        # the winners first: scanning a shared Redis takes seconds, and slots won meanwhile would
        # be missing from a count read before them
        winners = {
            int(key.rsplit(b":", 1)[1]): await client.get(key)
            async for key in client.scan_iter(match=f"{prod.redis_prefix}sched:heartbeat:*", count=5000)
        }
        runs = await client.hgetall(f"{prod.redis_prefix}sched-heartbeat")
        readers = await client.xinfo_consumers(f"{prod.redis_prefix}inbound-log", "log-writer")
    finally:
        await client.aclose()
    per_slot = {int(k): int(v) for k, v in runs.items() if k != b"last"}
    slots = sorted(per_slot)
    assert len(slots) >= 10, slots  # the module ran long enough to see many slots
    assert slots == list(range(slots[0], slots[-1] + 1)), "a slot was skipped"
    assert set(per_slot.values()) == {1}, {s: n for s, n in per_slot.items() if n != 1}
    background = {p.proc.pid for p in prod.recipe.background_workers()}
    pids = {int(value.rsplit(b":", 1)[1]) for value in winners.values()}
    assert pids <= background, (pids, background)
    # the inbound log writer, too, ran in the `jiubot worker` processes only
    assert {int(c["name"].rsplit(b"-", 1)[1]) for c in readers} <= background, readers
    survivor = next(p.proc.pid for p in prod.recipe.background_workers() if p.proc.poll() is None)
    assert survivor in pids  # it carried on alone after the other was killed
    assert set(winners) <= set(per_slot)  # every slot someone won was run
