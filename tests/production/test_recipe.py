"""The README's production recipe, proven: nginx -> gunicorn (4 aiohttp workers) + 2 ``jiubot
worker`` processes on PostgreSQL and Redis, driven through the WeChat simulator.

The tests share one stack (tests/production/conftest.py) and run in file order; the last ones
check what must hold over the whole run (the access token, the scheduler's slots).
"""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.db import create_engine, session_factory, session_scope
from bot.wechat.models import InboundMessage
from tests.production.conftest import OA_APPID, Prod
from tests.production.helpers import (
    callback_counts,
    deliver_copies,
    eventually,
    fields_for,
    handled,
    next_msg_id,
)
from tests.production.stack import WEB_WORKERS

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
        assert len(replies) == 1, replies  # the retries got the first run's stored reply

    # one run per message across the workers, and one WeChat call per run
    delta = await callback_counts(prod.recipe.gunicorn_url)
    delta.subtract(before)
    assert handled(delta, "event") == PERSONS, delta
    assert handled(delta, "text") == PERSONS, delta
    assert delta[("event", "duplicate")] == delta[("text", "duplicate")] == 2 * PERSONS, delta
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
