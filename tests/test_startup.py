"""``jiubot serve`` with Redis or the database down: one clear line, then exit or retry."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bot.startup import EXIT_UNAVAILABLE, safe_url
from tests.conftest import REDIS_URL
from tests.redis_relay import RedisRelay

ROOT = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIUBOT_")}
    env.update(
        JIUBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
        JIUBOT_SECRET_KEY="startup-test-secret-0123",
        JIUBOT_LOG_FORMAT="console",
        JIUBOT_REDIS_CONNECT_TIMEOUT_SECONDS="0.5",
    )
    env.update(values)
    return env


def _serve(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", str(_closed_port()), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_redis_down_prints_one_line_and_exits(tmp_path):
    port = _closed_port()
    done = _serve(_env(tmp_path, JIUBOT_REDIS_URL=f"redis://:hunter2pass@127.0.0.1:{port}/0"))
    assert done.returncode == EXIT_UNAVAILABLE
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("jiubot: cannot start: Redis at redis://:***@127.0.0.1:")
    assert "unreachable" in lines[0] and "hunter2pass" not in done.stderr
    assert "Traceback" not in done.stderr


def test_database_down_prints_one_line_and_exits(tmp_path):
    port = _closed_port()
    url = f"postgresql+psycopg://jiubot:s3cretpw@127.0.0.1:{port}/nothing"
    done = _serve(_env(tmp_path, JIUBOT_DATABASE_URL=url, JIUBOT_REDIS_URL=REDIS_URL))
    assert done.returncode == EXIT_UNAVAILABLE
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jiubot: cannot start: the database "), done.stderr
    assert "s3cretpw" not in done.stderr and "Traceback" not in done.stderr


def test_with_retry_seconds_it_retries_then_gives_up(tmp_path):
    port = _closed_port()
    env = _env(tmp_path, JIUBOT_REDIS_URL=f"redis://127.0.0.1:{port}/0", JIUBOT_STARTUP_RETRY_SECONDS="2")
    began = time.monotonic()
    done = _serve(env)
    assert done.returncode == EXIT_UNAVAILABLE and time.monotonic() - began >= 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) >= 2 and all(x.startswith("jiubot: waiting: Redis at") for x in lines[:-1])
    assert lines[-1].startswith("jiubot: cannot start: Redis at")


async def test_with_retry_seconds_it_starts_once_redis_comes_up(tmp_path):
    relay = RedisRelay(REDIS_URL)
    relay.port = _closed_port()
    web_port = _closed_port()
    env = _env(tmp_path, JIUBOT_REDIS_URL=relay.url, JIUBOT_STARTUP_RETRY_SECONDS="60")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--port",
        str(web_port),
        env=env,
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        first = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert first.decode().startswith("jiubot: waiting: Redis at")
        await relay.start()  # Redis "comes up" on the address jiubot was given
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{web_port}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("jiubot serve did not start after Redis came up")
    finally:
        proc.terminate()
        await proc.wait()
        await relay.close()


def test_safe_url_hides_only_the_password():
    assert safe_url("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert safe_url("postgresql+psycopg://u:pw@h/db") == "postgresql+psycopg://u:***@h/db"
    assert safe_url("redis://h:1/0") == "redis://h:1/0"


def test_logs_go_to_the_stderr_of_the_moment(monkeypatch):
    """A stream bound when logging was configured may be closed later (pytest's capture of a
    command run in-process did exactly that and broke every later test's log line)."""
    import io

    import structlog

    from bot.observability import configure_logging

    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("WARNING", "console", secret_key="test-secret-key-0123456789")
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    structlog.get_logger("t").warning("after_the_first_closed")
    assert "after_the_first_closed" in second.getvalue()
