"""The README's production recipe as real processes: nginx (Debian's, a non-daemon child with a
generated configuration) in front of gunicorn with 4 aiohttp workers (``bot.wsgi:app``,
``JIUBOT_SERVE_BACKGROUND=false``) and 2 ``jiubot worker`` processes, on PostgreSQL and Redis.

The WeChat simulator runs in the test's own event loop (its state is read directly); every other
part is a process started here and stopped (SIGTERM, then SIGKILL) by the fixture.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKER_CLASS = "aiohttp.GunicornUVLoopWebWorker"  # README, Production
WEB_WORKERS = 4
BACKGROUND_WORKERS = 2
# The paths the README's nginx proxies to the workers; /metrics and /readyz stay internal.
PROXIED = ("/wechat/", "/mp/api/", "/c/", "/h5/", "/r/", "/k/", "/core/webhook/")
# aiohttp's access-log format (gunicorn's %(x)s style is refused by its worker): pid, request
# line (the query carries WeChat's nonce: one attempt each), status, the forwarded client.
ACCESS_FORMAT = '%P "%r" %s xff=%{X-Forwarded-For}i'
ACCESS_LINE = re.compile(r'^<?(\d+)>? "(\S+) (\S+) [^"]*" (\d+) xff=(\S*)$')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is missing: run scripts/prod-deps (Debian's nginx package)")
    return found


def nginx_conf(folder: Path, port: int, upstream_port: int) -> str:
    """nginx as the README puts it in front (TLS left out: WeChat's HTTPS ends at nginx)."""
    user = "user root;" if os.geteuid() == 0 else ""  # its workers must reach this temp folder
    proxy = """
            proxy_pass http://jiubot;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 30s;"""
    locations = "\n".join(f"        location {path} {{{proxy}\n        }}" for path in PROXIED)
    return f"""
{user}
worker_processes 2;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream jiubot {{ server 127.0.0.1:{upstream_port}; }}
    server {{
        listen 127.0.0.1:{port};
{locations}
        location = /core/webhook {{{proxy}
        }}
        location / {{ return 404; }}
    }}
}}
"""


@dataclass
class Process:
    name: str
    proc: subprocess.Popen
    log: Path

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Recipe:
    """The running processes and where they write."""

    folder: Path
    env: dict[str, str]
    url: str = ""  # nginx
    gunicorn_url: str = ""  # the workers directly (internal endpoints: /metrics)
    access_log: Path = field(default_factory=Path)
    processes: list[Process] = field(default_factory=list)

    @property
    def gunicorn(self) -> Process:
        return next(p for p in self.processes if p.name == "gunicorn")

    def background_workers(self) -> list[Process]:
        return [p for p in self.processes if p.name.startswith("jiubot-worker")]

    def web_worker_pids(self) -> list[int]:
        """The gunicorn master's children (the aiohttp workers) right now."""
        master = self.gunicorn.proc.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return sorted(int(c) for c in children)

    def access(self) -> list[tuple[int, str, str, int, str]]:
        """(pid, method, target, status, x-forwarded-for) of every request the workers logged."""
        rows = []
        for line in self.access_log.read_text(errors="replace").splitlines():
            m = ACCESS_LINE.match(line.strip())
            if m:
                rows.append((int(m[1]), m[2], m[3], int(m[4]), m[5]))
        return rows

    def callback_attempts(self, appid: str) -> dict[str, tuple[int, str]]:
        """WeChat's attempts by nonce: (the worker's pid, the X-Forwarded-For it saw)."""
        found = {}
        for pid, method, target, _status, xff in self.access():
            if method == "POST" and target.startswith(f"/wechat/{appid}?") and "nonce=" in target:
                found[target.split("nonce=", 1)[1].split("&", 1)[0]] = (pid, xff)
        return found

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> Process:
        log = self.folder / f"{name}.log"
        handle = log.open("w")
        proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        process = Process(name, proc, log)
        self.processes.append(process)
        return process

    async def wait_listening(self, process: Process, port: int, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if process.proc.poll() is not None:
                raise RuntimeError(f"{process.name} exited ({process.proc.returncode}):\n{process.tail()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{process.name} did not listen on {port}:\n{process.tail()}")

    async def launch(self) -> None:
        gunicorn_port, nginx_port = free_port(), free_port()
        self.access_log = self.folder / "access.log"
        metrics_dir = self.folder / "metrics"
        metrics_dir.mkdir()
        env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        # the README's command line, plus an access log naming the worker of each request
        gunicorn = [str(BIN / "gunicorn"), "bot.wsgi:app", "-k", WORKER_CLASS, "-w", str(WEB_WORKERS)]
        gunicorn += ["-b", f"127.0.0.1:{gunicorn_port}", "--graceful-timeout", "5"]
        gunicorn += ["--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT]
        web = self.start("gunicorn", gunicorn, {**env, "JIUBOT_SERVE_BACKGROUND": "false"})
        for n in range(BACKGROUND_WORKERS):
            self.start(f"jiubot-worker-{n + 1}", [str(BIN / "jiubot"), "worker"], env)
        conf = self.folder / "nginx.conf"
        conf.write_text(nginx_conf(self.folder, nginx_port, gunicorn_port))
        front = self.start("nginx", [nginx_binary(), "-p", str(self.folder), "-c", str(conf)], env)
        await self.wait_listening(web, gunicorn_port)
        await self.wait_listening(front, nginx_port)
        self.url = f"http://127.0.0.1:{nginx_port}"
        self.gunicorn_url = f"http://127.0.0.1:{gunicorn_port}"
        await self.wait_workers_ready()

    async def wait_workers_ready(self, seconds: float = 120) -> None:
        """Every web worker has finished its start-up and the background workers are running."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for p in self.processes:
                if p.proc.poll() is not None:
                    raise RuntimeError(f"{p.name} exited ({p.proc.returncode}):\n{p.tail()}")
            ready = all("jiubot worker running" in p.tail(100_000) for p in self.background_workers())
            # bot.app logs gc_heap_frozen (INFO) at the end of each worker's start-up
            booted = self.gunicorn.tail(1_000_000).count("gc_heap_frozen")
            if ready and booted >= WEB_WORKERS and len(self.web_worker_pids()) == WEB_WORKERS:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError("the recipe did not come up:\n" + "\n".join(p.tail(800) for p in self.processes))

    def stop(self) -> None:
        for p in reversed(self.processes):
            if p.proc.poll() is None:
                try:
                    os.killpg(p.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for p in reversed(self.processes):
            try:
                p.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.proc.pid, signal.SIGKILL)
                p.proc.wait(5)
