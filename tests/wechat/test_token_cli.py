"""``jiubot wechat token`` in its own process, against the simulator."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.wechat.test_outbound_sim import OA, OA_SECRET, start_sim

ROOT = Path(__file__).resolve().parents[2]


async def jiubot(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=str(ROOT),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.slow
async def test_token_command_fetches_once_shows_masked_and_refreshes(aiohttp_server, db_url, redis_prefix):
    base, sim = await start_sim(aiohttp_server)
    env = {
        "JIUBOT_DATABASE_URL": db_url,
        "JIUBOT_REDIS_URL": REDIS_URL,
        "JIUBOT_REDIS_PREFIX": redis_prefix,
        "JIUBOT_WECHAT_API_BASE": base,
        "JIUBOT_OA_APPID": OA,
        "JIUBOT_OA_SECRET": OA_SECRET,
        "JIUBOT_OA_TOKEN": "simToken12345",
        "JIUBOT_SECRET_KEY": "test-secret-key-0123456789",
        "JIUBOT_LOG_LEVEL": "WARNING",
    }
    code, out, err = await jiubot("wechat", "token", env=env)
    assert code == 0, err
    assert f"app        {OA}" in out and "expires in 7" in out
    token = sim.runtime(OA).stable_token
    assert token not in out and token[:6] in out  # masked
    code, out, _ = await jiubot("wechat", "token", env=env)
    assert code == 0
    assert sim.token_fetches(OA) == 1  # the second run used the shared cache
    code, out, err = await jiubot("wechat", "token", "--refresh", env=env)
    assert code == 0, err
    assert sim.runtime(OA).stable_token != token
    assert sim.runtime(OA).stable_token[:6] in out


@pytest.mark.slow
async def test_token_command_reports_a_wrong_secret(aiohttp_server, db_url, redis_prefix):
    base, _sim = await start_sim(aiohttp_server)
    env = {
        "JIUBOT_DATABASE_URL": db_url,
        "JIUBOT_REDIS_URL": REDIS_URL,
        "JIUBOT_REDIS_PREFIX": redis_prefix,
        "JIUBOT_WECHAT_API_BASE": base,
        "JIUBOT_OA_APPID": OA,
        "JIUBOT_OA_SECRET": "wrong",
        "JIUBOT_OA_TOKEN": "simToken12345",
        "JIUBOT_SECRET_KEY": "test-secret-key-0123456789",
    }
    code, _, err = await jiubot("wechat", "token", env=env)
    assert code == 1
    assert "ConfigError: errcode=40125" in err and "rid=" in err
