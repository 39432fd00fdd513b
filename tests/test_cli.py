"""The jiubot command, run as a real process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import REDIS_URL

JIUBOT = str(Path(sys.executable).with_name("jiubot"))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIUBOT_")}
    prefix = f"jt-cli-{os.getpid()}-{id(tmp_path)}-{tmp_path.name}:"  # never shared with an earlier run
    env.update({"JIUBOT_REDIS_URL": REDIS_URL, "JIUBOT_REDIS_PREFIX": prefix, **extra})
    return env


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [JIUBOT, *args], cwd=tmp_path, env=_env(tmp_path, **env), capture_output=True, text=True, timeout=60
    )


def test_python_m_bot_is_the_same_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0
    for sub in ("serve", "db", "check", "app"):
        assert sub in result.stdout


def test_check_reports_each_problem_on_one_line(tmp_path):
    result = _run(["check"], tmp_path, JIUBOT_OA_MODE="secure", JIUBOT_PORT="x")
    assert result.returncode == 1
    lines = sorted(result.stdout.strip().splitlines())
    assert lines == [
        "FAIL settings: JIUBOT_OA_MODE: Input should be 'plain', 'compat' or 'safe'",
        "FAIL settings: JIUBOT_PORT: Input should be a valid integer, unable to parse string as an integer",
    ]


def test_check_reaches_database_and_redis(tmp_path):
    assert _run(["db", "upgrade"], tmp_path).returncode == 0
    result = _run(["check"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   database" in result.stdout and "ok   redis" in result.stdout
    assert "ok   schema at the latest revision" in result.stdout


def test_check_names_an_unreachable_redis(tmp_path):
    _run(["db", "upgrade"], tmp_path)
    result = _run(["check"], tmp_path, JIUBOT_REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert any(line.startswith("FAIL redis redis://127.0.0.1:1/0: ") for line in result.stdout.splitlines())


def test_check_warns_when_a_proxy_is_likely_but_none_is_trusted(tmp_path):
    _run(["db", "upgrade"], tmp_path)
    https = {"JIUBOT_PUBLIC_BASE_URL": "https://jb.example.cn", "JIUBOT_HOST": "127.0.0.1"}
    warned = _run(["check"], tmp_path, **https)
    assert warned.returncode == 0, warned.stdout  # a warning, not a failure
    [line] = [x for x in warned.stdout.splitlines() if x.startswith("warn proxy: ")]
    assert "JIUBOT_TRUSTED_PROXIES" in line
    quiet = _run(["check"], tmp_path, JIUBOT_TRUSTED_PROXIES="127.0.0.1/32", **https)
    assert "warn proxy" not in quiet.stdout
    local = _run(["check"], tmp_path, JIUBOT_PUBLIC_BASE_URL="http://127.0.0.1:8080")
    assert "warn proxy" not in local.stdout


def test_serve_with_a_bad_setting_stops_with_one_line(tmp_path):
    result = _run(["serve"], tmp_path, JIUBOT_OA_MODE="secure")
    assert result.returncode == 2
    assert result.stderr.strip() == "jiubot: JIUBOT_OA_MODE: Input should be 'plain', 'compat' or 'safe'"


def test_db_upgrade_on_postgresql(pg_url, tmp_path):
    result = _run(["db", "upgrade"], tmp_path, JIUBOT_DATABASE_URL=pg_url, JIUBOT_SECRET_KEY="k" * 20)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_app_add_and_list(tmp_path):
    bad = _run(["app", "add", "--appid", "wxnew", "--token", "!", "--mode", "safe"], tmp_path)
    assert bad.returncode == 2
    assert "--token: must be 3-32 letters or digits (WeChat Token)" in bad.stderr
    assert "--aes-key: required in safe mode" in bad.stderr
    ok = _run(
        [
            "app",
            "add",
            "--appid",
            "wxnew0001",
            "--token",
            "tok123",
            "--aes-key",
            "A" * 43,
            "--tenant",
            "brand2",
        ],
        tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    listed = _run(["app", "list"], tmp_path)
    assert "wxnew0001\toa\tsafe" in listed.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_creates_the_embedded_schema_answers_and_stops_cleanly(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [JIUBOT, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 90  # start-up imports every feature; slow on a loaded machine
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                    body = resp.read()
                    break
            except OSError:
                time.sleep(0.1)
        assert body is not None and b'"ready"' in body
        assert (tmp_path / "var" / "jiubot.sqlite3").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_worker_writes_the_log_a_background_free_web_process_left(tmp_path):
    """Production split: web workers without background work, one `jiubot worker` doing it."""
    import sqlite3

    from tests.wechat_client import sign, text_xml

    env = {"JIUBOT_OA_APPID": "wxworker00000001", "JIUBOT_OA_TOKEN": "tok123", "JIUBOT_OA_MODE": "plain"}
    assert _run(["db", "upgrade"], tmp_path, **env).returncode == 0
    port = _free_port()
    web_env = _env(tmp_path, JIUBOT_SERVE_BACKGROUND="false", **env)
    serve = subprocess.Popen(
        [JIUBOT, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=web_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker = None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        ts, nonce = str(int(time.time())), "777"
        query = f"timestamp={ts}&nonce={nonce}&signature={sign('tok123', ts, nonce)}"
        body = text_xml("o-worker", "帮助").encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/wechat/wxworker00000001?{query}", data=body
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert "再来一单" in resp.read().decode()
        db = tmp_path / "var" / "jiubot.sqlite3"

        def logged() -> int:
            with sqlite3.connect(db) as conn:
                return conn.execute("select count(*) from inbound_messages").fetchone()[0]

        time.sleep(1.5)
        assert logged() == 0  # the web process left the log in the stream
        worker = subprocess.Popen(
            [JIUBOT, "worker"],
            cwd=tmp_path,
            env=_env(tmp_path, **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and logged() == 0 and worker.poll() is None:
            time.sleep(0.3)
        if logged() != 1:
            worker.send_signal(signal.SIGINT)
            _, worker_err = worker.communicate(timeout=30)
            raise AssertionError(f"the worker wrote nothing; its stderr: {worker_err[-3000:]}")
    finally:
        for proc in (serve, worker):
            if proc is not None:
                proc.send_signal(signal.SIGINT)
                proc.communicate(timeout=30)
    assert worker.returncode == 0 and serve.returncode == 0


# Modules that cost tenths of a second to import; building the parser (``jiubot --help``) must not
# load them: each command imports what it needs when it runs.
HEAVY = (
    "pypinyin",
    "cn2an",
    "rapidfuzz",
    "sqlalchemy.ext.asyncio",
    "aiohttp.web",
    "wechatpy",
    "segno",
    "PIL",
)
# Builds the parser, prints the subcommands and sys.modules, then imports the heavy modules that
# are installed (with ``__import__``: importtime does not time a module importlib.import_module
# loads itself) so the test can show that the same reading of importtime would have seen them.
_PARSER_THEN_HEAVY = """
import importlib.util, sys
import bot.cli
parser = bot.cli.build_parser()
sub = next(a for a in parser._actions if a.dest == "command")
print(" ".join(sorted(sub.choices)))
print(" ".join(sorted(sys.modules)))
print("--- heavy ---", file=sys.stderr, flush=True)
for name in sys.argv[1:]:
    if importlib.util.find_spec(name.split(".")[0]) is not None:
        __import__(name)
"""


def _imported(importtime_lines: str) -> set[str]:
    """Module names from ``python -X importtime`` lines: 'import time: self | cumulative | name'."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in importtime_lines.splitlines()
        if line.startswith("import time:")
    } - {"imported package"}


def _loaded(name: str, modules: set[str]) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_building_the_parser_imports_no_heavy_module(tmp_path):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _PARSER_THEN_HEAVY, *HEAVY],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("JIUBOT_")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    choices, modules = result.stdout.splitlines()
    # every feature's subcommands registered (a module that failed to import would be skipped)
    commands = set(choices.split())
    assert {"order-parse", "points", "codes", "rewards", "membership", "menu", "store", "wechat"} <= commands
    assert {"demo", "sim", "core", "serve", "worker", "db", "check", "app"} <= commands
    building, _, heavy = result.stderr.partition("--- heavy ---")
    at_build = _imported(building) | set(modules.split())
    assert "bot.config" in at_build  # the reading works: what bot.cli does import is there
    assert [name for name in HEAVY if _loaded(name, at_build)] == []
    # the same reading of importtime sees each installed heavy module once it is imported
    assert {
        "pypinyin",
        "cn2an",
        "rapidfuzz",
        "sqlalchemy.ext.asyncio",
        "aiohttp.web",
        "wechatpy",
        "segno",
    } <= {name for name in HEAVY if _loaded(name, _imported(heavy))}
