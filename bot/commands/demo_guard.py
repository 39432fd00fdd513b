"""What keeps ``jiubot demo`` honest about its data folder and its address.

* One demo per data folder: ``<var>/demo.lock`` is held with ``flock`` for the demo's lifetime
  (the kernel lets go when the process dies, so a crash leaves no stale lock) and names the
  process holding it.
* A busy port is found before anything is seeded.
* The demo's connection facts (core URL and key, the app, its public address, the Redis prefix)
  go to ``<var>/demo.env`` while it runs, so operator commands in a second terminal
  (``jiubot store qr --store S0001``, ``jiubot codes ...``) work next to it from the same folder:
  ``bot.cli`` calls :func:`use_running_demo`, which fills in the variables that the environment
  does not set, only while the demo holding the lock is alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import IO

LOCK = "demo.lock"
ENV = "demo.env"
# commands that must not pick up a running demo's settings: servers and the demo itself
NOT_NEXT_TO_DEMO = frozenset({"demo", "serve", "worker", "sim", "core"})
# derived by the demo from the environment's value (JIUBOT_REDIS_PREFIX + the folder's id): the
# demo's own value wins over the one the shell exports
DERIVED = frozenset({"JIUBOT_REDIS_PREFIX"})


class DemoRefused(Exception):
    """Why the demo cannot start, in Chinese and English (printed as is)."""


class DemoLock:
    def __init__(self, var: Path) -> None:
        self.path = var / LOCK
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            handle.close()
            folder = self.path.parent
            raise DemoRefused(
                f"jiubot demo: 数据目录 {folder}/ 正被另一个演示使用（进程 {pid}）。"
                f"请先在那个终端按 Ctrl-C 停止它（或 kill {pid}），或用 --var 指定另一个目录。\n"
                f"jiubot demo: another demo (pid {pid}) is using {folder}/; stop it first, "
                "or pass --var OTHER_FOLDER."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.truncate(0)
            self._handle.close()  # closing drops the flock
            self._handle = None


def held_by_live_demo(var: Path) -> bool:
    """Is a running demo holding ``var``'s lock right now?"""
    path = var / LOCK
    if not path.exists():
        return False
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def check_port(host: str, port: int) -> None:
    """Refuse a port another process listens on (checked before any seeding)."""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp's site does
    try:
        probe.bind((host, port))
    except OSError as exc:
        raise DemoRefused(
            f"jiubot demo: 端口 {port} 已被占用（{host}:{port}，{exc.strerror}）。"
            f"请停止占用它的程序，或换一个端口：jiubot demo --port {port + 1}\n"
            f"jiubot demo: {host}:{port} is in use ({exc.strerror}); pass --port {port + 1} "
            "(or stop the other program)."
        ) from None
    finally:
        probe.close()


def write_env(var: Path, values: Mapping[str, str]) -> Path:
    """``<var>/demo.env``: KEY=VALUE lines, readable by the owner only (it holds the demo's keys)."""
    path = var / ENV
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# written by `jiubot demo` while it runs; removed when it stops\n")
        for key, value in values.items():
            handle.write(f"{key}={value}\n")
    return path


def remove_env(var: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (var / ENV).unlink()


def read_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("JIUBOT_"):
            values[key.strip()] = value.strip()
    return values


def use_running_demo(command: str | None, var: Path = Path("var")) -> bool:
    """Operator commands run next to a demo (same folder) use its settings; variables set in the
    environment still win. Returns whether the demo's settings were applied."""
    if command in NOT_NEXT_TO_DEMO or not (var / ENV).exists() or not held_by_live_demo(var):
        return False
    for key, value in read_env(var / ENV).items():
        if key in DERIVED:
            os.environ[key] = value
        else:
            os.environ.setdefault(key, value)
    return True
