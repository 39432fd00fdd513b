"""Mechanism 4 with real concurrency: 8 OS processes, each with its own event loop, Redis
connection and ``WeChatClient``, share one app's access token through Redis, against the
simulator over HTTP."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.wechat.test_outbound_sim import OA, OA_SECRET, start_sim

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 8


async def _spawn(base_url: str, prefix: str) -> list[asyncio.subprocess.Process]:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.wechat.test_token_worker",
            base_url,
            REDIS_URL,
            prefix,
            OA,
            OA_SECRET,
            cwd=str(ROOT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(WORKERS)
    ]
    for proc in procs:
        assert (await asyncio.wait_for(proc.stdout.readline(), 60)).strip() == b"ready"
    return procs


async def _round(procs: list[asyncio.subprocess.Process]) -> list[str]:
    for proc in procs:  # release them together
        proc.stdin.write(b"go\n")
    await asyncio.gather(*(proc.stdin.drain() for proc in procs))
    lines = await asyncio.gather(*(asyncio.wait_for(proc.stdout.readline(), 60) for proc in procs))
    return [json.loads(line)["token"] for line in lines]


@pytest.mark.slow
async def test_eight_processes_fetch_the_token_once_and_refresh_it_once(aiohttp_server, redis_prefix):
    base, sim = await start_sim(aiohttp_server)
    procs = await _spawn(base, redis_prefix)
    try:
        # given 8 processes that never fetched a token, calling at the same moment
        first = await _round(procs)
        assert len(set(first)) == 1
        assert sim.token_fetches(OA) == 1
        # when WeChat invalidates that token, every process hits 40001 at once
        assert sim.invalidate_tokens(OA) == 1
        second = await _round(procs)
        # then exactly one of them fetches a new one, and every call succeeds with it
        assert len(set(second)) == 1 and second[0] != first[0]
        assert sim.token_fetches(OA) == 2
        assert sim.api_calls(OA, "cgi-bin/user/get", 0) == 2 * WORKERS
        assert sim.api_calls(OA, "cgi-bin/stable_token") == 2  # no failed or forced fetches either
    finally:
        for proc in procs:
            proc.stdin.close()
        codes = await asyncio.gather(*(asyncio.wait_for(proc.wait(), 30) for proc in procs))
    assert codes == [0] * WORKERS
