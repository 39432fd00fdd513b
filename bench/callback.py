"""Callback throughput and latency: jiubot against the limit of its stack and against WeRoBot.

One run measures, with wrk on loopback, one server process each:
  bare      aiohttp handler returning a fixed XML body (the limit of this stack)
  jiubot    the full pipeline: verify, (decrypt,) parse, Redis dedupe lease + member lock in one
            round trip, member context from the cache, router, reply, settle + log in one round trip
            (plaintext and safe mode; PostgreSQL and a real Redis; text message -> text reply),
            with a `jiubot worker` writing the inbound log to PostgreSQL at the same time
  werobot   WeRoBot 1.13.1 (installed from PyPI into bench/.venv-werobot) served as its docs
            recommend with robot.run() on waitress: sessions off (fastest) and on (its default
            SQLite session storage); plaintext and safe mode
then jiubot's p50/p99 at about half of its own peak rate, and prints the ratios against the goals.

Every request is unique (its own MsgId, nonce and signature, precomputed), so dedupe never
short-circuits; the members already exist, as for a running account.

    .venv/bin/python bench/callback.py [--duration 8] [--connections 50] [--skip-werobot]
    .venv/bin/python bench/callback.py --redis-delay-ms 100   # the budget with Redis slowed
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
WEROBOT_VENV = ROOT / "bench" / ".venv-werobot"
APPID = "wxbench000000001"
TOKEN = "benchToken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
USERS = 1000
PG_DSN = os.environ.get("JIUBOT_BENCH_PG_DSN", "postgresql://jiubot:jiubot@127.0.0.1:5432/jiubot")
REDIS_URL = os.environ.get("JIUBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


# request generation ----------------------------------------------------------------------
def _sig(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode(), usedforsecurity=False).hexdigest()


def _encrypt(xml: bytes) -> str:
    key = base64.b64decode(AES_KEY + "=")
    layout = secrets.token_bytes(16) + struct.pack(">I", len(xml)) + xml + APPID.encode()
    pad = 32 - len(layout) % 32
    layout += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(layout) + enc.finalize()).decode()


def make_requests(path: str, mode: str, count: int, *, seed: int) -> list[tuple[str, str]]:
    now = str(int(time.time()))
    out = []
    for i in range(count):
        openid = f"obench{(seed * 7919 + i) % USERS:06d}"
        msg_id = f"{seed}{i:09d}"
        xml = (
            f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[帮助]]></Content><MsgId>{msg_id}</MsgId></xml>"
        ).encode()
        nonce = f"{seed}{i}"
        query = f"timestamp={now}&nonce={nonce}&signature={_sig(TOKEN, now, nonce)}&openid={openid}"
        if mode == "safe":
            encrypted = _encrypt(xml)
            query += f"&encrypt_type=aes&msg_signature={_sig(TOKEN, now, nonce, encrypted)}"
            body = f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        else:
            body = xml.decode()
        out.append((f"{path}?{query}", body))
    return out


LUA = r"""
local lines = {}
local idx = 0
local thread_counter = 0
local function load(file)
  for line in io.lines(file) do
    local tab = string.find(line, "\t", 1, true)
    lines[#lines + 1] = {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)}
  end
end
function setup(thread)
  thread:set("tid", thread_counter)
  thread_counter = thread_counter + 1
end
function init(args)
  load(args[1] .. "." .. tid)
end
local headers = {["Content-Type"] = "text/xml"}
function request()
  idx = idx + 1
  if idx > #lines then idx = 1 end
  local r = lines[idx]
  return wrk.format("POST", r[1], headers, r[2])
end
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0")
if delay_ms > 0 then
  function delay() return delay_ms end
end
local non2xx = 0
function response(status, headers, body)
  if status ~= 200 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local out = io.open(os.getenv("WRK_RESULT"), "w")
  out:write(string.format('{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, "non2xx": %d}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
  out:close()
end
"""


def write_request_files(name: str, path: str, mode: str, count: int, threads: int) -> Path:
    base = OUT / f"{name}.req"
    per_thread = count // threads
    for t in range(threads):
        reqs = make_requests(path, mode, per_thread, seed=int(time.time()) % 1000 * 10 + t + 1)
        with open(f"{base}.{t}", "w") as fh:
            for target, body in reqs:
                fh.write(f"{target}\t{body}\n")
    return base


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int
    cpu_us: float  # server CPU (user + system) per request: steadier than req/s on a noisy machine


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    name: str,
    port: int,
    base: Path,
    *,
    duration: int,
    connections: int,
    threads: int = 2,
    delay_ms: float = 0,
    pid: int,
) -> Result:
    script = OUT / "callback.lua"
    script.write_text(LUA)
    result_file = OUT / f"{name}.json"
    env = {**os.environ, "WRK_RESULT": str(result_file), "WRK_DELAY_MS": str(delay_ms)}
    cpu_before = cpu_seconds(pid)
    subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/",
            "--",
            str(base),
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    cpu = cpu_seconds(pid) - cpu_before
    data = json.loads(result_file.read_text())
    return Result(
        name=name,
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        failures=data["errors"] + data["non2xx"],
        cpu_us=cpu / max(data["requests"], 1) * 1e6,
    )


# servers ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} never opened")


BARE = r"""
import sys, uvloop
from aiohttp import web
BODY = ("<xml><ToUserName><![CDATA[o]]></ToUserName><FromUserName><![CDATA[gh_bench]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content></xml>").encode()
async def handle(request):
    await request.read()
    return web.Response(body=BODY, content_type="application/xml")
app = web.Application()
app.router.add_post("/wechat/{appid}", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None, loop=uvloop.new_event_loop())
"""

WEROBOT = r"""
import sys, logging, werobot
port, sessions, mode = int(sys.argv[1]), sys.argv[2] == "on", sys.argv[3]
kw = {"token": "%s"}
if mode == "safe":
    kw.update(encoding_aes_key="%s", app_id="%s")
robot = werobot.WeRoBot(**kw)
if not sessions:
    robot.config["SESSION_STORAGE"] = False
logging.disable(logging.CRITICAL)
@robot.text
def echo(message):
    return "这是帮助文本"
robot.run(server="waitress", host="127.0.0.1", port=port, enable_pretty_logging=False)
""" % (TOKEN, AES_KEY, APPID)


def start(cmd: list[str], port: int, env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    wait_port(port, proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def ensure_tools(skip_werobot: bool) -> None:
    if not shutil.which("wrk"):
        print("[bench] installing wrk with apt", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    if skip_werobot:
        return
    python = WEROBOT_VENV / "bin" / "python"
    if not python.exists():
        print("[bench] creating bench/.venv-werobot with WeRoBot 1.13.1 and waitress", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(WEROBOT_VENV)], check=True)
    # cryptography: WeRoBot's safe mode refuses to start without it (its docs' crypto extra)
    check = subprocess.run([str(python), "-c", "import werobot, waitress, cryptography"], capture_output=True)
    if check.returncode:
        subprocess.run(
            [
                str(WEROBOT_VENV / "bin" / "pip"),
                "install",
                "-q",
                "werobot==1.13.1",
                "waitress",
                "cryptography",
            ],
            check=True,
        )


# jiubot ----------------------------------------------------------------------------------
def jiubot_env(dbname: str, prefix: str, mode: str, port: int) -> dict:
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIUBOT_")}
    env.update(
        JIUBOT_DATABASE_URL=f"{base}/{dbname}",
        JIUBOT_REDIS_URL=REDIS_URL,
        JIUBOT_REDIS_PREFIX=prefix,
        JIUBOT_SECRET_KEY="bench-secret-key-0123456789",
        JIUBOT_OA_APPID=APPID,
        JIUBOT_OA_TOKEN=TOKEN,
        JIUBOT_OA_AES_KEY=AES_KEY,
        JIUBOT_OA_MODE=mode,
        JIUBOT_LOG_LEVEL="WARNING",
        JIUBOT_PORT=str(port),
    )
    return env


def warm_members(port: int, mode: str) -> None:
    """First contact creates each member once; the timed run then sees known members only."""
    import urllib.request

    reqs = make_requests(f"/wechat/{APPID}", mode, USERS, seed=999)
    for target, body in reqs:
        with urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{port}{target}", data=body.encode(), method="POST"),
            timeout=10,
        ) as resp:
            reply = resp.read()
            assert resp.status == 200 and (
                b"Encrypt" in reply or "帮助".encode() in reply or b"CDATA" in reply
            ), reply


def with_database(fn):
    import psycopg

    def wrapper(*args, **kwargs):
        dbname = f"jbench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        try:
            return fn(dbname, *args, **kwargs)
        finally:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    return wrapper


@with_database
def bench_jiubot(dbname: str, modes: list[str], args: argparse.Namespace, files: dict) -> list[Result]:
    results = []
    jiubot = str(Path(sys.executable).with_name("jiubot"))
    for mode in modes:
        prefix = f"jbench:{uuid.uuid4().hex[:6]}:"
        port = free_port()
        env = jiubot_env(dbname, prefix, mode, port)
        subprocess.run([jiubot, "db", "upgrade"], env=env, check=True, capture_output=True)
        # The production layout: the web process answers WeChat, a `jiubot worker` writes the
        # inbound log behind it (both run during the measurement, on the same two cores).
        proc = start(
            [jiubot, "serve", "--port", str(port)],
            port,
            env={**env, "JIUBOT_SERVE_BACKGROUND": "false"},
            cwd=ROOT,
        )
        worker = subprocess.Popen(
            [jiubot, "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            warm_members(port, mode)
            results.append(
                run_wrk(
                    f"jiubot-{mode}",
                    port,
                    files[mode],
                    duration=args.duration,
                    connections=args.connections,
                    pid=proc.pid,
                )
            )
            if mode == "plain":
                peak = results[-1].rps
                # about half of the peak: 10 connections each pausing between requests
                conns = 10
                delay = max(conns * 1000 / (peak / 2) - results[-1].p50_ms, 0.1)
                half = run_wrk(
                    "jiubot-plain-half",
                    port,
                    files["plain-half"],
                    duration=args.duration,
                    connections=conns,
                    delay_ms=delay,
                    pid=proc.pid,
                )
                results.append(half)
        finally:
            stop(proc)
            stop(worker)
        flush_redis(prefix)
    return results


def flush_redis(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=5000))
    for i in range(0, len(keys), 5000):
        client.delete(*keys[i : i + 5000])


def bench_bare(args: argparse.Namespace, files: dict) -> Result:
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(BARE)
    proc = start([sys.executable, fh.name, str(port)], port)
    try:
        return run_wrk(
            "bare-aiohttp",
            port,
            files["plain"],
            duration=args.duration,
            connections=args.connections,
            pid=proc.pid,
        )
    finally:
        stop(proc)


def bench_werobot(args: argparse.Namespace, files: dict) -> list[Result]:
    results = []
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(WEROBOT)
    for sessions, mode in (("off", "plain"), ("on", "plain"), ("off", "safe")):
        port = free_port()
        with tempfile.TemporaryDirectory() as cwd:  # its SQLite session file lands here
            proc = start(
                [str(WEROBOT_VENV / "bin" / "python"), fh.name, str(port), sessions, mode],
                port,
                cwd=Path(cwd),
            )
            try:
                name = f"werobot-{mode}-sessions-{sessions}"
                results.append(
                    run_wrk(
                        name,
                        port,
                        files[mode],
                        duration=args.duration,
                        connections=args.connections,
                        pid=proc.pid,
                    )
                )
            finally:
                stop(proc)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--skip-werobot", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, help="rounds; each server's best round is kept")
    parser.add_argument(
        "--redis-delay-ms",
        type=int,
        default=0,
        help="only: the budget with Redis slowed (bench/slow_redis.py)",
    )
    parser.add_argument("--slow-requests", type=int, default=400)
    parser.add_argument("--slow-concurrency", type=int, default=20)
    args = parser.parse_args()
    if args.redis_delay_ms:
        import slow_redis  # bench/slow_redis.py, beside this script

        return slow_redis.run(args, sys.modules[__name__])
    ensure_tools(args.skip_werobot)
    OUT.mkdir(parents=True, exist_ok=True)

    count = args.duration * 9000  # more unique requests than the fastest server can take
    path = f"/wechat/{APPID}"
    files = {
        "plain": write_request_files("plain", path, "plain", count, 2),
        "safe": write_request_files("safe", path, "safe", count, 2),
        "plain-half": write_request_files("plain-half", path, "plain", count, 2),
    }
    rounds: list[list[Result]] = []
    for round_no in range(args.rounds):
        # Each round measures every server once; the machine is shared and noisy, so the table
        # keeps each server's best round (highest req/s), and the order alternates per round.
        runs = [lambda: [bench_bare(args, files)], lambda: bench_jiubot(["plain", "safe"], args, files)]
        if not args.skip_werobot:
            runs.append(lambda: bench_werobot(args, files))
        if round_no % 2:
            runs.reverse()
        found: list[Result] = []
        for run in runs:
            found += run()
        rounds.append(found)
    results = []
    for name in [r.name for r in rounds[0]]:
        results.append(max((r for found in rounds for r in found if r.name == name), key=lambda r: r.rps))

    print(
        f"\n{'server':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>10} {'requests':>9} {'failed':>7}"
    )
    for r in results:
        print(
            f"{r.name:32} {r.rps:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.cpu_us:10.0f} {r.requests:9d} "
            f"{r.failures:7d}"
        )
    by = {r.name: r for r in results}
    jp, js, bare = by["jiubot-plain"], by["jiubot-safe"], by["bare-aiohttp"]
    half = by["jiubot-plain-half"]
    print("\nratios of req/s (goal in brackets); in parentheses the same ratio from CPU per request")
    print(
        f"  jiubot plain / bare aiohttp limit        {jp.rps / bare.rps:6.2f}  [>= 0.40]"
        f"  ({bare.cpu_us / jp.cpu_us:.2f})"
    )
    if not args.skip_werobot:
        wf, wd, ws = (
            by["werobot-plain-sessions-off"],
            by["werobot-plain-sessions-on"],
            by["werobot-safe-sessions-off"],
        )
        print(
            f"  jiubot plain / WeRoBot fastest           {jp.rps / wf.rps:6.2f}  [>= 1.5]"
            f"  ({wf.cpu_us / jp.cpu_us:.2f})"
        )
        print(
            f"  jiubot plain / WeRoBot default           {jp.rps / wd.rps:6.2f}  [>= 4]"
            f"  ({wd.cpu_us / jp.cpu_us:.2f})"
        )
        print(
            f"  jiubot safe  / WeRoBot safe              {js.rps / ws.rps:6.2f}  [>= 1.5]"
            f"  ({ws.cpu_us / js.cpu_us:.2f})"
        )
    print(f"  jiubot p99 at {half.rps:.0f} req/s (~half peak)   {half.p99_ms:6.2f} ms  [< 20 ms]")
    failed = [r.name for r in results if r.failures]
    if failed:
        print(f"\nWARNING: non-200 responses or socket errors in {failed}: those numbers are not valid")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
