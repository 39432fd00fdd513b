"""What the production tests observe: pushes as WeChat makes them, the workers' metrics (one
registry across gunicorn workers via PROMETHEUS_MULTIPROC_DIR), the database and Redis."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from wechat_sim.driver import DeliveryResult
from wechat_sim.simulator import Simulator
from wechat_sim.window import open_grant, trigger_of

_msg_ids = itertools.count(7_300_000_000_000_000_000)
METRIC = re.compile(r'^jiubot_callbacks_total\{msg_type="([^"]+)",outcome="([^"]+)"\} ([0-9.e+]+)$')


def next_msg_id() -> int:
    return next(_msg_ids)


def fields_for(sim: Simulator, person: str, appid: str, msg_type: str, extra: dict[str, Any]) -> dict:
    """A push as the simulator's user actions build it (and the customer-service window it opens)."""
    app, member = sim.app(appid), sim.member(person, appid)
    fields = {
        "ToUserName": app.original_id,
        "FromUserName": member.openid,
        "CreateTime": int(sim.push_time()),
        "MsgType": msg_type,
        **extra,
    }
    if extra.get("Event") == "subscribe":
        member.following = True
        member.subscribe_time = int(sim.now())
    trigger = trigger_of(fields)
    if trigger:
        open_grant(member, trigger, sim.now(), sim.limits.kf_rules)
    member.last_interaction = sim.now()
    return fields


async def deliver_copies(sim: Simulator, appid: str, fields: dict, copies: int = 3) -> list[DeliveryResult]:
    """WeChat delivering one message ``copies`` times at once (the same MsgId, or the same
    FromUserName + CreateTime for events; each copy signed with its own nonce)."""
    return list(await asyncio.gather(*(sim.deliver(appid, fields) for _ in range(copies))))


async def callback_counts(gunicorn_url: str) -> Counter[tuple[str, str]]:
    """``jiubot_callbacks_total`` by (msg_type, outcome), summed over every web worker (dead ones
    too: their multiprocess files stay)."""
    async with aiohttp.ClientSession() as http, http.get(f"{gunicorn_url}/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    counts: Counter[tuple[str, str]] = Counter()
    for line in text.splitlines():
        m = METRIC.match(line)
        if m:
            counts[(m[1], m[2])] += int(float(m[3]))
    return counts


def handled(delta: Counter[tuple[str, str]], msg_type: str) -> int:
    """Handler runs (every outcome but the answers retries get from the lease)."""
    return sum(n for (t, outcome), n in delta.items() if t == msg_type and outcome != "duplicate")


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.25)
