"""The real ``jiubot demo`` as a subprocess on a free port, in a folder of the test's own: what
the README's quick start starts, read from its banner."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import REDIS_URL

JIUBOT = str(Path(sys.executable).with_name("jiubot"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without JIUBOT_ settings (a newcomer's shell), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIUBOT_")}
    env.update(extra)
    return env


class Demo:
    def __init__(self, cwd: Path, redis_prefix: str, port: int | None = None) -> None:
        self.cwd = cwd
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = clean_env(JIUBOT_REDIS_URL=REDIS_URL, JIUBOT_REDIS_PREFIX=redis_prefix)
        self.log = open(cwd / "demo-stderr.log", "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [JIUBOT, "demo", "--port", str(self.port), "--stores", "20"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.banner: list[str] = []
        self.lines: list[str] = []
        deadline = time.time() + 120
        assert self.proc.stdout is not None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise AssertionError(f"demo exited: {(cwd / 'demo-stderr.log').read_text()[-2000:]}")
                continue
            self.banner.append(line)
            if "Ctrl-C stops" in line:
                break
        text = "".join(self.banner)
        found = re.search(r"chat console \(open this\):\s+(\S+)", text)
        assert found, f"the demo never printed its console URL: {text}"
        self.console_url = found.group(1)
        scene = re.search(r"scan the QR scene (bind:\S+)", text)
        self.scene = scene.group(1) if scene else ""
        self.code_urls = re.findall(r"(http://\S+/c/[0-9A-Z]+)", text)
        coupon = re.search(r"store coupon QR:\s+(\S+)", text)
        self.coupon_url = coupon.group(1) if coupon else ""
        # the rest of stdout (the SMS the demo prints) is collected in the background
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._reader.join(timeout=5)
            self.proc.stdout.close()  # type: ignore[union-attr]
            self.log.close()
        return self.proc.returncode
