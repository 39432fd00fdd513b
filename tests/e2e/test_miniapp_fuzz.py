"""Schemathesis drives every operation of ``bot/miniapp/openapi.yaml`` against a live jiubot
(every feature, a live reference core and the WeChat simulator behind it) with the session token
of a member bound to a store, so the fuzzed input reaches the handlers, not just the 401: no
response is a 5xx, and every response keeps to the documented statuses, content type and schema.

Bounded: a fixed seed, 25 examples per operation, one worker. On PostgreSQL, where an unbounded
integer or an over-long string would overflow a column.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import aiohttp
import pytest

import bot.miniapp
from tests.e2e.conftest import MP_APPID, STORE

SPEC = Path(bot.miniapp.__file__).parent / "openapi.yaml"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)


@pytest.fixture
def db_url(pg_url: str) -> str:
    """This module runs on PostgreSQL only (both jiubot's and the core's database)."""
    return pg_url


@pytest.mark.slow
@pytest.mark.pg_only
async def test_schemathesis_finds_no_server_error_in_the_mini_program_api(stack_factory, tmp_path):
    stack = await stack_factory()
    person = stack.sim.add_person("模糊测试", "store_owner", phone=STORE["phone"]).id
    async with aiohttp.ClientSession(base_url=stack.url) as http:
        login = await (
            await http.post("/mp/api/login", json={"code": stack.sim.wx_login(person, MP_APPID)})
        ).json()
        auth = {"Authorization": f"Bearer {login['token']}"}
        bind = await http.post(
            "/mp/api/store/bind", json={"code": stack.sim.phone_code(person, MP_APPID)}, headers=auth
        )
        assert bind.status == 200, await bind.text()
        # the token reaches the ordering handlers: the fuzzed calls get past 401 and 403
        assert (await http.get("/mp/api/cart", headers=auth)).status == 200

    run = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("st")),
        "run",
        str(SPEC),
        "--url",
        stack.url,
        "-H",
        f"Authorization: {auth['Authorization']}",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "25",
        "--seed",
        "2026",
        "--generation-database",
        "none",
        "--no-color",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(run.communicate(), timeout=300)  # jiubot serves meanwhile
    summary = out.decode(errors="replace")[-8000:]
    assert run.returncode == 0, summary
    tail = summary.split("SUMMARY")[-1]
    assert "5xx" not in tail and "Server error" not in tail, tail
    assert re.search(r"Tested: 40\b", tail), tail  # every documented operation ran
