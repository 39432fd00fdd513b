"""``jiubot tenant core set|clear``, ``jiubot tenant list`` and ``jiubot check``'s per-tenant core
lines, as real processes against a reference core on a real port."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.conftest import REDIS_URL
from tests.ordering_flows.conftest import CORE_KEY, start_core

JIUBOT = str(Path(sys.executable).with_name("jiubot"))
SECRET = "tenant-hook-secret-0123456789"


async def _jiubot(tmp_path: Path, db_url: str, *args: str, **env: str) -> tuple[int, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("JIUBOT_")}
    values |= {
        "JIUBOT_DATABASE_URL": db_url,
        "JIUBOT_REDIS_URL": REDIS_URL,
        "JIUBOT_REDIS_PREFIX": f"jt-tenant-cli-{os.getpid()}-{tmp_path.name}:",
        "JIUBOT_PUBLIC_BASE_URL": "https://bot.example.com",
        "JIUBOT_SECRET_KEY": "tenant-cli-secret-key-0123456789",
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        JIUBOT,
        *args,
        cwd=tmp_path,
        env=values,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_an_operator_gives_a_tenant_its_own_core_and_check_reaches_each_core(
    tmp_path, db_url, core_db, unused_tcp_port
):
    core = await start_core(core_db)
    try:
        ok, _ = await _jiubot(tmp_path, db_url, "app", "add", "--appid", "wxclitenantb0001", "--token",
                              "tok123", "--mode", "plain", "--tenant", "brandb")  # fmt: skip
        assert ok == 0
        keys = {"JIUBOT_TENANT_CORE_API_KEY": CORE_KEY, "JIUBOT_TENANT_CORE_WEBHOOK_SECRET": SECRET}
        # a key the core does not know: refused by the core, nothing saved
        wrong = keys | {"JIUBOT_TENANT_CORE_API_KEY": "wrong-key-0123"}
        code, out = await _jiubot(tmp_path, db_url, "tenant", "core", "set", "--tenant", "brandb",
                                  "--url", core.url, **wrong)  # fmt: skip
        assert code == 1 and "nothing saved" in out, out
        # a short secret, no key: refused before anything is asked
        code, out = await _jiubot(tmp_path, db_url, "tenant", "core", "set", "--tenant", "brandb",
                                  "--url", core.url, JIUBOT_TENANT_CORE_WEBHOOK_SECRET="short")  # fmt: skip
        assert code == 2 and "JIUBOT_TENANT_CORE_API_KEY: not set" in out and "at least 16" in out, out
        code, out = await _jiubot(tmp_path, db_url, "tenant", "core", "set", "--tenant", "brandb",
                                  "--url", core.url, **keys)  # fmt: skip
        assert code == 0, out
        assert "https://bot.example.com/core/webhook/brandb" in out
        code, listed = await _jiubot(tmp_path, db_url, "tenant", "list")
        assert f"brandb\tbrandb\tcore={core.url}\t(own)" in listed, listed
        for secret in (CORE_KEY, SECRET):
            assert secret not in out + listed
        # check: the process-wide core is down, brandb's own answers
        dead = f"http://127.0.0.1:{unused_tcp_port}"
        code, out = await _jiubot(tmp_path, db_url, "check", JIUBOT_CORE_URL=dead, JIUBOT_CORE_API_KEY="k")
        assert code == 1, out
        assert f"FAIL core (process-wide; tenants: default) {dead}: backend_unavailable" in out, out
        assert f"ok   core of tenant brandb {core.url}" in out, out
        code, out = await _jiubot(
            tmp_path, db_url, "check", JIUBOT_CORE_URL=core.url, JIUBOT_CORE_API_KEY=CORE_KEY
        )
        assert code == 0 and f"ok   core (process-wide; tenants: default) {core.url}" in out, out
        assert CORE_KEY not in out
        code, out = await _jiubot(tmp_path, db_url, "tenant", "core", "clear", "--tenant", "brandb")
        assert code == 0
        code, out = await _jiubot(tmp_path, db_url, "tenant", "list")
        assert "brandb\tbrandb\tcore=-\t(default)" in out, out  # no process-wide core here
    finally:
        await core.runner.cleanup()
